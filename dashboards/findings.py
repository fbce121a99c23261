"""The findings callbacks: the table, the selection, the detail, the timeline's filter.

A selection is a finding id, never a table position: a click on a row reads the row's id
(`active_cell.row_id`) and clears the table's `active_cell` at once, so clicking the same
position again (after a filter, a sort, a page change or a marker click) is a new click on
whatever row is there now. Marker clicks carry the finding id in `customdata`. (The table's
rows callback does not write `active_cell` itself: the chart depends on the selection, and
Dash would make the first chart wait for the findings table.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import pandas as pd
from dash import Dash, Input, Output, State, no_update

from tracker.errors import TrackerError

from . import data, views
from . import ids as I

FINDINGS_PAGE = 12


def _problem(exc: TrackerError) -> str:
    return f"Cannot read the database right now: {exc}"


def findings_table(
    settings: data.Settings, _version: str | None, kinds: Sequence[str] | None,
    severity: str | Sequence[str] | None, currencies: Sequence[str] | None,
    charted: Sequence[str] | None, cell: dict[str, Any] | None,
    sort_by: Sequence[dict[str, str]] | None, page_current: int | None,
) -> tuple[list[dict[str, Any]], int, str]:
    """(rows of the current page, page count, a count line) for the findings table: the
    filters, the ticked currencies and a timeline cell."""
    try:
        findings = data.load_findings(settings)
        empty = findings.empty and data.overview(settings).empty
    except TrackerError as exc:
        return [], 1, _problem(exc)
    shown = views.filter_findings(findings, kinds, severity, currencies, charted)
    shown = views.filter_cell(shown, cell)
    rows, pages = views.sort_and_page(views.finding_rows(shown), sort_by, page_current,
                                      FINDINGS_PAGE)
    by = shown["severity"].value_counts() if len(shown) else pd.Series(dtype=int)
    counts = ", ".join(f"{int(by.get(s, 0))} {s}" for s in ("error", "warning", "info"))
    if empty:
        line = "No findings yet: the database holds no ingested snapshot."
    elif len(findings):
        line = f"{len(shown):,} of {len(findings):,} findings ({counts})"
    else:
        line = "No findings: the snapshots agree with each other."
    return rows, pages, line


def select_finding(triggered: str | None, active_cell: dict[str, Any] | None,
                   click: dict[str, Any] | None,
                   current: str | None) -> tuple[Any, Any, Any, Any]:
    """The finding picked by a click on a table row or on a finding marker of the chart:
    (selected id, row styles, the table's active cell, its selected cells).

    The table's active cell is read, then cleared: a later click on the same position
    (after a marker click, a filter or a sort) is then a change Dash reports."""
    picked: str | None = None
    clear: tuple[Any, Any] = (no_update, no_update)
    if triggered == I.FINDINGS_TABLE and active_cell:
        picked = active_cell.get("row_id")
        clear = (None, [])
    elif triggered == I.GRAPH and click:
        for point in click.get("points", []):
            custom = point.get("customdata")
            if isinstance(custom, str):
                picked = custom
                break
    if not picked or picked == current:
        return no_update, no_update, *clear
    return picked, views.severity_styles(picked), *clear


def close_detail(n_clicks: int | None) -> tuple[Any, Any]:
    """The detail's close button: no finding selected."""
    if not n_clicks:
        return no_update, no_update
    return None, views.severity_styles(None)


def finding_detail(settings: data.Settings, selected: str | None,
                   _version: str | None) -> tuple[Any, dict[str, str]]:
    """The detail panel beside the chart and its style (hidden when nothing is selected)."""
    hidden = {"display": "none"}
    if not selected:
        return views.finding_detail(None, []), hidden
    try:
        findings = data.load_findings(settings)
        hit = findings[findings["finding_id"] == selected]
        if hit.empty:
            return views.finding_detail(None, []), hidden
        finding = cast("dict[str, Any]", hit.iloc[0].to_dict())  # (labels: column names)
        ids = list(finding["snapshot_ids"])[: views.MAX_DETAIL_SNAPSHOTS]
        details, side = data.load_details_and_compare(settings, ids)
        return views.finding_detail(finding, details, side), {}
    except TrackerError as exc:
        return _problem(exc), {}


def register(app: Dash, settings: data.Settings) -> None:
    from dash import ctx

    app.callback(
        Output(I.FINDINGS_TABLE, "data"), Output(I.FINDINGS_TABLE, "page_count"),
        Output(I.FINDINGS_COUNT, "children"),
        Input(I.DATA_VERSION, "data"), Input(I.FINDINGS_KIND, "value"),
        Input(I.FINDINGS_SEVERITY, "value"), Input(I.FINDINGS_CURRENCY, "value"),
        Input(I.CURRENCIES, "value"), Input(I.TIMELINE_FILTER, "data"),
        Input(I.FINDINGS_TABLE, "sort_by"), Input(I.FINDINGS_TABLE, "page_current"),
    )(lambda *args: findings_table(settings, *args))

    app.callback(
        Output(I.SELECTED_FINDING, "data"), Output(I.FINDINGS_TABLE, "style_data_conditional"),
        Output(I.FINDINGS_TABLE, "active_cell"), Output(I.FINDINGS_TABLE, "selected_cells"),
        Input(I.FINDINGS_TABLE, "active_cell"), Input(I.GRAPH, "clickData"),
        State(I.SELECTED_FINDING, "data"),
        prevent_initial_call=True,
    )(lambda cell, click, cur: select_finding(ctx.triggered_id, cell, click, cur))

    app.callback(
        Output(I.SELECTED_FINDING, "data", allow_duplicate=True),
        Output(I.FINDINGS_TABLE, "style_data_conditional", allow_duplicate=True),
        Input(I.DETAIL_CLOSE, "n_clicks"),
        prevent_initial_call=True,
    )(close_detail)

    app.callback(
        Output(I.FINDING_DETAIL, "children"), Output(I.FINDING_PANEL, "style"),
        Input(I.SELECTED_FINDING, "data"), Input(I.DATA_VERSION, "data"),
    )(lambda sel, version: finding_detail(settings, sel, version))
    register_timeline(app, settings)


def timeline(settings: data.Settings, _version: str | None,
             charted: Sequence[str] | None) -> Any:
    """The findings timeline of the ticked currencies (and of no currency)."""
    from . import figures
    from .timeline import timeline_figure

    try:
        found = data.load_findings(settings)
    except TrackerError as exc:
        return figures.empty_figure(_problem(exc))
    return timeline_figure(views.filter_findings(found, None, None, None, charted))


def sized(fig: Any) -> tuple[Any, dict[str, str]]:
    """A figure and the style that gives its graph the figure's height (a responsive graph
    otherwise keeps its first height)."""
    return fig, {"height": f"{int(fig.layout.height or 360)}px"}


def timeline_cell(click: dict[str, Any] | None) -> tuple[Any, str, dict[str, str]]:
    """A click on a timeline cell: filter the table to it (the store, a note, its style)."""
    from .timeline import cell_from_click

    cell = cell_from_click(click)
    if cell is None:
        return no_update, no_update, no_update  # type: ignore[return-value]
    return cell, views.cell_note(cell), {}


def clear_cell(n_clicks: int | None) -> tuple[Any, str, dict[str, str]]:
    if not n_clicks:
        return no_update, no_update, no_update  # type: ignore[return-value]
    return None, "", {"display": "none"}


def register_timeline(app: Dash, settings: data.Settings) -> None:
    app.callback(  # after the chart (CHARTED), for the version and currencies it shows
        Output(I.TIMELINE, "figure"), Output(I.TIMELINE, "style"),
        Input(I.CHARTED, "data"),
    )(lambda key: sized(timeline(settings, *(key or (None, None)))))
    app.callback(
        Output(I.TIMELINE_FILTER, "data"), Output(I.TIMELINE_NOTE, "children"),
        Output(I.TIMELINE_NOTE_BOX, "style"),
        Input(I.TIMELINE, "clickData"), prevent_initial_call=True,
    )(timeline_cell)
    app.callback(
        Output(I.TIMELINE_FILTER, "data", allow_duplicate=True),
        Output(I.TIMELINE_NOTE, "children", allow_duplicate=True),
        Output(I.TIMELINE_NOTE_BOX, "style", allow_duplicate=True),
        Input(I.TIMELINE_CLEAR, "n_clicks"), prevent_initial_call=True,
    )(clear_cell)
