"""The callbacks: plain functions of (settings, inputs) → outputs, and their wiring.

Each function is thin: it reads through `dashboards.data`, builds with `dashboards.figures`
or `dashboards.views`, and turns the tracker's errors (database busy, unreadable) into a
message on the page instead of a traceback. `register` attaches them to an app; the tests
call them directly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, no_update

from tracker import export
from tracker.errors import DatabaseMissingError, TrackerError
from tracker.humane import plural

from . import data, figures, findings, views
from . import ids as I
from .upload import ingest_uploads

SHOWN = {"display": "block"}
HIDDEN = {"display": "none"}
SNAPSHOTS_PAGE = 15
NO_CURRENCY = {"label": "— (no currency)", "value": "—"}  # findings about no currency


def _problem(exc: TrackerError) -> str:
    return f"Cannot read the database right now: {exc}"


# -- page-wide -----------------------------------------------------------------------------------


def refresh_version(settings: data.Settings, _n: int | None, _uploaded: Any,
                    current: str | None) -> str | Any:
    """A new DATA_VERSION when the database file changed (any process), else no update."""
    version = data.data_version(settings.db_path)
    return no_update if version == current else version


def update_overview(
    settings: data.Settings, _version: str | None, value: Sequence[str] | None,
    options: Sequence[dict[str, str]] | None, now: dt.datetime | None = None,
) -> tuple[str, dict[str, str], list[Any], list[dict[str, str]] | Any, list[str] | Any,
           list[dict[str, str]] | Any]:
    """Status line, empty state, and the currency choices (new currencies come in ticked).

    Returns (status, empty-state style, empty-state children, currency options, currency
    value, findings-currency options); the last three are `no_update` when unchanged.
    """
    now = now or dt.datetime.now()
    try:
        ov = data.overview(settings)
    except TrackerError as exc:
        return (_problem(exc), HIDDEN, [], no_update, no_update,
                no_update)
    new_options = [{"label": lab, "value": lab} for lab in ov.labels]
    known = {o["value"] for o in options or []}
    if value is None:
        chosen = list(ov.labels)
    else:
        chosen = [lab for lab in ov.labels if lab in value or lab not in known]
    findings_options = [*new_options, NO_CURRENCY]
    empty = views.empty_state(settings.db_path) if ov.empty else []
    same = options is not None and list(options) == new_options
    return (views.status_line(ov, settings.db_path, now), SHOWN if ov.empty else HIDDEN,
            empty, no_update if same else new_options,
            no_update if value is not None and chosen == list(value) else chosen,
            no_update if same else findings_options)  # unchanged: nothing redrawn


def currency_choices(settings: data.Settings) -> tuple[list[dict[str, str]], list[str] | None,
                                                       list[dict[str, str]]]:
    """The page's first currency choices (options, all ticked; the findings filter's options)
    from the app's cache or a read; None ticked when the database cannot be read now (the
    chart then shows every currency, and the next data version brings the choices)."""
    try:  # a page load waits half a second at most for a database another process writes
        labels = data.overview(dataclasses.replace(settings, read_timeout=0.5)).labels
    except TrackerError:
        return [], None, []
    options = [{"label": lab, "value": lab} for lab in labels]
    return options, list(labels), [*options, NO_CURRENCY]


# -- movements -----------------------------------------------------------------------------------


def update_visible(relayout: dict[str, Any] | None, current: list[str] | None) -> list[str] | Any | None:
    nxt = figures.visible_from_relayout(relayout, current)
    return no_update if nxt == (list(current) if current else None) else nxt


def movements_figure(
    settings: data.Settings, _version: str | None, labels: Sequence[str] | None, view: str | None,
    options: Sequence[str] | None, visible: Sequence[str] | None, selected: str | None,
) -> go.Figure:
    """The movements chart for the chosen currencies, view and visible range (and the
    official rates when the "official" option is ticked)."""
    try:
        if labels is not None and not labels:
            if data.overview(settings).empty:
                return figures.empty_figure("No snapshots yet: see above how to add some.")
            return figures.empty_figure("Choose at least one currency above.")
        opts = set(options or ())
        series, findings, selection, coverage, official = _movements_inputs(
            settings, labels, selected, "official" in opts)
    except DatabaseMissingError:
        return figures.empty_figure("No database yet: see above how to ingest snapshots.")
    except TrackerError as exc:
        return figures.empty_figure(_problem(exc))
    if series.empty:
        return figures.empty_figure("No dated snapshots yet: see above how to ingest some.")
    picked = [] if selection is None else [lab for lab in selection["label"].unique() if lab]
    return figures.movements_figure(
        series, findings, view=view if view is not None and view in figures.VIEWS else figures.DEFAULT_VIEW,
        log="log" in opts, bands=True if "bands" in opts else picked,
        visible=figures.parse_visible(visible), selected=selection,
        max_points=settings.max_points, coverage=coverage, coarse="coarse" in opts,
        official=official,
    )


def chart_heading(fig: go.Figure) -> tuple[str, list[Any]]:
    """The chart's title and subtitle lines (from its meta), shown above it by the page: a
    plotly title would collide with the range buttons and the legend at narrow widths."""
    from dash import html

    meta = fig.layout.meta or {}
    lines = list(meta.get("subtitle") or [])
    return str(meta.get("title") or ""), [html.Span(line, className="subtitle-line")
                                          for line in lines]


def movements_outputs(settings: data.Settings, *args: Any) -> tuple[go.Figure, str, list[Any]]:
    fig = movements_figure(settings, *args)
    return (fig, *chart_heading(fig))


def charted(version: str | None, labels: Sequence[str] | None, current: Any) -> Any:
    """The CHARTED store's next value: [version, currencies] when they changed, which asks
    for the findings timeline once the chart is drawn (asked beside the chart, it took the CPU
    the chart needed on page load and on a currency change: bench/README.md)."""
    key = [version, None if labels is None else list(labels)]
    return no_update if key == current else key


def _movements_inputs(settings: data.Settings, labels: Sequence[str] | None,
                      selected: str | None, official: bool = False
                      ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None, pd.DataFrame,
                                 pd.DataFrame | None]:
    """The chart's frames, all from the app's cache but the official rates: the selection
    is the selected finding's day and its snapshots' days."""
    frames = data.load_movements(settings)
    findings = frames.findings
    hit = findings[findings["finding_id"] == selected] if selected else findings.iloc[:0]
    selection = None
    if len(hit):
        f = hit.iloc[0]
        days = {frames.days[sid] for sid in f["snapshot_ids"] if sid in frames.days}
        if f["captured_on"] is not None:
            days.add(f["captured_on"])
        selection = pd.DataFrame({"label": [f["currency"]] * len(days),
                                  "captured_on": sorted(days)})
    rates = data.read(settings, lambda s: data.official_of(s, labels)) if official else None
    return frames.of(labels), findings, selection, frames.coverage, rates


def download_csv(settings: data.Settings, n_clicks: int | None, labels: Sequence[str] | None,
                 view: str | None, visible: Sequence[str] | None) -> dict[str, Any] | Any:
    """The visible series (every capture in the visible range, not the downsampled drawing)
    in the one export shape of `tracker export --view VIEW` (`tracker.export`)."""
    if not n_clicks or (labels is not None and not labels):
        return no_update
    chosen = view if view is not None and view in figures.VIEWS else figures.DEFAULT_VIEW
    rng = figures.parse_visible(visible)
    start, end = (rng[0].date(), rng[1].date()) if rng else (None, None)
    try:
        content = data.read(settings, lambda s: export.csv_text(
            export.export_table(s, list(labels) if labels else None, start, end, chosen)))
    except TrackerError:
        return no_update  # the page already says why the database cannot be read
    return {"content": content, "filename": export.file_name(chosen, start, end, "csv"),
            "type": "text/csv", "base64": False}


# -- snapshots -----------------------------------------------------------------------------------


def snapshots_table(
    settings: data.Settings, _version: str | None, filters: Sequence[str] | None,
    sort_by: Sequence[dict[str, str]] | None, page_current: int | None,
) -> tuple[list[dict[str, Any]], int, str]:
    chosen = [f for f in ("undated", "rejected") if f in (filters or ())]
    try:
        snaps, every_row = _snapshot_frames(settings)
    except TrackerError as exc:
        return [], 1, _problem(exc)
    shown = views.filter_snapshots(snaps, chosen)
    rows, pages = views.sort_and_page(every_row.loc[shown.index], sort_by, page_current,
                                      SNAPSHOTS_PAGE)
    n = len(shown)
    line = (f"{n:,} of {plural(len(snaps), 'snapshot')} {'is' if n == 1 else 'are'} "
            f"{' or '.join(chosen)}" if chosen else f"{plural(len(snaps), 'snapshot')} in total")
    return rows, pages, line


def _snapshot_frames(settings: data.Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every snapshot and its table row, once per database version: the rows' texts take
    ~0.3 s for 44,000 snapshots, a filter, a sort or a page then milliseconds."""
    def both(store: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
        snaps = data.snapshots_of(store).reset_index(drop=True)
        return snaps, views.snapshot_rows(snaps)

    try:
        frames: tuple[pd.DataFrame, pd.DataFrame] = data.read_cached(
            settings, {"snapshot_rows": both})["snapshot_rows"]
    except DatabaseMissingError:
        return pd.DataFrame(), views.snapshot_rows(pd.DataFrame())
    return frames


def snapshots_table_cleared(*args: Any) -> tuple[Any, ...]:
    """`snapshots_table`, and no active or selected cell: new rows make the next click on
    any position a new selection of the row that is there now (rows are picked by id)."""
    return (*snapshots_table(*args), None, [])


def snapshots_tab(settings: data.Settings, *args: Any) -> tuple[Any, ...]:
    """`snapshots_table_cleared` while the Snapshots tab is shown, else nothing: reading
    every snapshot (~0.4 s for 44,000, the first time) would compete with the first chart on
    page load."""
    *table_args, tab = args
    if tab != "snapshots":
        return (no_update,) * 5
    return snapshots_table_cleared(settings, *table_args)


def snapshot_detail(settings: data.Settings, active_cell: dict[str, Any] | None) -> Any:
    sid = (active_cell or {}).get("row_id")
    if not sid:
        return html_hint("Select a snapshot to see its detail.")
    try:
        details = data.load_details(settings, [sid])
    except TrackerError as exc:
        return _problem(exc)
    return views.snapshot_detail(details[0]) if details else html_hint("Snapshot not found.")


def html_hint(text: str) -> Any:
    from dash import html

    return html.P(text, className="hint")


# -- upload --------------------------------------------------------------------------------------


def upload(settings: data.Settings, contents: Sequence[str] | str | None,
           filenames: Sequence[str] | str | None) -> tuple[Any, Any, Any]:
    """Ingest dropped files: (per-file results, the database's new `data_version`, which
    refreshes the page, None for the upload's contents, so that dropping the same file again
    is a new drop)."""
    if not contents:
        return no_update, no_update, no_update
    if isinstance(contents, str):
        contents, filenames = [contents], [filenames]  # type: ignore[list-item]
    names: list[str | None] = list(filenames or [])
    names += [None] * (len(contents) - len(names))
    try:
        results = ingest_uploads(settings, list(zip(names, contents, strict=True)))
    except TrackerError as exc:
        return html_hint(f"Nothing was ingested: {exc}"), no_update, None
    return views.upload_results(results), data.data_version(settings.db_path), None


def warm(settings: data.Settings) -> None:
    """What a first page load asks for, done once (in a thread, as the server starts
    listening): the reads and the checks into the app's cache (`data.warm`), and the first
    chart and timeline built, which pays plotly's first-use costs (~150 ms of imports and
    its template) before a visitor would."""
    data.warm(settings)
    _, chosen, _ = currency_choices(settings)
    movements_outputs(settings, None, chosen, figures.DEFAULT_VIEW, [], None, None)
    findings.timeline(settings, None, chosen)


# -- wiring --------------------------------------------------------------------------------------


def register(app: Dash, settings: data.Settings) -> None:
    """Attach every callback to `app`, each closing over `settings` (no global state)."""

    app.callback(  # not on page load: the layout has just read the version
        Output(I.DATA_VERSION, "data"),
        Input(I.REFRESH, "n_intervals"),
        State(I.DATA_VERSION, "data"), prevent_initial_call=True,
    )(lambda n, cur: refresh_version(settings, n, None, cur))

    app.callback(
        Output(I.STATUS, "children"), Output(I.EMPTY_STATE, "style"),
        Output(I.EMPTY_STATE, "children"),
        Input(I.DATA_VERSION, "data"),
    )(lambda version: update_overview(settings, version, None, None)[:3])
    # the page comes with its currency choices (`currency_choices`), so the first chart is
    # asked for at once, not after a round trip for them (bench/README.md)
    app.callback(
        Output(I.CURRENCIES, "options"), Output(I.CURRENCIES, "value"),
        Output(I.FINDINGS_CURRENCY, "options"),
        Input(I.DATA_VERSION, "data"),
        State(I.CURRENCIES, "value"), State(I.CURRENCIES, "options"),
        prevent_initial_call=True,
    )(lambda version, value, options: update_overview(settings, version, value, options)[3:])

    app.callback(  # not on page load: the chart would wait for it (the range starts whole)
        Output(I.VISIBLE_RANGE, "data"),
        Input(I.GRAPH, "relayoutData"), State(I.VISIBLE_RANGE, "data"),
        prevent_initial_call=True,
    )(update_visible)

    app.callback(
        Output(I.GRAPH, "figure"), Output(I.CHART_TITLE, "children"),
        Output(I.CHART_SUBTITLE, "children"), Output(I.CHARTED, "data"),
        Input(I.DATA_VERSION, "data"), Input(I.CURRENCIES, "value"), Input(I.VIEW, "value"),
        Input(I.OPTIONS, "value"), Input(I.VISIBLE_RANGE, "data"),
        Input(I.SELECTED_FINDING, "data"), State(I.CHARTED, "data"),
    )(lambda *args: (*movements_outputs(settings, *args[:-1]),
                     charted(args[0], args[1], args[-1])))

    app.callback(
        Output(I.DOWNLOAD, "data"),
        Input(I.DOWNLOAD_BUTTON, "n_clicks"),
        State(I.CURRENCIES, "value"), State(I.VIEW, "value"), State(I.VISIBLE_RANGE, "data"),
        prevent_initial_call=True,
    )(lambda *args: download_csv(settings, *args))

    findings.register(app, settings)

    app.callback(
        Output(I.SNAPSHOTS_TABLE, "data"), Output(I.SNAPSHOTS_TABLE, "page_count"),
        Output(I.SNAPSHOTS_COUNT, "children"), Output(I.SNAPSHOTS_TABLE, "active_cell"),
        Output(I.SNAPSHOTS_TABLE, "selected_cells"),
        Input(I.DATA_VERSION, "data"), Input(I.SNAPSHOTS_FILTER, "value"),
        Input(I.SNAPSHOTS_TABLE, "sort_by"), Input(I.SNAPSHOTS_TABLE, "page_current"),
        Input(I.TABS, "value"),
    )(lambda *args: snapshots_tab(settings, *args))

    app.callback(
        Output(I.SNAPSHOT_DETAIL, "children"),
        Input(I.SNAPSHOTS_TABLE, "active_cell"),
    )(lambda cell: snapshot_detail(settings, cell))

    if settings.read_only:
        return
    app.callback(
        Output(I.UPLOAD_RESULTS, "children"),
        Output(I.DATA_VERSION, "data", allow_duplicate=True),
        Output(I.UPLOAD, "contents"),
        Input(I.UPLOAD, "contents"), State(I.UPLOAD, "filename"),
        prevent_initial_call=True,
    )(lambda contents, names: upload(settings, contents, names))
