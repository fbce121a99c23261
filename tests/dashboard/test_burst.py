"""The real `tracker dashboard` under a burst of concurrent requests while a real
`tracker schedule` process ingests into the same database: no error reaches the browser.

Every callback the page declares is fired the way the browser fires it (its inputs and state
taken from the served layout), from many threads at once, over and over, while snapshots keep
arriving. Each answer must be a success whose content carries no error, busy message or
traceback; at the end the dashboard shows everything the scheduler ingested.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dashboards import ids as I
from tests.dashboard import corpus
from tests.dashboard.test_cli_dashboard import serve, wait_up
from tests.test_schedule import drop, finish, tracker, wait_for

BAD_WORDS = ("traceback", "is busy", "internal server error", "unexpected", "cannot open",
             "cannot read the database")


def components(layout: Any) -> dict[str, dict[str, Any]]:
    """Every component of a served `_dash-layout`, by id, with its props."""
    found: dict[str, dict[str, Any]] = {}
    stack = [layout]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict):
                if isinstance(props.get("id"), str):
                    found[props["id"]] = props
                stack.extend(v for v in props.values() if isinstance(v, list | dict))
    return found


def requests_for(base: str) -> list[dict[str, Any]]:
    """The body of each callback request as the page sends it on load."""
    deps = json.loads(http(base + "/_dash-dependencies")[1])
    props = components(json.loads(http(base + "/_dash-layout")[1]))

    def value(spec: dict[str, str]) -> dict[str, Any]:
        return {**spec, "value": props.get(spec["id"], {}).get(spec["property"])}

    bodies = []
    for dep in deps:
        out = dep["output"]
        if out.startswith(".."):
            outputs: Any = [dict(zip(("id", "property"), o.split("."), strict=True))
                            for o in out.strip(".").split("...")]
        else:
            outputs = dict(zip(("id", "property"), out.split("."), strict=True))
        inputs = [value(i) for i in dep["inputs"]]
        bodies.append({
            "output": out, "outputs": outputs, "inputs": inputs,
            "state": [value(s) for s in dep["state"]],
            "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"],
        })
    return bodies


def http(url: str, body: dict[str, Any] | None = None) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def test_a_burst_of_requests_while_the_scheduler_ingests(writable_db: Path, tmp_path: Path,
                                                          free_port: int):
    base = f"http://127.0.0.1:{free_port}"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    dashboard = serve("--db", str(writable_db), "--port", str(free_port))
    scheduler = tracker("schedule", "--db", writable_db, "--watch", inbox, "--every", "1s",
                        "--settle", "0", "--batch-size", "3")
    stop = threading.Event()
    dropped: list[str] = []

    def keep_dropping() -> None:
        for i in range(40):
            if stop.is_set():
                return
            drop(inbox, f"arriving-{i:02d}.txt", corpus.page_bytes(offset=100 + i))
            dropped.append(f"arriving-{i:02d}.txt")
            time.sleep(0.1)

    try:
        wait_up(dashboard, base + "/")
        bodies = requests_for(base)
        graph = next(b["output"] for b in bodies if f"..{I.GRAPH}.figure..." in b["output"])
        assert f"{I.DATA_VERSION}.data" in {b["output"] for b in bodies}
        before = ingested(base, bodies)
        dropper = threading.Thread(target=keep_dropping)
        dropper.start()

        def hit(k: int) -> tuple[str, int, str]:
            if k % 10 == 0:
                return ("/", *http(base + "/"))
            body = bodies[k % len(bodies)]
            return (body["output"], *http(base + "/_dash-update-component", body))

        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(hit, range(400)))
        stop.set()
        dropper.join()
        after = wait_for(lambda: (n := ingested(base, bodies)) >= before + len(dropped) and n,
                         timeout=30, what="the scheduler's snapshots on the dashboard")
    finally:
        stop.set()
        code, scheduler_err = finish(scheduler, 2)
        dashboard.terminate()
        dashboard.communicate(timeout=10)
    failures = [(what, status, text[:300]) for what, status, text in answers
                if status not in (200, 204) or any(w in text.lower() for w in BAD_WORDS)]
    assert not failures, failures
    figures = [json.loads(text)["response"][I.GRAPH]["figure"] for what, status, text in answers
               if what == graph and status == 200]
    assert len(figures) >= 20 and all(f["data"] for f in figures)  # real charts, not fallbacks
    assert len(dropped) > 5  # the burst really ran while snapshots kept arriving
    assert after == before + len(dropped)
    assert code == 0, scheduler_err


def ingested(base: str, bodies: list[dict[str, Any]]) -> int:
    """The ingested count the status line shows, through the callback the page uses."""
    body = next(b for b in bodies if b["output"].startswith(f"..{I.STATUS}."))
    status, text = http(base + "/_dash-update-component", body)
    assert status == 200, text
    line = json.loads(text)["response"][I.STATUS]["children"]
    return int(re.search(r"([\d,]+) ingested", line).group(1).replace(",", ""))
