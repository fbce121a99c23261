"""The app factory and the page layout.

`create_app(db_path)` returns a Dash app bound to one database. The layout is a function, so
every page load builds it afresh; it reads the database file's size and time and the
currencies (from the app's cache while the file is unchanged), the rest arrives through
callbacks, which also pick up what other processes ingest.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import flask
from dash import Dash, dcc, html
from werkzeug.exceptions import HTTPException

from tracker.escape import printable
from tracker.humane import size
from tracker.prepare import MAX_BYTES
from tracker.store import default_db_path

from . import callbacks, data, figures, findings, plotlyjs, upload, views
from . import ids as I

TITLE = "tracker · Central Asian exchange rates"
MAX_REQUEST_BYTES = 100 * 1024 * 1024  # a whole drop of files, base64-encoded
WARM = "tracker.warm"  # app.server.extensions[WARM](): fill the app's cache (callbacks.warm)

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #1f2328; background: #fafafa; }
.page { max-width: 1280px; margin: 0 auto; padding: 12px 20px 40px; }
h1 { font-size: 22px; margin: 8px 0 2px; }
h3 { margin: 18px 0 6px; }
.status { color: #57606a; font-size: 13px; margin-bottom: 8px; }
.card { background: #fff; border: 1px solid #e3e6ea; border-radius: 8px; padding: 12px 16px;
        margin: 10px 0; }
.empty { border-color: #e0b000; background: #fffbea; }
.controls { display: flex; flex-wrap: wrap; gap: 8px 28px; align-items: center;
            font-size: 14px; }
.controls label { margin-right: 10px; }
.filters { display: flex; gap: 12px; flex-wrap: wrap; }
.filters > div { min-width: 220px; flex: 1; }
.hint { color: #57606a; }
pre.ticker-lines { background: #f6f8fa; padding: 8px; font-size: 12px; max-height: 260px;
                   overflow: auto; white-space: pre-wrap; }
.snapshot-detail { border-top: 1px solid #e3e6ea; margin-top: 10px; padding-top: 6px; }
.snapshot-detail table.fields td, .snapshot-detail table.fields th { padding: 2px 6px;
    font-size: 13px; vertical-align: top; }
table.quotes td, table.quotes th { padding: 2px 14px 2px 0; font-family: ui-monospace,
    monospace; font-size: 13px; text-align: left; }
.dropzone { border: 2px dashed #8c959f; border-radius: 8px; padding: 28px; text-align: center;
            cursor: pointer; background: #fff; }
.upload-rejected { color: #b42318; }
button { padding: 4px 10px; cursor: pointer; }
.chart-row { display: flex; gap: 12px; align-items: flex-start; }
.chart-row > .card { margin: 10px 0; }
.chart-card { flex: 1 1 0; min-width: 0; }
.chart-card h3 { margin: 0; font-size: 17px; }
.subtitle { color: #57606a; font-size: 12.5px; min-height: 16px; }
.subtitle-line { display: block; }
.finding-panel { flex: 0 0 38%; min-width: 0; max-height: 720px; overflow: auto;
                 position: relative; }
.finding-panel .close { position: absolute; right: 8px; top: 8px; }
table.compare { border-collapse: collapse; font-size: 12px; width: 100%; }
table.compare th, table.compare td { border: 1px solid #e3e6ea; padding: 2px 5px;
    text-align: left; vertical-align: top; overflow-wrap: anywhere; }
table.compare tr.differs td { background: #fff4c2; font-weight: 600; }
.cell-note { background: #eef4ff; border-radius: 6px; padding: 4px 8px; font-size: 13px;
             margin: 6px 0; }
"""

INDEX = """<!DOCTYPE html>
<html>
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
        <style>""" + CSS + """</style>
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""


def create_app(
    db_path: Path | str | None = None,
    *,
    refresh_seconds: float = 10.0,
    read_timeout: float = 5.0,
    max_upload_bytes: int = MAX_BYTES,
    max_points: int = 800,
    check_config: Any = None,
    read_only: bool = False,
) -> Dash:
    """A dashboard over `db_path` (default: $TRACKER_DB or data/tracker.duckdb).

    The database may not exist yet: the page then explains how to fill it. `check_config`
    is a `tracker.checks.CheckConfig` (default thresholds otherwise). A `read_only` app has
    no upload: nothing it serves writes to the database.
    """
    settings = data.Settings(
        db_path=Path(db_path) if db_path is not None else default_db_path(),
        refresh_seconds=refresh_seconds, read_timeout=read_timeout,
        max_upload_bytes=max_upload_bytes, max_points=max_points, check_config=check_config,
        read_only=read_only,
    )
    # update_title=None (tab title unchanged during callbacks) is documented; dash types it `str`
    # compress: the scripts and figures are text, ~4× smaller on the wire (bench/README.md)
    app = Dash(__name__, title=TITLE, update_title=None, index_string=INDEX,  # type: ignore[arg-type]
               include_assets_files=False, serve_locally=True, compress=True)
    app.server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.server.register_error_handler(Exception, _unanswered)
    plotlyjs.serve_partial_bundle(app)
    app.layout = lambda: layout(settings)
    callbacks.register(app, settings)
    # for the server to call once it listens (Flask's place for what extensions keep)
    app.server.extensions[WARM] = lambda: callbacks.warm(settings)
    return app


def _unanswered(exc: Exception) -> Any:
    """A request the app cannot answer (a callback request the page never sends, or a bug):
    one line on stderr naming it, a 500 without a traceback; the server goes on."""
    if isinstance(exc, HTTPException):  # (404, 413, …: Flask's own answer)
        return exc
    req = flask.request
    line = printable(f"error: dashboard: {req.method} {req.path} failed "
                     f"({type(exc).__name__}: {exc})")
    sys.stderr.write((line if len(line) <= 300 else line[:299] + "…") + "\n")
    sys.stderr.flush()
    return "the dashboard could not answer this request", 500


def layout(settings: data.Settings) -> html.Div:
    """The whole page; its data comes from the callbacks fired by DATA_VERSION."""
    return html.Div(className="page", children=[
        html.H1("Central Asian exchange rates from the timesca.com ticker"),
        html.Div(id=I.STATUS, className="status", children="Reading the database…"),
        html.Div(id=I.EMPTY_STATE, className="card empty", style=callbacks.HIDDEN),
        dcc.Tabs(id=I.TABS, value="movements", children=[
            dcc.Tab(label="Movements & findings", value="movements", id=I.TAB_MOVEMENTS,
                    children=_movements_tab(settings)),
            dcc.Tab(label="Snapshots", value="snapshots", id=I.TAB_SNAPSHOTS,
                    children=_snapshots_tab()),
            *([] if settings.read_only else [
                dcc.Tab(label="Upload", value="upload", id=I.TAB_UPLOAD,
                        children=_upload_tab(settings))]),
        ]),
        dcc.Store(id=I.DATA_VERSION, data=data.data_version(settings.db_path)),
        dcc.Store(id=I.VISIBLE_RANGE, data=None),
        dcc.Store(id=I.SELECTED_FINDING, data=None),
        dcc.Store(id=I.TIMELINE_FILTER, data=None),
        dcc.Store(id=I.CHARTED, data=None),
        dcc.Interval(id=I.REFRESH, interval=int(settings.refresh_seconds * 1000)),
        dcc.Download(id=I.DOWNLOAD),
    ])


def _movements_tab(settings: data.Settings) -> list[Any]:
    options, chosen, findings_options = callbacks.currency_choices(settings)
    view_labels = {"rate": "rate as printed (USD per unit)", "per_usd": "units per USD",
                   "index": "rebased index", "change": "change between captures %"}
    return [
        html.Div(className="card controls", children=[
            html.Div(["Currencies: ", dcc.Checklist(id=I.CURRENCIES, options=options,
                                                    value=chosen, inline=True)]),
            html.Div(["View: ", dcc.RadioItems(
                id=I.VIEW, value=figures.DEFAULT_VIEW, inline=True,
                options=[{"label": view_labels[v], "value": v} for v in figures.VIEWS])]),
            dcc.Checklist(id=I.OPTIONS, value=[], inline=True, options=[
                {"label": "log scale", "value": "log"},
                {"label": "rounding bands of every currency", "value": "bands"},
                {"label": "coarse currencies in index and change", "value": "coarse"},
                {"label": "official rates (central banks, dashed)", "value": "official"}]),
            html.Button("Download visible series (CSV)", id=I.DOWNLOAD_BUTTON),
        ]),
        html.Div(className="chart-row", children=[
            html.Div(className="card chart-card", children=[
                html.H3(id=I.CHART_TITLE, children=""),
                html.Div(id=I.CHART_SUBTITLE, className="subtitle"),
                dcc.Loading(delay_show=400, children=dcc.Graph(
                    id=I.GRAPH, figure=figures.empty_figure("Loading…", loading=True),
                    config={"displaylogo": False, "responsive": True},
                )),
            ]),
            html.Div(id=I.FINDING_PANEL, className="card finding-panel",
                     style=callbacks.HIDDEN, children=[
                         html.Button("close ×", id=I.DETAIL_CLOSE, className="close"),
                         html.Div(id=I.FINDING_DETAIL),
                     ]),
        ]),
        html.Div(className="card", children=[
            html.H3("Findings over time"),
            html.P("Per kind and currency, per day (per week over longer spans); the colour is "
                   "the worst severity in the cell. Click a cell to list only its findings.",
                   className="hint"),
            dcc.Graph(id=I.TIMELINE, figure=figures.empty_figure("Loading…"),
                      config={"displaylogo": False, "responsive": True,
                              "displayModeBar": False}),
        ]),
        html.Div(className="card", children=[
            html.H3("Findings"),
            html.P("Where snapshots contradict each other beyond the ticker's rounding "
                   "(docs/checks.md), for the currencies ticked above. Click a row or a marker "
                   "for the snapshots behind it.", className="hint"),
            html.Div(className="filters", children=[
                dcc.Dropdown(id=I.FINDINGS_KIND, multi=True, placeholder="every kind",
                             options=_kinds()),
                dcc.Dropdown(id=I.FINDINGS_SEVERITY, placeholder="every severity",
                             options=list(views.SEVERITY_OPTIONS)),
                dcc.Dropdown(id=I.FINDINGS_CURRENCY, multi=True, placeholder="every currency",
                             options=findings_options),
            ]),
            html.Div(id=I.TIMELINE_NOTE_BOX, className="cell-note", style=callbacks.HIDDEN,
                     children=[html.Span(id=I.TIMELINE_NOTE), " ",
                               html.Button("show all", id=I.TIMELINE_CLEAR)]),
            html.Div(id=I.FINDINGS_COUNT, className="status"),
            views.data_table(I.FINDINGS_TABLE, views.FINDING_COLUMNS, findings.FINDINGS_PAGE,
                             style_data_conditional=views.severity_styles(None)),
        ]),
    ]


def _kinds() -> list[str]:
    from tracker.checks import KINDS

    return list(KINDS)


def _snapshots_tab() -> list[Any]:
    return [html.Div(className="card", children=[
        dcc.Checklist(id=I.SNAPSHOTS_FILTER, value=[], inline=True, options=[
            {"label": "undated only", "value": "undated"},
            {"label": "rejected only", "value": "rejected"}]),
        html.Div(id=I.SNAPSHOTS_COUNT, className="status"),
        views.data_table(I.SNAPSHOTS_TABLE, views.SNAPSHOT_COLUMNS, callbacks.SNAPSHOTS_PAGE),
        html.Div(id=I.SNAPSHOT_DETAIL),
    ])]


def _upload_tab(settings: data.Settings) -> list[Any]:
    return [html.Div(className="card", children=[
        dcc.Upload(id=I.UPLOAD, multiple=True, accept=upload.ACCEPT, className="dropzone",
                   children=html.Div([
                       "Drag and drop snapshot files here, or click to choose them ",
                       html.Br(),
                       html.Small(f".txt, .html, .htm (optionally .gz); up to "
                                  f"{size(settings.max_upload_bytes)} each, "
                                  f"{settings.max_upload_files} files at once"),
                   ])),
        html.P("Uploads go through the same ingest path as `tracker ingest`: the same bytes "
               "are never stored twice, rejected files are kept with their reason.",
               className="hint"),
        html.Div(id=I.UPLOAD_RESULTS),
    ])]
