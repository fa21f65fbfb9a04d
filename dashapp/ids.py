"""Component ids, one constant each; values are prefixed by the page that owns them."""

# --- monitor panel (live monitor page and embed page) ---
MONITOR_SETTINGS = "monitor-settings"
MONITOR_WS = "monitor-ws"
MONITOR_POLL = "monitor-poll"
MONITOR_REFRESH = "monitor-refresh"
MONITOR_STATUS = "monitor-status"
MONITOR_AGE = "monitor-age"
MONITOR_BODY = "monitor-body"
MONITOR_SYSTEM = "monitor-system"
MONITOR_REPLAY = "monitor-replay"  # the "include replay runs" control of the run history

# --- data-quality trends page ---
QUALITY_URL = "quality-url"
QUALITY_FILTERS = "quality-filters"  # dcc.Store holding the applied filters
QUALITY_FILTER = "quality-filter"  # pattern type: {"type": QUALITY_FILTER, "key": <URL key>}
QUALITY_GRAPH = "quality-graph"  # pattern type: {"type": QUALITY_GRAPH, "chart": <chart key>}
QUALITY_CSV = "quality-csv"  # pattern type: {"type": QUALITY_CSV, "chart": <chart key>}
QUALITY_DOWNLOAD = "quality-download"
QUALITY_GRID = "quality-grid"
QUALITY_DRILL = "quality-drill"
QUALITY_ALERT = "quality-alert"

# --- conflict trends page ---
CONFLICT_URL = "conflict-url"
CONFLICT_FILTERS = "conflict-filters"  # dcc.Store holding the applied filters
CONFLICT_FILTER = "conflict-filter"  # pattern type: {"type": CONFLICT_FILTER, "key": <URL key>}
CONFLICT_GRAPH = "conflict-graph"  # pattern type: {"type": CONFLICT_GRAPH, "chart": <chart key>}
CONFLICT_CSV = "conflict-csv"  # pattern type: {"type": CONFLICT_CSV, "chart": <chart key>}
CONFLICT_DOWNLOAD = "conflict-download"
CONFLICT_CONTEXT = "conflict-context"
CONFLICT_ALERT = "conflict-alert"

# --- event page ---
EVENT_STATUS = "event-status"
EVENT_FACTS = "event-facts"
EVENT_REVISIONS = "event-revisions"
EVENT_ALERT = "event-alert"

# --- run page ---
RUN_STATUS = "run-status"
RUN_FACTS = "run-facts"
RUN_ERROR = "run-error"
RUN_STAGES = "run-stages"
RUN_ISSUES = "run-issues"
RUN_DIFF = "run-diff"
RUN_ALERT = "run-alert"
