"""`tracker dashboard --backfill …`: the companion scheduler backfills from the archive the
dashboard's options name, as `tracker schedule` with the same options would."""

from __future__ import annotations

import signal

from tests.dashboard.test_cli_dashboard import schedulers, serve, wait_up
from tests.fakearchive import FakeArchive, serving
from tests.test_backfill import DAYS, queue, stock
from tests.test_backfill_schedule import finished
from tests.test_schedule import wait_for


def test_the_dashboards_companion_backfills_from_the_archive_given(tmp_path, free_port,
                                                                   monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    db = tmp_path / "t.duckdb"
    with serving(FakeArchive()) as archive:
        stock(archive, DAYS[:2])
        proc = serve("--db", str(db), "--port", str(free_port), "--backfill", "timesca.com/",
                     "--wayback-url", archive.base, "--max-rate", "600")
        try:
            wait_up(proc, f"http://127.0.0.1:{free_port}/")
            [child] = schedulers(proc)
            assert child.cmdline()[child.cmdline().index("--wayback-url") + 1] == archive.base
            wait_for(lambda: finished(db, "backfill"), timeout=90, what="a backfill run")
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=40)
    assert proc.returncode == 0, err
    assert "backfill timesca.com/" in err
    assert [r["state"] for r in queue(db)] == ["ingested"] * 6
