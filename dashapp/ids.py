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

# --- data-quality trends page ---

# --- conflict trends page ---
