"""Dash components built from data: tables' rows, the snapshot detail, the empty state.

Everything that comes from a snapshot (source names, warnings, ticker lines, titles, finding
messages) is passed to components as plain strings, which React renders as text: never
through dcc.Markdown or dangerously_allow_html, so a snapshot cannot inject markup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

import pandas as pd
from dash import html
from dash.dash_table.DataTable import DataTable  # (typed; dash_table/__init__ is "type: ignore")

from tracker import humane
from tracker.check_config import SEVERITY_RANK
from tracker.humane import plural

from .data import Overview, SnapshotDetail, printable

SEVERITY_COLORS = MappingProxyType({"error": "#d62728", "warning": "#e07000", "info": "#555555"})
MAX_DETAIL_SNAPSHOTS = 6  # shown in full under a finding
MAX_LISTED = 30  # more snapshot ids than this are cut short

FINDING_COLUMNS: tuple[DataTable.Columns, ...] = (
    {"id": "severity", "name": "severity"},
    {"id": "kind", "name": "kind"},
    {"id": "currency", "name": "currency"},
    {"id": "captured_on", "name": "capture date"},
    {"id": "snapshots", "name": "snapshots", "type": "numeric"},
    {"id": "message", "name": "message"},
)
SNAPSHOT_COLUMNS: tuple[DataTable.Columns, ...] = (
    {"id": "captured_on", "name": "capture date"},
    {"id": "date_source", "name": "date from"},
    {"id": "status", "name": "status"},
    {"id": "reason", "name": "reason"},
    {"id": "copies", "name": "copies"},
    {"id": "source", "name": "source"},
    {"id": "snapshot", "name": "snapshot"},
)
TABLE_STYLE: dict[str, Any] = {
    "style_table": {"overflowX": "auto"},
    "style_cell": {"textAlign": "left", "whiteSpace": "normal", "height": "auto",
                   "fontFamily": "inherit", "fontSize": "13px", "padding": "4px 8px",
                   "maxWidth": "520px"},
    "style_header": {"fontWeight": "600", "backgroundColor": "#f3f4f6"},
}


def data_table(table_id: str, columns: Sequence[DataTable.Columns], page_size: int,
               **extra: Any) -> DataTable:
    """A server-paged, server-sorted table (the data can be large); cells render as text."""
    return DataTable(
        id=table_id, columns=list(columns), data=[], page_action="custom", page_current=0,
        page_size=page_size, page_count=1, sort_action="custom", sort_mode="single",
        sort_by=[], cell_selectable=True, **TABLE_STYLE, **extra,
    )


def _day(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "undated"
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# -- findings ------------------------------------------------------------------------------------


def finding_rows(findings: pd.DataFrame) -> pd.DataFrame:
    """The findings table's rows (all of them; the callback sorts and pages)."""
    if findings.empty:
        return pd.DataFrame({c["id"]: [] for c in FINDING_COLUMNS} | {"id": []})
    return pd.DataFrame({
        "id": findings["finding_id"].astype(str).to_numpy(),
        "severity": findings["severity"].astype(str).to_numpy(),
        "kind": findings["kind"].astype(str).to_numpy(),
        "currency": [c if c is not None else "—" for c in findings["currency"]],
        "captured_on": [_day(d) for d in findings["captured_on"]],
        "snapshots": [len(ids) for ids in findings["snapshot_ids"]],
        "message": [printable(m) for m in findings["message"]],
    })


def filter_findings(findings: pd.DataFrame, kinds: Sequence[str] | None,
                    severity: str | Sequence[str] | None, currencies: Sequence[str] | None,
                    charted: Sequence[str] | None = None) -> pd.DataFrame:
    """Findings of these kinds, at least this severity (as `tracker check --severity`:
    `warning` keeps warnings and errors), and these currencies (`—` selects those without
    one). `charted`, the currencies ticked above the chart, narrows further: the table
    follows the chart (findings about no currency stay)."""
    keep = pd.Series(True, index=findings.index)
    if kinds:
        keep &= findings["kind"].isin(list(kinds))
    if isinstance(severity, str) and severity in SEVERITY_RANK:
        keep &= findings["severity"].map(dict(SEVERITY_RANK)) <= SEVERITY_RANK[severity]
    if currencies:
        wanted = set(currencies)
        keep &= findings["currency"].map(lambda c: (c if c is not None else "—") in wanted)
    if charted is not None:
        shown = set(charted)
        keep &= findings["currency"].map(lambda c: c is None or c in shown)
    return findings[keep]


def filter_cell(findings: pd.DataFrame, cell: dict[str, Any] | None) -> pd.DataFrame:
    """The findings of one timeline cell: `kind`, `currency` (`—`: none) and the dates
    `start`..`end` (ISO, inclusive); None or an unreadable cell keeps every finding."""
    if not cell or findings.empty:
        return findings
    try:
        start, end = dt.date.fromisoformat(cell["start"]), dt.date.fromisoformat(cell["end"])
    except (KeyError, TypeError, ValueError):
        return findings
    currency = [c if c is not None else "—" for c in findings["currency"]]
    days = findings["captured_on"]
    keep = ((findings["kind"] == cell.get("kind")).to_numpy()
            & (pd.Series(currency, index=findings.index) == cell.get("currency")).to_numpy()
            & days.map(lambda d: d is not None and not pd.isna(d)
                       and start <= pd.Timestamp(d).date() <= end).to_numpy(dtype=bool))
    kept: pd.DataFrame = findings[keep]
    return kept


def cell_note(cell: dict[str, Any] | None) -> str:
    """What a timeline cell filter shows above the table."""
    if not cell:
        return ""
    span = cell.get("start") if cell.get("start") == cell.get("end") else \
        f"{cell.get('start')} to {cell.get('end')}"
    return f"Only {cell.get('kind')} · {cell.get('currency')} · {span} (from the timeline)"


SEVERITY_OPTIONS = (
    {"label": "errors only", "value": "error"},
    {"label": "warnings and errors", "value": "warning"},
    {"label": "every severity (info too)", "value": "info"},
)


def sort_and_page(rows: pd.DataFrame, sort_by: Sequence[dict[str, str]] | None,
                  page_current: int | None, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """One page of `rows` in the table's sort order, and the number of pages."""
    if sort_by:
        column = sort_by[0]["column_id"]
        ascending = sort_by[0].get("direction", "asc") == "asc"
        if column in rows:
            key = (lambda s: s.map(dict(SEVERITY_RANK))) if column == "severity" else None
            rows = rows.sort_values(column, ascending=ascending, kind="stable", key=key)
    pages = max(1, -(-len(rows) // page_size))
    page = min(max(0, page_current or 0), pages - 1)
    chunk = rows.iloc[page * page_size : (page + 1) * page_size]
    return cast("list[dict[str, Any]]", chunk.to_dict("records")), pages  # (str column names)


def severity_styles(selected: str | None) -> list[dict[str, Any]]:
    """Colour the severity column; highlight the selected finding's row."""
    styles: list[dict[str, Any]] = [
        {"if": {"filter_query": f'{{severity}} = "{sev}"', "column_id": "severity"},
         "color": color, "fontWeight": "600"}
        for sev, color in SEVERITY_COLORS.items()
    ]
    if selected and selected.isalnum():
        styles.append({"if": {"filter_query": f'{{id}} = "{selected}"'},
                       "backgroundColor": "#fff4c2"})
    return styles


# -- snapshots -----------------------------------------------------------------------------------


def filter_snapshots(snapshots: pd.DataFrame, filters: Sequence[str] | None) -> pd.DataFrame:
    """`undated` (ingested without a capture date) and/or `rejected`; both: either of them."""
    chosen = set(filters or ())
    if snapshots.empty or not chosen & {"undated", "rejected"}:
        return snapshots
    status = snapshots["status"].astype(str)
    keep = pd.Series(False, index=snapshots.index)
    if "undated" in chosen:
        keep |= (status == "ingested") & snapshots["captured_on"].isna()
    if "rejected" in chosen:
        keep |= status == "rejected"
    return snapshots[keep]


def snapshot_rows(snapshots: pd.DataFrame) -> pd.DataFrame:
    """The snapshots table's rows."""
    if snapshots.empty:
        return pd.DataFrame({c["id"]: [] for c in SNAPSHOT_COLUMNS} | {"id": []})

    def copies(n: Any, agree: Any) -> str:
        if n is None or pd.isna(n):
            return "—"
        return f"{int(n)}, " + ("agree" if agree else "DISAGREE")

    return pd.DataFrame({
        "id": snapshots["snapshot_id"].astype(str).to_numpy(),
        "captured_on": [_day(d) for d in snapshots["captured_on"]],
        "date_source": snapshots["date_source"].astype(str).to_numpy(),
        "status": snapshots["status"].astype(str).to_numpy(),
        "reason": [printable(r) if isinstance(r, str) else "" for r in snapshots["reason"]],
        "copies": [copies(n, a) for n, a in
                   zip(snapshots["ticker_copies"], snapshots["copies_agree"], strict=True)],
        "source": [printable(s) for s in snapshots["source"]],
        "snapshot": snapshots["snapshot_id"].astype(str).str[:12].to_numpy(),
    })


# -- the snapshot detail -------------------------------------------------------------------------


def _field(name: str, value: Any) -> html.Tr:
    return html.Tr([html.Th(name, style={"textAlign": "left", "paddingRight": "12px",
                                         "verticalAlign": "top", "fontWeight": "600"}),
                    html.Td(value)])


def _text(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "—"
    return printable(value)


def snapshot_detail(detail: SnapshotDetail) -> html.Div:
    """One snapshot: provenance, status, copies, every quote as printed, raw ticker lines."""
    row = detail.row
    evidence = [
        f"header date {_text(row.header_date)}",
        f"{row.captured_at_source or 'fetch/archive'} time {_text(row.captured_at)}",
        f"file-name date {_text(row.filename_date)}",
        f"date given by the user {_text(row.user_date)}",
    ]
    status = row.status if row.status != "rejected" else f"rejected: {_text(row.reason)}"
    if row.ticker_copies is None:
        copies = "—"
    else:
        copies = (f"{row.ticker_copies} cop{'y' if row.ticker_copies == 1 else 'ies'}, "
                  + ("all agree" if row.copies_agree else "they DISAGREE"))
    fields = [
        _field("source", html.Code(_text(row.source), className="source")),
        _field("capture date", f"{_day(row.captured_on)} (from {row.date_source})"
               if row.date_source != "none" else "undated: no date evidence"),
        _field("date evidence", "; ".join(evidence)),
        *([_field("date note", _text(row.date_note))] if row.date_note else []),
        _field("status", status),
        _field("copies", copies),
        _field("warnings", html.Ul([html.Li(printable(w)) for w in row.warnings])
               if row.warnings else "none"),
        _field("content", f"{_text(row.content_type)}, {humane.size(row.size_bytes)}, parser "
                          f"{row.parser_version}, ingested {humane.moment(row.ingested_at)} UTC"),
        *([_field("title", _text(row.title))] if row.title else []),
        *([_field("listing", _text(row.listing))] if row.listing else []),
    ]
    head = html.Thead(html.Tr([html.Th("pair"), html.Th("rate as printed"),
                               html.Th("change as printed")]))
    body = html.Tbody([html.Tr([html.Td(f"{q['currency']}/{q['quote_currency']}"),
                                html.Td(str(q["rate_text"])), html.Td(f"{q['change_text']}%")])
                       for q in detail.quotes])
    quotes = html.Table(
        [head, body],
        className="quotes",
    ) if detail.quotes else html.P("no quotes (the snapshot was rejected)")
    raw = (html.Pre(printable("\n".join(detail.ticker_lines)), className="ticker-lines")
           if detail.ticker_lines is not None
           else html.P(f"raw ticker lines unavailable: {detail.raw_note}"))
    return html.Div([
        html.H4(f"Snapshot {row.snapshot_id[:12]}"),
        html.Table(html.Tbody(fields), className="fields"),
        html.H5("Quotes"), quotes,
        html.H5("Raw ticker lines"), raw,
    ], className="snapshot-detail")


def compare_table(side: pd.DataFrame) -> html.Table:
    """`tracker.read.compare_frame` as a table: a column per snapshot, the rows where they
    differ highlighted (the disputed values)."""
    names = [c for c in side.columns if c != "differs"]
    head = html.Thead(html.Tr([html.Th("")] + [html.Th(printable(n)) for n in names]))
    body = []
    for field, row in side.iterrows():
        differs = bool(row["differs"])
        body.append(html.Tr(
            [html.Th(str(field))] + [html.Td(_text(row[n])) for n in names],
            className="differs" if differs else None))
    return html.Table([head, html.Tbody(body)], className="compare")


def finding_detail(finding: dict[str, Any] | None, details: Sequence[SnapshotDetail],
                   side: pd.DataFrame | None = None) -> html.Div:
    """A finding's message, its snapshots side by side (disputed values highlighted), then
    every snapshot behind it in full (the first few when there are many)."""
    if finding is None:
        return html.Div(html.P("Select a finding (a row of the table or a marker on the "
                               "chart) to see the snapshots behind it."), className="hint")
    ids = list(finding["snapshot_ids"])
    more = len(ids) - len(details)
    severity = str(finding["severity"])
    return html.Div([
        html.H4([html.Span(severity.upper(), style={"color": SEVERITY_COLORS.get(severity)}),
                 f" {finding['kind']} · {finding['currency'] or 'no currency'} · "
                 f"{_day(finding['captured_on'])}"]),
        html.P(printable(finding["message"]), className="finding-message"),
        *([html.H5("Side by side (differences highlighted)"), compare_table(side)]
          if side is not None else []),
        *[snapshot_detail(d) for d in details],
        *([html.P(f"… and {more} more snapshot(s): "
                  + ", ".join(i[:12] for i in ids[len(details):][:MAX_LISTED])
                  + (", …" if more > MAX_LISTED else ""))] if more > 0 else []),
    ])


# -- page chrome ---------------------------------------------------------------------------------


def status_line(overview: Overview, db_path: Path, now: dt.datetime) -> str:
    c = overview.counts
    return (f"{plural(c['snapshots'], 'snapshot')}: {c['ingested']:,} ingested "
            f"({c['undated']:,} undated), {c['rejected']:,} rejected · "
            f"{plural(c['quotes'], 'quote')} · "
            f"{db_path} · loaded {now:%H:%M:%S}")


def empty_state(db_path: Path) -> list[Any]:
    """What an empty (or missing) database shows instead of a blank chart."""
    return [
        html.H3("No snapshots yet"),
        html.P(f"The database {db_path} holds no ingested snapshot. Add some:"),
        html.Ul([
            html.Li(["ingest the bundled samples (or your own files or folders) from a shell: ",
                     html.Code(f"tracker ingest --db {db_path} data/samples")]),
            html.Li(["keep ingesting on a schedule: ",
                     html.Code(f"tracker schedule --db {db_path} --watch ~/snapshots --every 1h")]),
            html.Li("or drop snapshot files (.txt, .html, .htm, optionally .gz) in the "
                    "Upload tab."),
        ]),
        html.P("This page looks for new data by itself: no restart needed."),
    ]


def upload_results(results: Iterable[Any]) -> html.Div:
    """One line per uploaded file: ingested (with its date), already present, or why not."""
    items = []
    for r in results:
        if r.status == "ingested":
            note = (f"ingested, capture date {r.captured_on}" if r.captured_on
                    else "ingested but undated: no header date or date in the file name, so it "
                         "stays out of the series (ingest it with tracker ingest --captured-on)")
        elif r.status == "present":
            note = "already in the database (same bytes)"
        else:
            note = f"rejected: {printable(r.reason)}"
        items.append(html.Li([html.Code(r.name), f" — {note}"],
                             className=f"upload-{r.status}"))
    return html.Div(html.Ul(items), className="upload-results")
