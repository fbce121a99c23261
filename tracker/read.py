"""The one read layer: what the CLI (`show`, `export`, `check`), the dashboard and the notebook
API ask the store, and the one place where its Arrow results become pandas.

Every consumer answers "the series of these pairs between these dates in this view" with
`series_table` (Arrow, exact: `show`, `export`) or `series_frame` (pandas: the API and the
dashboard), so a currency filter, a pair label or a view means the same everywhere.
Arguments are checked here too (`labels`, `day`, `date_range`): one message per mistake.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, cast

import pyarrow as pa
import pyarrow.compute as pc

from .dates import parse_user_date
from .errors import UsageError
from .models import EXPECTED_CURRENCIES, label_of, label_order
from .official.config import OfficialConfig
from .official.records import OfficialRate
from .store import Store
from .views import check_view

if TYPE_CHECKING:  # pandas takes ~0.3-0.5 s to import: `tracker show`/`export` never need it
    import pandas as pd

Day = dt.date | str | None  # also a pandas Timestamp (a datetime)
Currencies = str | Iterable[str] | None

_PAIR = re.compile(r"^([A-Z]{3})(?:/([A-Z]{3}))?$")


# -- arguments ------------------------------------------------------------------------------------


def day(value: object, what: str) -> dt.date | None:
    """A date from a `datetime.date`, a `datetime`/`Timestamp` or `"YYYY-MM-DD"`."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return parse_user_date(value)
        except UsageError as exc:
            raise UsageError(f"{what}: {exc}") from None
    raise UsageError(f"{what} must be a date, e.g. '2025-12-10' or datetime.date(2025, 12, 10), "
                     f"not {type(value).__name__}")


def date_range(start: object, end: object) -> tuple[dt.date | None, dt.date | None]:
    first, last = day(start, "start"), day(end, "end")
    if first is not None and last is not None and first > last:
        raise UsageError(f"the range is empty: start {first} is after end {last}; swap them")
    return first, last


def parse_labels(currencies: Currencies) -> list[str] | None:
    """Pair labels (as `label_of`: `KGS` is KGS/USD, `KGS/EUR`) from codes or pairs,
    upper-cased, deduplicated, in order; None for every pair."""
    if currencies is None:
        return None
    given = [currencies] if isinstance(currencies, str) else list(currencies)
    if not given:
        raise UsageError("no currencies given; name some, e.g. ['KGS', 'TJS'], or leave the "
                         "argument out for every currency")
    out: list[str] = []
    for item in given:
        text = item.strip().upper() if isinstance(item, str) else ""
        match = _PAIR.match(text)
        if not match:
            raise UsageError(f"{item!r} is not a currency; write its three-letter code, e.g. "
                             "'KGS', or a pair against another currency than USD, e.g. "
                             "'KGS/EUR'")
        label = label_of(match.group(1), match.group(2) or "USD")
        if label not in out:
            out.append(label)
    return out


def pair_labels(store: Store) -> list[str]:
    """The labels of the dated series, in ticker order."""
    return sorted({label_of(c, q) for c, q in store.pairs()}, key=label_order)


def check_known(store: Store, wanted: Sequence[str]) -> None:
    """Refuse labels that are neither the ticker's currencies nor in the database (typos),
    listing the codes the database has (or, while it has none, the ticker's)."""
    have = pair_labels(store)
    unknown = [lab for lab in wanted if lab not in have and lab not in EXPECTED_CURRENCIES]
    if unknown:
        listed = (f"it has {', '.join(have)}" if have else
                  f"it has no dated series yet (the ticker's are {', '.join(EXPECTED_CURRENCIES)})")
        raise UsageError(f"no series for {', '.join(unknown)} in {store.path}; {listed}")


# -- the series and the quotes (Arrow) ------------------------------------------------------------


def with_labels(table: pa.Table) -> pa.Table:
    """`table` with a `label` column (as `label_of`) before `currency`."""
    pairs = list(zip(table.column("currency").to_pylist(),
                     table.column("quote_currency").to_pylist(), strict=True))
    names = {p: label_of(*p) for p in set(pairs)}
    column = pa.array([names[p] for p in pairs], pa.string())
    return table.add_column(table.schema.get_field_index("currency"), "label", column)


def _only(table: pa.Table, wanted: Sequence[str] | None) -> pa.Table:
    if not wanted:
        return table
    return table.filter(pc.is_in(table.column("label"), pa.array(list(wanted), pa.string())))


def _codes(wanted: Sequence[str] | None) -> list[str] | None:
    return sorted({lab.split("/")[0] for lab in wanted}) if wanted else None


def series_table(store: Store, wanted: Sequence[str] | None = None,
                 start: dt.date | None = None, end: dt.date | None = None) -> pa.Table:
    """The dated series of these pair labels (None: all) from `start` to `end`, oldest first,
    with a `label` column; exact decimals and the printed texts (the `series` view)."""
    return _only(with_labels(store.series(_codes(wanted), start, end)), wanted)


def quotes_table(store: Store, wanted: Sequence[str] | None = None,
                 start: dt.date | None = None, end: dt.date | None = None, *,
                 snapshot_ids: Sequence[str] | None = None) -> pa.Table:
    """Every quote of every ingested snapshot of these pairs (undated ones too unless a date
    bounds them), with the snapshot's provenance and a `label` column."""
    table = store.all_quotes(_codes(wanted), start, end, snapshot_ids=snapshot_ids)
    return _only(with_labels(table), wanted)


# -- pandas ---------------------------------------------------------------------------------------


def to_frame(table: pa.Table, *, exact: bool = True) -> pd.DataFrame:
    """Arrow → pandas, the only place where that happens.

    `exact` (the notebook API): decimals as `pd.ArrowDtype` decimals, nullable integers and
    booleans, tuples for lists, dates as `datetime64[ns]`. Otherwise (charts, checks): plain
    numpy types as pyarrow gives them (dates `datetime64[ms]`: no copy), decimals as floats.
    """
    import pandas as pd

    if not exact:
        table = pa.table([pc.cast(c, pa.float64()) if pa.types.is_decimal(c.type) else c
                          for c in table.columns], names=table.column_names)
    frame = table.to_pandas(types_mapper=_exact_type if exact else None, date_as_object=False)
    for i, arrow_type in enumerate(table.schema.types if exact else ()):
        if pa.types.is_date(arrow_type):
            frame.isetitem(i, frame.iloc[:, i].astype("datetime64[ns]"))
        elif pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
            frame.isetitem(i, pd.Series([None if v is None else tuple(v)
                                         for v in frame.iloc[:, i]], dtype=object,
                                        index=frame.index))
    return cast("pd.DataFrame", frame)  # (pyarrow has no type information)


def _exact_type(arrow_type: pa.DataType) -> object:
    import pandas as pd

    if pa.types.is_decimal(arrow_type):
        return pd.ArrowDtype(arrow_type)
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    if pa.types.is_integer(arrow_type):  # int8 → Int8, uint32 → UInt32, …
        return pd.api.types.pandas_dtype(str(arrow_type).capitalize().replace("Uint", "UInt"))
    return None


def series_view_table(store: Store, wanted: Sequence[str] | None = None,
                      start: dt.date | None = None, end: dt.date | None = None,
                      view: str = "rate") -> pa.Table:
    """`series_table` in `view`, oldest first: a view other than `rate` adds its float `value`
    and rounding band `lo`..`hi` (`tracker.views.view_frame`, so the CLI, the dashboard and the
    notebooks compute it once): `index` is based at each pair's first capture from `start`,
    `change` counts from the capture before `start`."""
    check_view(view)
    table = series_table(store, wanted, None if view == "change" else start, end)
    if view == "rate":
        return table
    import numpy as np
    import pandas as pd

    from .views import view_frame

    frame = to_frame(table.select(["label", "captured_on", "rate", "rate_decimals"]), exact=False)
    frame["row"] = np.arange(len(frame))
    viewed = view_frame(frame, view, base_from=pd.Timestamp(start) if start else None)
    rows = viewed["row"].to_numpy(dtype=np.int64)
    for name in ("value", "lo", "hi"):
        column = np.empty(len(frame), dtype=float)
        column[rows] = viewed[name].to_numpy(dtype=float)
        table = table.append_column(name, pa.array(column, pa.float64(), from_pandas=True))
    if start is not None and view == "change":
        table = table.filter(pc.greater_equal(table.column("captured_on"), pa.scalar(start)))
    return table


def series_frame(store: Store, wanted: Sequence[str] | None = None,
                 start: dt.date | None = None, end: dt.date | None = None,
                 view: str = "rate", *, exact: bool = True) -> pd.DataFrame:
    """`series_view_table` as rows of a frame (oldest first)."""
    return to_frame(series_view_table(store, wanted, start, end, view), exact=exact)


def snapshots_frame(store: Store, status: str | None = None, *,
                    undated: bool = False) -> pd.DataFrame:
    """Every snapshot (the `snapshots` table's columns), newest capture first."""
    if status is not None and status not in ("ingested", "rejected"):
        raise UsageError(f"unknown status {status!r}; use 'ingested' or 'rejected' "
                         "(or leave it out for every snapshot)")
    return to_frame(store.snapshots(status=status, undated=undated))


# -- official rates (tracker.official) --------------------------------------------------------


def official_table(store: Store, wanted: Sequence[str] | None = None,
                   start: dt.date | None = None, end: dt.date | None = None) -> pa.Table:
    """The stored official rates of these currencies (pair labels or codes; None: all) with
    rate dates from `start` to `end`, by currency then date (`official_rates`' columns)."""
    return store.official_rates(_codes(wanted), start, end)


def official_records(store: Store, wanted: Sequence[str] | None = None,
                     start: dt.date | None = None, end: dt.date | None = None
                     ) -> list[OfficialRate]:
    """The same rows as `OfficialRate` records, `per_usd` without the column's padding zeros
    (what the findings compare and print)."""
    from .official.compare import plain

    return [OfficialRate(r["currency"], r["rate_date"], plain(r["per_usd"]), r["source"],
                         r["url"])
            for r in official_table(store, wanted, start, end).to_pylist()]


def official_frame(store: Store, wanted: Sequence[str] | None = None,
                   start: dt.date | None = None, end: dt.date | None = None, *,
                   exact: bool = True) -> pd.DataFrame:
    """`official_table` as a frame: `per_usd` exact (notebooks) or float (`exact=False`)."""
    return to_frame(official_table(store, wanted, start, end), exact=exact)


def official_series_frame(store: Store, wanted: Sequence[str] | None = None,
                          start: dt.date | None = None,
                          end: dt.date | None = None) -> pd.DataFrame:
    """For the dashboard: the official series per currency in units per USD (float), one row
    per publication: `rate_date`, `currency`, `label` (as the ticker's pair labels), `per_usd`,
    `source`, oldest first. Draw one line per label beside the ticker's `per_usd` view."""
    frame = official_frame(store, wanted, start, end, exact=False)
    frame.insert(1, "label", [label_of(c, "USD") for c in frame["currency"]])
    frame = frame[["rate_date", "label", "currency", "per_usd", "source"]]
    return frame.sort_values(["rate_date", "label"], kind="stable").reset_index(drop=True)


def compare_official_frame(store: Store, wanted: Sequence[str] | None = None,
                           start: dt.date | None = None, end: dt.date | None = None,
                           config: OfficialConfig | None = None) -> pd.DataFrame:
    """The ticker against the official rate in force, one row per capture date and currency
    (`tracker.official.compare.compare_table`), captures from `start` to `end`."""
    from .official.compare import compare_table
    from .official.findings import captures

    lookback = None
    if start is not None:  # publications in force at `start` may be older: carry and lag
        cfg = config or OfficialConfig()
        lookback = start - dt.timedelta(days=cfg.carry_days + cfg.lag_search_days)
    series = to_frame(series_table(store, wanted, start, end), exact=False)
    rates = official_records(store, wanted, lookback, end)
    return to_frame(compare_table(captures(series), rates, config))


COMPARE_FIELDS = ("snapshot_id", "source", "status", "captured_on", "date_source", "header_date",
                  "filename_date", "user_date", "captured_at", "date_note", "ticker_copies",
                  "copies_agree", "reason")


def compare_frame(store: Store, ids: Sequence[str]) -> pd.DataFrame:
    """Snapshots side by side (`tracker.api.Tracker.compare`, the dashboard's finding
    detail): a column per snapshot named by its source file, a row per piece of date evidence
    and per printed pair (`rate change%`), and `differs`."""
    import pandas as pd

    rows, quotes = store.snapshot_rows(list(ids)), store.all_quotes(snapshot_ids=list(ids))
    found = {r.snapshot_id: r for r in rows}
    missing = [sid for sid in ids if sid not in found]
    if missing:
        raise UsageError(f"no snapshot {', '.join(m[:12] for m in missing)} in {store.path}; "
                         "take ids from t.findings()['snapshot_ids'] or t.snapshots()")
    names: list[str] = []
    for sid in ids:
        name = found[sid].source.replace("\\", "/").rsplit("/", 1)[-1] or sid[:12]
        names.append(name if name not in names else f"{name} ({sid[:12]})")
    table: dict[str, dict[str, object]] = {name: {} for name in names}
    for name, sid in zip(names, ids, strict=True):
        row = found[sid]
        for f in COMPARE_FIELDS:
            value = getattr(row, f)
            table[name][f] = pd.NA if value is None else value
    printed = quotes.to_pylist()
    pair_rows = sorted({label_of(q["currency"], q["quote_currency"]) for q in printed},
                       key=label_order)
    for name in names:
        table[name].update({p: pd.NA for p in pair_rows})
    for q in printed:
        name = names[list(ids).index(q["snapshot_id"])]
        table[name][label_of(q["currency"], q["quote_currency"])] = (
            f"{q['rate_text']} {q['change_text']}%")
    side = pd.DataFrame(table, index=pd.Index([*COMPARE_FIELDS, *pair_rows], name="field"),
                        dtype=object)
    side["differs"] = side[names].nunique(axis=1, dropna=False) > 1
    return side


def coverage_frame(store: Store) -> pd.DataFrame:
    """Per capture day and source (`live`, `archive`, `file`), how many ingested snapshots
    there are: the dashboard's coverage strip (`captured_on` as datetime64)."""
    frame = to_frame(store.coverage(), exact=False)
    frame["captured_on"] = frame["captured_on"].astype("datetime64[ns]")
    return frame


def backfill_status_frame(store: Store) -> pd.DataFrame:
    """The backfill queue per source and state (`tracker backfill --status`)."""
    return to_frame(store.backfill_status())
