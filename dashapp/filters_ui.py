"""The trend pages' shared filter bar, chart cards and the glue between controls, URL and filters."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd
from dash import State, ctx, dcc, html, no_update, set_props
from dash.exceptions import PreventUpdate
from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import db
from api.deadline import DatabaseNotAnswering, bounded
from models import current_version
from trends.charts import Chart
from trends.csv import to_csv
from trends.data import NARROW_HINT, QueryRefused
from trends.datasets import check_known, scoped
from trends.filters import (
    DIMENSION_LABELS,
    GRANULARITIES,
    LIST_KEYS,
    METRIC_LABELS,
    FilterError,
    TrendFilters,
    from_controls,
    from_mapping,
    from_query,
)
from trends.options import default_datasets, filter_options

log = logging.getLogger(__name__)

# URL key -> label of the multi-select dropdowns, in display order (their values: trends.options).
DROPDOWNS = {
    "dataset": "Datasets",
    "region": "Regions",
    "state": "States",
    "lga": "LGAs",
    "crisis_type": "Crisis types",
    "actor": "Actors",
    "source": "Sources",
}
DB_ERROR_ALERT = "The data could not be loaded: the database did not answer. Please retry in a moment."
DB_SLOW_ALERT = "The data could not be loaded: the database is not answering in time. Please retry in a moment."
FILTERS_ALERT = "These filters cannot be used:"
# Beside the URL keys in a page's options: the datasets read when none is chosen (the dataset dropdown's placeholder).
DEFAULT_DATASETS = "default_dataset"


def page_options(engine: Engine) -> tuple[dict[str, list[str]], str | None]:
    """Return the dropdown options, or empty ones and the database alert when it does not answer."""
    try:
        return {**filter_options(engine), DEFAULT_DATASETS: default_datasets(engine)}, None
    except SQLAlchemyError as exc:
        log.warning("filter options unavailable: %s", exc.__class__.__name__)
        return {key: [] for key in DROPDOWNS}, DB_ERROR_ALERT


def parse_query(query: Mapping[str, Any], datasets: Sequence[str] | None = None) -> tuple[TrendFilters, str | None]:
    """Return the filters in a page's query parameters and an error message if some were invalid.

    ``datasets``: the datasets that hold events (None: not known, e.g. the database is down); another is invalid.
    """
    try:
        filters = from_mapping(query)
        if datasets is not None:
            check_known(filters.datasets, datasets)
        return filters, None
    except FilterError as exc:
        log.info("invalid trend filter in URL: %s", exc)
        return TrendFilters(), f"Ignored the filters in the address: {exc}"


def filters_from_inputs(inputs: Sequence[Mapping[str, Any]]) -> TrendFilters:
    """Build filters from a pattern-matching callback's inputs list ({"id": {"key"}, "value"})."""
    values = {item["id"]["key"]: item.get("value") for item in inputs}
    return from_controls(values)


def stored_filters(query: str | None) -> TrendFilters:
    """Return the filters a page stored, their datasets settled for its queries and citations."""
    return scoped(db.engine(), from_query(query or ""))


def synced_filters() -> tuple[str, str]:
    """Return the filters of the triggering filter bar as stored query and as URL search."""
    query = filters_from_inputs(ctx.inputs_list[0]).to_query()
    return query, f"?{query}" if query else ""


def clicked_csv(charts: Mapping[str, Chart], clicks: list[int | None], query: str | None) -> dict[str, Any]:
    """Return the CSV download of the chart whose button was clicked."""
    key = ctx.triggered_id.get("chart") if isinstance(ctx.triggered_id, dict) else None
    # Only a forged request names no chart of the page, or sends clicks that are not a list.
    if not isinstance(key, str) or key not in charts or not isinstance(clicks, list) or not any(clicks):
        raise PreventUpdate
    return csv_download(db.engine(), charts[key], key, stored_filters(query), date.today())


def _date_input(id_type: str, key: str, label: str, value: date | None) -> html.Label:
    # A text box, not type="date": dcc.Input restores the caret with setSelectionRange, which date inputs reject.
    return html.Label(
        [
            label,
            dcc.Input(
                id={"type": id_type, "key": key},
                type="text",
                debounce=True,
                placeholder="YYYY-MM-DD",
                pattern=r"\d{4}-\d{2}-\d{2}",
                value=value.isoformat() if value else None,
                className="trends-date",
            ),
        ],
        className="trends-field",
    )


def filter_bar(id_type: str, filters: TrendFilters, options: Mapping[str, list[str]], view: bool) -> html.Div:
    """Return the filter controls, initialised from ``filters``; ``view`` adds group-by and metric."""
    values = filters.as_dict()
    fields: list[Any] = [
        _date_input(id_type, "start", "From", filters.start),
        _date_input(id_type, "end", "To", filters.end),
    ]
    for key, label in DROPDOWNS.items():
        selected = values[LIST_KEYS[key]]
        choices = sorted(set(options.get(key, [])) | set(selected))  # keep URL values visible even if unknown
        placeholder = dataset_placeholder(options.get(DEFAULT_DATASETS)) if key == "dataset" else "All"
        fields.append(
            html.Label(
                [
                    label,
                    dcc.Dropdown(
                        id={"type": id_type, "key": key},
                        options=choices,
                        value=selected,
                        multi=True,
                        placeholder=placeholder,
                    ),
                ],
                className="trends-field trends-field-wide",
            )
        )
    fields.append(
        html.Label(
            [
                "Time step",
                dcc.RadioItems(
                    id={"type": id_type, "key": "granularity"},
                    options=list(GRANULARITIES),
                    value=filters.granularity,
                    inline=True,
                ),
            ],
            className="trends-field",
        )
    )
    if view:
        fields.append(
            html.Label(
                [
                    "Group by",
                    dcc.Dropdown(
                        id={"type": id_type, "key": "group_by"},
                        clearable=False,
                        value=filters.group_by,
                        options=[{"label": text, "value": key} for key, text in DIMENSION_LABELS.items()],
                    ),
                ],
                className="trends-field",
            )
        )
        fields.append(
            html.Label(
                [
                    "Measure",
                    dcc.Dropdown(
                        id={"type": id_type, "key": "metric"},
                        clearable=False,
                        value=filters.metric,
                        options=[{"label": text, "value": key} for key, text in METRIC_LABELS.items()],
                    ),
                ],
                className="trends-field",
            )
        )
    return html.Div(fields, className="trends-filters")


def dataset_placeholder(default: Sequence[str] | None) -> str:
    """Say which datasets are read while none is chosen."""
    return f"Default: {', '.join(default)}" if default else "Default"


def chart_card(graph_type: str, csv_type: str, key: str, title: str, note: str = "") -> html.Section:
    """Return a titled card with a loading graph and its CSV download button."""
    return html.Section(
        [
            html.Div(
                [
                    html.H3(title),
                    html.Button(
                        "Download CSV", id={"type": csv_type, "chart": key}, className="trends-csv", n_clicks=0
                    ),
                ],
                className="trends-card-head",
            ),
            html.P(note, className="trends-note") if note else None,
            dcc.Loading(
                dcc.Graph(id={"type": graph_type, "chart": key}, config={"displaylogo": False}), type="default"
            ),
        ],
        className="trends-card",
        id=f"{graph_type}-card-{key}",
    )


def csv_download(engine: Engine, chart: Chart, key: str, filters: TrendFilters, today: date) -> dict[str, Any]:
    """Return a dcc.Download payload: the chart's frame as escaped CSV with a citation line."""
    filters = filters if filters.scope is not None else scoped(engine, filters)
    frame: pd.DataFrame = chart.load(engine, filters)
    with Session(engine) as session:
        version = current_version(session)
    text = to_csv(frame, filters, version, today, chart.title, filters.scope or ())
    return dcc.send_string(text, filename=f"nvcd-{key.replace('_', '-')}-{today.isoformat()}.csv", type="text/csv")


def alert_state(alert_id: str) -> State:
    """Return the alert's shown text, the last state of every ``db_alert`` callback of its page."""
    return State(alert_id, "children")


def is_own_alert(text: object) -> bool:
    """Tell whether the alert shows a message of ``db_alert`` (a database error, a refused query or filters)."""
    if text in (DB_ERROR_ALERT, DB_SLOW_ALERT):
        return True
    return isinstance(text, str) and (NARROW_HINT in text or text.startswith(FILTERS_ALERT))


def show_alert(alert_id: str, text: str | None) -> None:
    """Show ``text`` in the page's alert (``None``: hide it), beside the callback's own outputs."""
    set_props(alert_id, {"children": text, "hidden": text is None})


def db_alert(alert_id: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Make a callback show the retry alert ``alert_id`` on a database error and keep its figures.

    The callback's last argument must be the alert's text (``alert_state``). A query refused for its
    size or time shows its own message, which says how to narrow the filters. The callback's database
    work is bounded by DB_DEADLINE_SECONDS (api/deadline.py).
    """

    def wrap(update: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(update)
        def run(*args: Any) -> Any:
            *inputs, shown = args
            try:
                with bounded(current_app.config["DB_DEADLINE_SECONDS"]):
                    result = update(*inputs)
            except DatabaseNotAnswering:
                log.warning("%s: the database did not answer in time", update.__name__)
                message = DB_SLOW_ALERT
            except QueryRefused as exc:
                log.info("%s refused its query: %s", update.__name__, exc.__class__.__name__)
                message = str(exc)
            except FilterError as exc:  # the stored filters are the server's own: only a forged request gets here
                log.info("%s refused its filters: %s", update.__name__, exc)
                message = f"{FILTERS_ALERT} {exc}"
            except SQLAlchemyError as exc:  # only the database: bugs must still fail loudly
                log.warning("%s could not load its data: %s", update.__name__, exc)
                message = DB_ERROR_ALERT
            else:
                # Clear only our own message: an alert about the URL's filters stays until the page reloads.
                if is_own_alert(shown):
                    show_alert(alert_id, None)
                return result
            show_alert(alert_id, message)
            return no_update  # every output of the callback keeps what it shows

        return run

    return wrap
