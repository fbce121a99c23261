"""The notebook API: from a database file to a pandas DataFrame in three lines.

>>> import tracker
>>> t = tracker.open(db)          # read-only: works while the scheduler or dashboard runs
>>> t.series().loc["2025-12-10", "KGS"]
Decimal('0.0114400000')

A `Tracker` holds no connection between calls: each call opens a short-lived read-only one
(DuckDB allows one writing process or many reading ones per file), so ingestion in another
process goes on between two cells and a notebook left open never blocks it. The SQL lives in
tracker/store/ and the reads in tracker/read.py (shared with the CLI and the dashboard);
this module only shapes DataFrames.

Exact numbers. Printed rates and changes (`rate`, `change_pct`, and any DECIMAL that `sql`
returns) arrive as `pd.ArrowDtype(pa.decimal128(p, s))` columns with the store's own precision
and scale (DECIMAL(18,10) for rates, DECIMAL(18,6) for changes). Why: they are exact
(`0.01144` stays `Decimal('0.01144')`, a float cannot hold it), vectorized, and null-aware (a
capture missing for one currency is `<NA>`, not a float NaN that breaks `Decimal`
arithmetic, as object columns of `Decimal` would); `+ - ×`, `diff`, `sum`, `min`/`max` and
comparisons stay exact, and single values come out as `decimal.Decimal`. Every rate column has
the same scale (10) whatever the printed resolution, so columns combine without casts; the
resolution each value was printed with is kept in `rate_decimals` and the printed text in
`rate_text` (see `series_rows`, `quotes`). Arrow decimals round divisions and means to their
scale and do not support `pct_change` or `describe`: for ratios and statistics use the float
views (`view="per_usd"`, `"index"`, `"change"`) or `.astype(float)`.

Dates. Capture dates are `datetime64[ns]` (NaT: undated); the series is indexed by a
`DatetimeIndex` named `captured_on`. Integer columns are pandas' nullable integers, booleans
the nullable `boolean`. Arguments `start`/`end` take a `datetime.date`, a `Timestamp` or
`"YYYY-MM-DD"`; `currencies` one code (`"KGS"`), a pair (`"KGS/EUR"`) or a list of them.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import TypeVar

import pandas as pd
import pyarrow as pa

from . import checks
from . import read as R
from .errors import DatabaseMissingError, SourceError, StoreError, UsageError
from .ingest import ingest_paths
from .models import IngestSummary, label_order
from .official.config import OfficialConfig, load_check_configs
from .read import Currencies
from .store import Store, default_db_path
from .views import VIEWS, check_view

__all__ = ["VIEWS", "Tracker", "open", "sample_db"]

T = TypeVar("T")
Day = R.Day

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
RATE_DTYPE = pd.ArrowDtype(pa.decimal128(18, 10))  # the store's DECIMAL(18,10), for empty columns


def open(  # `tracker.open(path)`: shadows the builtin inside this module only
    db: Path | str | None = None, *, read_only: bool = True, timeout: float = 10.0
) -> Tracker:
    """A `Tracker` over the database `db` (default: $TRACKER_DB, else data/tracker.duckdb).

    Read-only by default, so it works while the scheduler or the dashboard writes: a missing
    file is a `DatabaseMissingError` that says how to create it. `read_only=False` creates
    and migrates the file if needed and allows `Tracker.ingest`. `timeout` is how long each
    call waits while another process holds the write lock.

    >>> t = tracker.open(db)
    >>> t.read_only
    True
    >>> tracker.open(tmp / "nothing-here.duckdb")
    Traceback (most recent call last):
    tracker.errors.DatabaseMissingError: no database at .../nothing-here.duckdb; create it ...
    """
    if db is not None and not isinstance(db, (str, PathLike)):
        raise UsageError(f"tracker.open() needs a file path, not {type(db).__name__}")
    path = Path(db) if db is not None else default_db_path()
    if path.exists() and not path.is_file():  # a FIFO would block DuckDB's open forever
        raise StoreError(f"{path} is not a database file (it is a folder, a FIFO or a device); "
                         "pass the path of a tracker.duckdb file")
    if read_only and not path.exists():
        raise DatabaseMissingError(
            f"no database at {path}; create it with `tracker ingest --db {path} "
            "data/samples` (your snapshots instead of data/samples), or in Python with "
            "tracker.open(path, read_only=False).ingest(folder); tracker.sample_db() builds "
            "one from the bundled samples"
        )
    with Store.open(path, read_only=read_only, timeout=timeout):
        pass  # a DuckDB file of this tracker's schema (created and migrated when writable)
    return Tracker(path, read_only=read_only, timeout=timeout)


def sample_db(db: Path | str | None = None) -> Path:
    """The bundled samples (data/samples) ingested into `db`; returns the database's path.

    Without `db`, a fresh temporary directory is used and removed when Python exits: the
    notebooks call this when no database is given. The samples ship with a source checkout
    (`pip install -e .`), and show every kind of finding (see data/samples/README.md).

    >>> path = tracker.sample_db(tmp / "samples" / "tracker.duckdb")
    >>> tracker.open(path).counts()["ingested"]
    26
    """
    if not SAMPLES.is_dir():
        raise SourceError(
            "the bundled samples are not here: they ship with a source checkout of the "
            "tracker (git clone, then pip install -e .); point tracker.open at your own "
            "database instead",
            source=str(SAMPLES),
        )
    if db is None:
        folder = Path(tempfile.mkdtemp(prefix="tracker-samples-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        db = folder / "tracker.duckdb"
    ingest_paths([SAMPLES], db_path=db)
    return Path(db)


class Tracker:
    """A database of snapshots, read as pandas DataFrames. Create it with `tracker.open`.

    Every method opens its own short-lived read-only connection (see the module docstring
    for why, and for the column types).

    >>> t = tracker.open(db)
    >>> t.currencies()
    ['KGS', 'KZT', 'TJS', 'UZS', 'TMT']
    """

    def __init__(self, path: Path | str, *, read_only: bool = True, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"Tracker({str(self.path)!r}, read_only={self.read_only})"

    def _read(self, fn: Callable[[Store], T]) -> T:
        with Store.open(self.path, read_only=True, timeout=self.timeout) as store:
            return fn(store)

    # -- the series ---------------------------------------------------------------------------

    def series(
        self,
        currencies: Currencies = None,
        start: Day = None,
        end: Day = None,
        view: str = "rate",
    ) -> pd.DataFrame:
        """The series: a row per capture date (`DatetimeIndex`), a column per currency.

        Columns are labelled as in the ticker (`KGS`; a pair against another currency than
        USD is `KGS/EUR`), in ticker order; a currency without a capture that day is missing.
        Each day holds the rate most snapshots printed (see the `series` view in README.md).
        `view`: `rate` as printed (exact decimals, see the module docstring), `per_usd` units
        per USD (1/rate), `index` rebased to 100 at each currency's first capture from
        `start` on, `change` % from the currency's previous capture (before `start` too);
        the last three are floats. `tracker.views` computes them, as it does for the
        dashboard.

        >>> t = tracker.open(db)
        >>> t.series(["KGS", "UZS"], start="2025-12-09", end="2025-12-12")
        currency              KGS           UZS
        captured_on
        2025-12-09   0.0114400000  0.0000800000
        2025-12-10   0.0114400000  0.0000800000
        2025-12-12   0.0114400000  0.0000700000
        >>> t.series("KGS", view="per_usd").loc["2025-12-10", "KGS"].round(3)
        np.float64(87.413)
        """
        check_view(view)
        labels = R.parse_labels(currencies)
        first, last = R.date_range(start, end)
        rows = self._read(lambda s: self._rows(s, labels, first, last, view))
        columns = labels or sorted(rows["label"].unique(), key=label_order)
        dtype = RATE_DTYPE if view == "rate" else "float64"
        if rows.empty:
            index = pd.DatetimeIndex([], dtype="datetime64[ns]", name="captured_on")
            wide = pd.DataFrame({c: pd.Series([], dtype=dtype, index=index) for c in columns},
                                index=index)
        else:
            wide = rows.pivot(index="captured_on", columns="label",
                              values="rate" if view == "rate" else "value")
            wide = pd.DataFrame({c: wide[c] if c in wide else pd.Series(
                pd.NA if view == "rate" else float("nan"), index=wide.index, dtype=dtype)
                for c in columns}, index=wide.index)
        wide.columns.name = "currency"
        return wide

    def printed(self, currencies: Currencies = None, start: Day = None,
                end: Day = None) -> pd.DataFrame:
        """`series()` as the ticker printed it: the rate texts (`0.01144`, `0.00008`), a
        column per currency, `<NA>` where a currency was not captured — for reading; compute
        on `series()`.

        >>> tracker.open(db).printed(["KGS", "UZS"], start="2025-12-12", end="2025-12-12")
        currency         KGS      UZS
        captured_on
        2025-12-12   0.01144  0.00007
        """
        rows = self.series_rows(currencies, start, end)
        labels = R.parse_labels(currencies)
        columns = labels or sorted(rows["label"].unique(), key=label_order)
        wide = rows.pivot(index="captured_on", columns="label", values="rate_text")
        index = wide.index if len(rows) else pd.DatetimeIndex([], dtype="datetime64[ns]",
                                                             name="captured_on")
        out = pd.DataFrame({c: (wide[c] if c in wide else pd.Series(pd.NA, index=index))
                            .astype("string") for c in columns}, index=index)
        out.columns.name = "currency"
        return out

    def series_rows(self, currencies: Currencies = None, start: Day = None,
                    end: Day = None) -> pd.DataFrame:
        """The series as rows (one per capture date and currency) with the printed texts.

        Columns: `captured_on`, `label`, `currency`, `quote_currency`, `rate` (exact),
        `rate_text`, `rate_decimals` (the printed resolution: 5 → ±0.000005), `change_pct`
        (exact), `change_text` (keeps `-0`), `snapshots` (behind the row), `distinct_rates`
        (different rates printed that day), `snapshot_id` (the row's source snapshot).

        >>> t = tracker.open(db)
        >>> rows = t.series_rows("TJS", start="2025-11-21", end="2025-11-21")
        >>> rows[["label", "rate_text", "change_text", "snapshots", "distinct_rates"]]
          label rate_text change_text  snapshots  distinct_rates
        0   TJS   0.10811           0          2               2
        """
        labels = R.parse_labels(currencies)
        first, last = R.date_range(start, end)
        return self._read(lambda s: self._rows(s, labels, first, last))

    @staticmethod
    def _rows(store: Store, labels: list[str] | None, start: R.Day, end: R.Day,
              view: str = "rate") -> pd.DataFrame:
        if labels:
            R.check_known(store, labels)
        return R.series_frame(store, labels, R.day(start, "start"), R.day(end, "end"), view)

    def currencies(self) -> list[str]:
        """The labels of the dated series, in ticker order (the columns of `series()`).

        >>> tracker.open(db).currencies()
        ['KGS', 'KZT', 'TJS', 'UZS', 'TMT']
        """
        return self._read(R.pair_labels)

    # -- what is behind it ----------------------------------------------------------------------

    def quotes(self, currencies: Currencies = None, start: Day = None, end: Day = None, *,
               snapshot_ids: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Every quote of every ingested snapshot, undated ones too (unless a date filter
        is given), with the snapshot's source and date: what `series` was chosen from.

        >>> q = tracker.open(db).quotes("TJS", start="2025-11-21", end="2025-11-21")
        >>> q[["source", "rate", "rate_text"]].sort_values("rate_text").to_string(index=False)
        '...tca-world-2025-11-21.txt 0.1081100000 0.10811\\n...tca-region-21nov.txt 0.1089500000 0.10895'
        """
        labels = R.parse_labels(currencies)
        first, last = R.date_range(start, end)
        ids = _ids(snapshot_ids) if snapshot_ids is not None else None

        def read(store: Store) -> pd.DataFrame:
            if labels:
                R.check_known(store, labels)
            return R.to_frame(R.quotes_table(store, labels, first, last, snapshot_ids=ids))

        return self._read(read)

    def snapshots(self, status: str | None = None, *, undated: bool = False) -> pd.DataFrame:
        """Every snapshot (one row each, columns as the `snapshots` table), newest capture
        first; `status` `ingested` or `rejected`, `undated=True` only those without a date.

        >>> s = tracker.open(db).snapshots()
        >>> s["status"].value_counts().to_dict()
        {'ingested': 26, 'rejected': 2}
        """
        return self._read(lambda s: R.snapshots_frame(s, status, undated=undated))

    def compare(self, snapshot_ids: str | Iterable[str]) -> pd.DataFrame:
        """Snapshots side by side: a column per snapshot (named by its source file), a row
        per piece of date evidence and per printed pair (`rate change%`), and `differs`.

        The drill-down behind a finding: `t.compare(finding.snapshot_ids)`.

        >>> t = tracker.open(db)
        >>> f = t.findings(kinds="same_day_conflict").iloc[0]
        >>> side = t.compare(f.snapshot_ids)
        >>> side.columns.tolist()
        ['tca-region-21nov.txt', 'tca-world-2025-11-21.txt', 'differs']
        >>> side.index[side["differs"]].tolist()
        ['snapshot_id', 'source', 'filename_date', 'TJS']
        >>> side.loc["TJS"].iloc[:2].tolist()
        ['0.10895 0.78%', '0.10811 0%']
        """
        ids = _ids(snapshot_ids)
        return self._read(lambda store: R.compare_frame(store, ids))

    def raw(self, snapshot_id: str) -> bytes:
        """The snapshot's original bytes, as kept in the raw archive beside the database.

        >>> t = tracker.open(db)
        >>> sid = t.snapshots("ingested", undated=True)["snapshot_id"].iloc[0]
        >>> tracker.parse(t.raw(sid)).ticker_lines[0]
        '• KGS/USD = 0.01145 0.09%'
        """
        if not isinstance(snapshot_id, str) or not snapshot_id:
            raise UsageError(f"raw() needs one snapshot id (a string), not {snapshot_id!r:.40}; "
                             "take it from t.snapshots()['snapshot_id']")
        sid = snapshot_id

        def read(store: Store) -> bytes:
            if not store.snapshot_rows([sid]):  # unknown, not "bytes not recorded"
                raise UsageError(f"no snapshot {sid[:12]} in {store.path}; take ids from "
                                 "t.snapshots()['snapshot_id']")
            return store.load_raw(sid)

        return self._read(read)

    # -- checks and runs -------------------------------------------------------------------------

    def findings(
        self,
        severity: str | None = None,
        kinds: str | Iterable[str] | None = None,
        currencies: Currencies = None,
        start: Day = None,
        end: Day = None,
        *,
        config: checks.CheckConfig | Path | str | None = None,
        today: Day = None,
    ) -> pd.DataFrame:
        """Where snapshots contradict each other, newest first (`tracker check` as a frame).

        Filters as the CLI's: `severity` at least this severe (`error`, `warning`, `info`),
        `kinds` (see `tracker.checks.KINDS`), `currencies`, `start`/`end` (a date filter
        drops undated findings). `config`: a `CheckConfig` or a TOML file (docs/checks.md).
        Columns: `finding_id`, `kind`, `severity`, `currency` (None: about no currency),
        `captured_on` (datetime64, NaT: undated), `snapshot_ids` (a tuple), `message`.

        >>> f = tracker.open(db).findings(severity="error", currencies="TJS")
        >>> f[["kind", "currency", "captured_on"]]
                        kind currency captured_on
        0  same_day_conflict      TJS  2025-11-21
        """
        first, last = R.date_range(start, end)
        kinds = [kinds] if isinstance(kinds, str) else (list(kinds) if kinds else None)
        labels = R.parse_labels(currencies)
        codes = [lab.split("/")[0] for lab in labels] if labels else None
        official = None
        if config is not None and not isinstance(config, checks.CheckConfig):
            config, official = load_check_configs(config)
        on = R.day(today, "today")

        def read(store: Store) -> list[checks.Finding]:
            if labels:
                R.check_known(store, labels)
            return checks.run_checks(store=store, config=config, today=on,
                                     official=official)

        found = self._read(read)
        kept = checks.filter_findings(found, severity=severity, kinds=kinds, currencies=codes,
                                      start=first, end=last)
        frame = checks.findings_frame(kept)
        frame["captured_on"] = pd.to_datetime(
            pd.Series([pd.NaT if d is None else pd.Timestamp(d) for d in frame["captured_on"]],
                      dtype="datetime64[ns]", index=frame.index))
        return frame

    # -- the central banks' official rates -------------------------------------------------------

    def official(self, currencies: Currencies = None, start: Day = None,
                 end: Day = None) -> pd.DataFrame:
        """The official rates fetched by `tracker official fetch`, one row per publication:
        `currency`, `rate_date` (the date the bank's document states), `per_usd` (units per
        USD as published, the nominal applied: exact decimals), `source` (NBK, NBKR, CBU,
        NBT; CBT for the TMT peg), `url`, `fetched_at`, `parser_version`; by currency, then
        date. `start`/`end` bound the rate dates. Empty until official rates are fetched.

        >>> tracker.open(db).official("KZT").columns.tolist()
        ['currency', 'rate_date', 'per_usd', 'source', 'url', 'fetched_at', 'parser_version']
        """
        labels = R.parse_labels(currencies)
        first, last = R.date_range(start, end)
        return self._read(lambda s: R.official_frame(s, labels, first, last))

    def compare_official(self, currencies: Currencies = None, start: Day = None,
                         end: Day = None, *,
                         config: OfficialConfig | Path | str | None = None) -> pd.DataFrame:
        """The ticker against the official rate, one row per capture date and currency that
        has an official rate in force (weekends carry Friday's): `captured_on`, `currency`,
        `rate_text` (as printed), `ticker_per_usd_low`/`_high` (the units per USD the print
        stands for, its rounding interval), `official_per_usd` (exact), `official_date`,
        `source`, `distance_pct` (how far the official rate lies outside that interval, 0:
        inside), `lag_days` (N: the print is closest to the rate in force N days earlier; 0
        when the capture date's is as close) with `lag_distance_pct`, `mismatch` (whether
        `official_mismatch` is raised), `snapshot_id`. `config`: an `OfficialConfig` or a TOML
        file with an `[official]` table (docs/official.md).

        >>> c = tracker.open(db).compare_official(start="2025-12-01")
        >>> c.columns.tolist()[-5:]
        ['distance_pct', 'lag_days', 'lag_distance_pct', 'mismatch', 'snapshot_id']
        """
        labels = R.parse_labels(currencies)
        first, last = R.date_range(start, end)
        if config is not None and not isinstance(config, OfficialConfig):
            config = load_check_configs(config)[1]
        return self._read(lambda s: R.compare_official_frame(s, labels, first, last, config))

    def runs(self, job: str | None = None, limit: int | None = None) -> pd.DataFrame:
        """Scheduled runs (`tracker schedule`), newest first; `finished` is NaT while a run
        goes on (or if its process died).

        >>> tracker.open(db).runs().columns.tolist()[:4]
        ['run_id', 'job', 'started', 'finished']
        """
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 0):
            raise UsageError(f"limit must be a whole number ≥ 0, not {limit!r}")
        if limit is not None:
            limit = min(limit, 2**63 - 1)  # more than any table holds; SQL's LIMIT is a BIGINT
        return R.to_frame(self._read(lambda s: s.runs(job=job, limit=limit)))

    def input_errors(self) -> pd.DataFrame:
        """Inputs that never became content (missing, unreadable, too large, failed fetch).

        >>> tracker.open(db).input_errors().columns.tolist()
        ['source', 'reason', 'seen_at']
        """
        return R.to_frame(self._read(lambda s: s.input_errors()))

    def counts(self) -> dict[str, int]:
        """How many snapshots (ingested, rejected, undated), quotes and input errors.

        >>> tracker.open(db).counts()
        {'snapshots': 28, 'ingested': 26, 'rejected': 2, 'undated': 1, 'quotes': 129,
         'raw': 28, 'input_errors': 0}
        """
        return self._read(lambda s: s.counts())

    # -- your own SQL, and writing ---------------------------------------------------------------

    def sql(self, query: str,
            params: Sequence[object] | Mapping[str, object] | None = None) -> pd.DataFrame:
        """Your own SQL against the schema documented in README.md, as a DataFrame.

        Runs on a read-only connection: it cannot change the database. `params` fill `?`
        placeholders (a list) or `$name` ones (a dict); decimals arrive exact, dates as
        datetime64. A failing query raises `tracker.QueryError` saying what to fix.

        >>> t = tracker.open(db)
        >>> t.sql("SELECT captured_on, rate_text FROM series WHERE currency = ? "
        ...       "AND distinct_rates > 1", ["TJS"])
          captured_on rate_text
        0  2025-11-21   0.10811
        """
        if not isinstance(query, str) or not query.strip():
            raise UsageError("sql() needs the query text, e.g. t.sql('SELECT * FROM series')")
        if params is not None and (isinstance(params, str | bytes)
                                   or not isinstance(params, Sequence | Mapping)):
            raise UsageError("params must be a list (for ? placeholders) or a dict (for $name "
                             f"placeholders), not {type(params).__name__}")
        return R.to_frame(self._read(lambda s: s.query(query, params)))

    def ingest(self, *paths: Path | str, captured_on: Day = None) -> IngestSummary:
        """Ingest files or folders (as `tracker ingest`); needs `open(..., read_only=False)`.

        `captured_on` dates snapshots that carry no date. Returns the run's summary.

        >>> t = tracker.open(tmp / "mine" / "tracker.duckdb", read_only=False)
        >>> t.ingest(tracker.api.SAMPLES / "undated-opinion.txt", captured_on="2025-12-31").ingested
        1
        >>> t.series("KGS").index[-1]
        Timestamp('2025-12-31 00:00:00')
        """
        if self.read_only:
            raise UsageError(f"{self.path} was opened read-only; to ingest, open it with "
                             "tracker.open(path, read_only=False) (one writing process at a time)")
        if not paths:
            raise UsageError("ingest() needs files or folders, e.g. t.ingest('data/samples')")
        day = R.day(captured_on, "captured_on")
        return ingest_paths(list(paths), db_path=self.path, captured_on=day)


# -- arguments ------------------------------------------------------------------------------------


def _ids(snapshot_ids: str | Iterable[str]) -> list[str]:
    if isinstance(snapshot_ids, str):
        ids = [snapshot_ids]
    elif isinstance(snapshot_ids, Iterable):
        ids = [str(i) for i in snapshot_ids]
    else:
        raise UsageError(f"snapshot ids must be a string or a list of strings, not "
                         f"{type(snapshot_ids).__name__}; take them from t.snapshots()['snapshot_id']")
    if not ids:
        raise UsageError("no snapshot ids given; take them from t.findings()['snapshot_ids'] "
                         "or t.snapshots()['snapshot_id']")
    return list(dict.fromkeys(ids))
