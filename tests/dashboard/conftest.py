"""Fixtures for the dashboard tests, and the headless Chromium that `dash_duo` drives.

`pytest_setup_options` is dash.testing's hook for the webdriver options: Debian's Chromium,
headless, no sandbox (containers), nothing that phones home, and a fresh profile per browser
so that parallel workers (`pytest -n 2`) never share one.
"""

from __future__ import annotations

import atexit
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from tests.conftest import SAMPLES
from tests.dashboard import corpus

CHROMIUM = Path("/usr/bin/chromium")
_PROFILES = tempfile.mkdtemp(prefix="tracker-chromium-")
atexit.register(shutil.rmtree, _PROFILES, ignore_errors=True)


def pytest_setup_options():
    from selenium.webdriver.chrome.options import Options

    options = Options()
    if CHROMIUM.exists():
        options.binary_location = str(CHROMIUM)
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-dev-shm-usage", "--window-size=1400,1000",
                f"--user-data-dir={tempfile.mkdtemp(dir=_PROFILES)}"):
        options.add_argument(arg)
    return options


@pytest.fixture
def free_port() -> int:
    """A loopback port nobody listens on (dash.testing's default ports collide under xdist)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def corpus_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic corpus, ingested once per worker; tests must not write to it."""
    root = tmp_path_factory.mktemp("corpus")
    return corpus.build_db(root / "snapshots", root / "db" / "tracker.duckdb")


@pytest.fixture
def writable_db(tmp_path: Path) -> Path:
    """A fresh copy of the corpus for tests that ingest."""
    return corpus.build_db(tmp_path / "snapshots", tmp_path / "db" / "tracker.duckdb")


@pytest.fixture(scope="session")
def samples_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled samples (data/samples), ingested once per worker."""
    from tracker.ingest import ingest_paths

    if not SAMPLES.is_dir():
        pytest.fail(f"{SAMPLES} is missing: the dashboard's end-to-end tests run on it")
    db = tmp_path_factory.mktemp("samples") / "data" / "tracker.duckdb"
    summary = ingest_paths([SAMPLES], db_path=db)
    assert summary.ingested > 0, "no sample was ingested"
    return db


@pytest.fixture(scope="session")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    db = corpus.build_db(root / "snapshots", root / "db" / "tracker.duckdb")
    corpus.add_hostile(db)
    return db
