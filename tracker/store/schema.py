"""The schema: its migrations, and the series rule (the `series` view).

A writable open migrates the file to `SCHEMA_VERSION`; a read-only open refuses a file of
another version with a message that says how to migrate it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ..errors import StoreError
from .connection import LEGACY_RAW, default_raw_dir, transaction, utcnow

RATE_TYPE = "DECIMAL(18,10)"
CHANGE_TYPE = "DECIMAL(18,6)"

# The series rule, defined here only: per capture date and pair, the rate printed by the most
# snapshots that day, ties to the latest capture (then the latest ingest, then the greatest
# id); each rate is represented by its latest snapshot, whose change it shows. Hash
# aggregations rather than window sorts: three times faster on a million quotes. The checks
# run it as it is (`CheckReads.check_series`); the `series` view adds the exact numbers.
_NEWEST = ("{'at': coalesce(s.captured_at, TIMESTAMP '-infinity'), 'ingested': s.ingested_at, "
           "'id': s.snapshot_id}")
SERIES_RULE_SQL = f"""
    WITH per_rate AS (
        SELECT s.captured_on, q.currency, q.quote_currency, q.rate_text,
               count(*) AS votes,
               max({_NEWEST}) AS newest,
               arg_max(q.change_text, {_NEWEST}) AS change_text
        FROM quotes q JOIN snapshots s USING (snapshot_id)
        WHERE s.status = 'ingested' AND s.captured_on IS NOT NULL
        GROUP BY s.captured_on, q.currency, q.quote_currency, q.rate_text
    )
    SELECT captured_on, currency, quote_currency,
           arg_max(rate_text, {{'votes': votes, 'newest': newest}}) AS rate_text,
           arg_max(change_text, {{'votes': votes, 'newest': newest}}) AS change_text,
           arg_max(newest.id, {{'votes': votes, 'newest': newest}}) AS snapshot_id,
           CAST(sum(votes) AS INTEGER) AS snapshots,
           CAST(count(*) AS INTEGER) AS distinct_rates
    FROM per_rate
    GROUP BY captured_on, currency, quote_currency
"""
SERIES_SQL = f"""
    SELECT r.captured_on, r.currency, r.quote_currency, q.rate, r.rate_text, q.rate_decimals,
           q.change_pct, r.change_text, q.change_decimals, r.snapshots, r.distinct_rates,
           r.snapshot_id
    FROM ({SERIES_RULE_SQL}) r
    JOIN quotes q ON q.snapshot_id = r.snapshot_id AND q.currency = r.currency
        AND q.quote_currency = r.quote_currency AND q.rate_text = r.rate_text
        AND q.change_text = r.change_text
    QUALIFY row_number() OVER (PARTITION BY r.captured_on, r.currency, r.quote_currency
                               ORDER BY q.position) = 1
"""

# Each entry moves the schema from version i to i+1. Append, never edit (but: the first one
# no longer creates the `series` view, which the third replaces for every database anyway).
MIGRATIONS: tuple[str, ...] = (
    f"""
    CREATE TABLE snapshots (
        snapshot_id    VARCHAR PRIMARY KEY,
        source         VARCHAR NOT NULL,
        captured_on    DATE,
        date_source    VARCHAR NOT NULL,
        captured_at    TIMESTAMP,
        captured_at_source VARCHAR,
        ingested_at    TIMESTAMP NOT NULL,
        status         VARCHAR NOT NULL CHECK (status IN ('ingested', 'rejected')),
        reason         VARCHAR,
        ticker_copies  INTEGER,
        copies_agree   BOOLEAN,
        parser_version VARCHAR NOT NULL,
        header_date    DATE,
        filename_date  DATE,
        user_date      DATE,
        date_note      VARCHAR,
        content_type   VARCHAR,
        size_bytes     BIGINT NOT NULL,
        listing        VARCHAR,
        title          VARCHAR,
        warnings       VARCHAR[]
    );
    CREATE TABLE quotes (
        snapshot_id     VARCHAR NOT NULL,
        position        SMALLINT NOT NULL,
        currency        VARCHAR NOT NULL,
        quote_currency  VARCHAR NOT NULL,
        rate            {RATE_TYPE} NOT NULL,
        rate_text       VARCHAR NOT NULL,
        rate_decimals   TINYINT NOT NULL,
        change_pct      {CHANGE_TYPE} NOT NULL,
        change_text     VARCHAR NOT NULL,
        change_decimals TINYINT NOT NULL
    );
    CREATE TABLE raw_snapshots (
        snapshot_id VARCHAR NOT NULL,
        codec       VARCHAR NOT NULL,
        pack        VARCHAR NOT NULL,
        "offset"    BIGINT NOT NULL,
        length      BIGINT NOT NULL
    );
    CREATE TABLE input_errors (
        source      VARCHAR NOT NULL,
        reason      VARCHAR NOT NULL,
        seen_at     TIMESTAMP NOT NULL
    );
    """,
    # 2: scheduled ingestion. `runs` is one row per scheduled job run (finished is NULL while
    # it runs, or forever if the process died); `watch_state` remembers each watched file's
    # size and mtime so unchanged files are skipped without being read.
    """
    CREATE SEQUENCE run_ids START 1;
    CREATE TABLE runs (
        run_id      BIGINT PRIMARY KEY DEFAULT nextval('run_ids'),
        job         VARCHAR NOT NULL,
        started     TIMESTAMP NOT NULL,
        finished    TIMESTAMP,
        files_seen  INTEGER NOT NULL DEFAULT 0,
        ingested    INTEGER NOT NULL DEFAULT 0,
        present     INTEGER NOT NULL DEFAULT 0,
        rejected    INTEGER NOT NULL DEFAULT 0,
        error       VARCHAR
    );
    CREATE TABLE watch_state (
        path        VARCHAR PRIMARY KEY,
        size        BIGINT NOT NULL,
        mtime_ns    BIGINT NOT NULL,
        snapshot_id VARCHAR,
        seen_at     TIMESTAMP NOT NULL
    );
    """,
    # 3: the series view over the one series rule (SERIES_RULE_SQL), which the checks read too.
    f"CREATE OR REPLACE VIEW series AS {SERIES_SQL};",
    # 4: the page's own address (a fetched URL, a WARC record's WARC-Target-URI)
    "ALTER TABLE snapshots ADD COLUMN original_url VARCHAR;",
    # 5: official central-bank rates (issue 22). One row per publication (bank, currency, the
    # date its document states): fetching it again is a no-op. `official_responses` maps each
    # answer's SHA-256 (and the URL that answered it) to its raw bytes in the raw archive.
    f"""
    CREATE TABLE official_rates (
        currency       VARCHAR NOT NULL,
        rate_date      DATE NOT NULL,
        per_usd        {RATE_TYPE} NOT NULL CHECK (per_usd > 0),
        source         VARCHAR NOT NULL,
        url            VARCHAR NOT NULL,
        fetched_at     TIMESTAMP NOT NULL,
        parser_version VARCHAR NOT NULL,
        PRIMARY KEY (currency, rate_date, source)
    );
    CREATE TABLE official_responses (
        response_id VARCHAR NOT NULL,
        url         VARCHAR NOT NULL,
        fetched_at  TIMESTAMP NOT NULL,
        status      INTEGER NOT NULL,
        codec       VARCHAR NOT NULL,
        pack        VARCHAR NOT NULL,
        "offset"    BIGINT NOT NULL,
        length      BIGINT NOT NULL,
        PRIMARY KEY (response_id, url)
    );
    """,
    # 6: `tracker backfill`: the captures planned from a web archive and what became of each
    # (store/backfillqueue.py), and the archive queries already planned in full.
    """
    CREATE TABLE backfill_queue (
        source       VARCHAR NOT NULL,
        captured_at  TIMESTAMP NOT NULL,
        original_url VARCHAR NOT NULL,
        digest       VARCHAR NOT NULL,
        archive_url  VARCHAR NOT NULL,
        state        VARCHAR NOT NULL,
        attempts     INTEGER NOT NULL DEFAULT 0,
        last_error   VARCHAR,
        snapshot_id  VARCHAR,
        filename     VARCHAR,
        "offset"     BIGINT,
        length       BIGINT,
        planned_at   TIMESTAMP NOT NULL,
        done_at      TIMESTAMP,
        PRIMARY KEY (source, captured_at, original_url)
    );
    CREATE TABLE backfill_plans (
        source     VARCHAR NOT NULL,
        query      VARCHAR NOT NULL,
        captures   INTEGER NOT NULL,
        planned    INTEGER NOT NULL,
        planned_at TIMESTAMP NOT NULL,
        PRIMARY KEY (source, query)
    );
    """,
    # 7: `tracker backfill` planning kept per index page: the captures listed so far (in the
    # order listed) and where the index continues, so a killed plan resumes (backfillqueue.py).
    """
    CREATE TABLE backfill_listed (
        source       VARCHAR NOT NULL,
        query        VARCHAR NOT NULL,
        seq          BIGINT NOT NULL,
        captured_at  TIMESTAMP NOT NULL,
        original_url VARCHAR NOT NULL,
        digest       VARCHAR NOT NULL,
        archive_url  VARCHAR NOT NULL,
        filename     VARCHAR,
        "offset"     BIGINT,
        length       BIGINT,
        PRIMARY KEY (source, query, captured_at, original_url)
    );
    CREATE TABLE backfill_paging (
        source     VARCHAR NOT NULL,
        query      VARCHAR NOT NULL,
        cursor     VARCHAR,
        complete   BOOLEAN NOT NULL,
        pages      INTEGER NOT NULL,
        updated_at TIMESTAMP NOT NULL,
        PRIMARY KEY (source, query)
    );
    """,
    # 8: the raw folder this database owns, a name beside the file (store/rawfolder.py). An
    # existing database keeps `raw/`, where its packs are; `migrate` names a new one's after
    # its file (`connection.default_raw_dir`), so databases in one folder no longer share one.
    f"""
    CREATE TABLE raw_folder (name VARCHAR NOT NULL);
    INSERT INTO raw_folder VALUES ('{LEGACY_RAW}');
    """,
    # 9: the charset a container or HTTP header declared for the bytes ('' when none did),
    # which only the payload does not keep: `tracker reparse` reads it here (prepare.py
    # `reparse_charset`). NULL: ingested before it was kept.
    "ALTER TABLE snapshots ADD COLUMN declared_charset VARCHAR;",
)
SCHEMA_VERSION = len(MIGRATIONS)
RAW_FOLDER_VERSION = 8  # the first version that records its raw folder


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_info'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    return int(con.execute("SELECT max(version) FROM schema_info").fetchall()[0][0] or 0)


def foreign_objects(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The tables, views and sequences of a file without a tracker schema (first few): a file
    that has any is someone else's database, which the tracker must not add its tables to."""
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = "
        "current_database() UNION ALL SELECT sequence_name FROM duckdb_sequences() "
        "WHERE database_name = current_database() ORDER BY 1 LIMIT 4"
    ).fetchall()
    return [str(r[0]) for r in rows]


def _refuse_foreign(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """`StoreError` when the file holds other objects but no tracker schema."""
    names = foreign_objects(con)
    if names:
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        raise StoreError(
            f"database {path} is not a tracker database (it holds {shown} and no tracker "
            "schema); the tracker does not add its tables to it: pass --db a new file (or "
            "an existing tracker database)"
        )


def migrate(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Bring the file to `SCHEMA_VERSION` in one transaction; refuse a newer file, and a
    file that is another database (`foreign_objects`)."""
    version = schema_version(con)
    if version == 0:
        _refuse_foreign(con, path)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"database {path} has schema version {version}, newer than this tracker "
            f"({SCHEMA_VERSION}); upgrade the tracker"
        )
    if version == SCHEMA_VERSION:
        return
    with transaction(con):
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_info (version INTEGER, applied_at TIMESTAMP)"
        )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            con.execute(MIGRATIONS[target - 1])
            con.execute("INSERT INTO schema_info VALUES (?, ?)", [target, utcnow()])
        if version == 0:  # a new database: a raw folder of its own
            con.execute("UPDATE raw_folder SET name = ?", [default_raw_dir(path).name])


def check_version(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """A read-only connection cannot migrate: say how to."""
    version = schema_version(con)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"database {path} has schema version {version}, newer than this tracker "
            f"({SCHEMA_VERSION}); upgrade the tracker"
        )
    if version == 0:
        _refuse_foreign(con, path)
    if version != SCHEMA_VERSION:
        raise StoreError(
            f"database {path} has schema version {version}, this tracker expects "
            f"{SCHEMA_VERSION}; run any writing command (e.g. `tracker ingest`) to migrate it"
        )
