"""plotly.js's cartesian bundle in place of the full one, when scripts/setup.sh fetched it.

`dcc.Graph` loads plotly.js lazily from one URL (`_dash-component-suites/plotly/package_data/
plotly.min.js` when serving locally). The full bundle there is ~4.8 MB, and parsing it was
the largest part of the page's first paint; every trace the dashboard draws (scatter,
heatmap) is in the cartesian bundle (~1.5 MB, MIT, `scripts/fetch_plotly_bundle.py`), so the
app answers that URL with it. A missing bundle, or one of another plotly.js version than the
installed plotly.py targets, leaves Dash's full bundle in place.
"""

from __future__ import annotations

import re
from pathlib import Path

import flask
from dash import Dash

VENDOR = Path(__file__).resolve().parent / "vendor"
BUNDLE = VENDOR / "plotly-cartesian.min.js"
TRACE_TYPES = frozenset({"scatter", "heatmap"})  # what dashboards/ draws; all in the bundle
_VERSION = re.compile(r"plotly\.js[^\n]*? v(\d+\.\d+\.\d+\S*)")


def bundle_version(head: str) -> str | None:
    """The plotly.js version in a bundle's header comment (its first lines)."""
    m = _VERSION.search(head)
    return m.group(1) if m else None


def partial_bundle() -> bytes | None:
    """The cartesian bundle's bytes, if fetched and of the version plotly.py targets."""
    from plotly.offline import get_plotlyjs_version

    try:
        code = BUNDLE.read_bytes()
    except OSError:
        return None
    if bundle_version(code[:300].decode("utf-8", "replace")) != get_plotlyjs_version():
        return None
    return code


def serve_partial_bundle(app: Dash) -> bool:
    """Answer dcc.Graph's plotly.js URL with the cartesian bundle; False when there is none.

    The bytes are read once, when the app is made (Flask prefers this exact rule to Dash's
    `<package>/<path>` one)."""
    code = partial_bundle()
    if code is None:
        return False
    prefix = app.config.routes_pathname_prefix or "/"

    def plotly_js() -> flask.Response:
        return flask.Response(code, mimetype="application/javascript")

    app.server.add_url_rule(f"{prefix}_dash-component-suites/plotly/package_data/plotly.min.js",
                            "plotly_cartesian_bundle", plotly_js)
    return True
