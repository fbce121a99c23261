"""Fetch plotly.js's cartesian bundle (MIT) from the npm registry into dashboards/vendor/.

    .venv/bin/python scripts/fetch_plotly_bundle.py    (scripts/setup.sh runs it)

The dashboard draws only cartesian traces (scatter, heatmap): `plotly.js-cartesian-dist-min`
is ~1.4 MB where the full bundle plotly.py ships is ~4.8 MB, and parsing that bundle was the
largest part of the page's first paint (bench/README.md). The version fetched is the one the
installed plotly.py was built against; the tarball is checked against the registry's sha512
`integrity`. Without the file (no network at setup) the dashboard serves the full bundle.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request

from plotly.offline import get_plotlyjs_version

from dashboards.plotlyjs import BUNDLE, VENDOR, bundle_version

PACKAGE = "plotly.js-cartesian-dist-min"
REGISTRY = "https://registry.npmjs.org"
FILES = {"package/plotly-cartesian.min.js": "plotly-cartesian.min.js",
         "package/LICENSE": "plotly-cartesian.LICENSE"}


def fetch(version: str) -> None:
    with urllib.request.urlopen(f"{REGISTRY}/{PACKAGE}/{version}", timeout=60) as r:
        meta = json.load(r)
    algo, _, digest = meta["dist"]["integrity"].partition("-")
    with urllib.request.urlopen(meta["dist"]["tarball"], timeout=120) as r:
        tarball = r.read()
    if algo != "sha512" or hashlib.sha512(tarball).digest() != base64.b64decode(digest):
        sys.exit(f"{PACKAGE}@{version}: the tarball does not match the registry's integrity")
    VENDOR.mkdir(exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        for member, name in FILES.items():
            extracted = tar.extractfile(member)
            if extracted is None:
                sys.exit(f"{PACKAGE}@{version}: {member} missing from the tarball")
            tmp = VENDOR / (name + ".part")
            tmp.write_bytes(extracted.read())
            tmp.replace(VENDOR / name)  # never a half-written bundle


def main() -> None:
    version = get_plotlyjs_version()
    if BUNDLE.exists() and bundle_version(BUNDLE.read_text(errors="replace")[:300]) == version:
        return
    try:
        fetch(version)
    except (OSError, ValueError, KeyError, tarfile.TarError) as exc:  # offline, or an odd answer
        print(f"warning: could not fetch {PACKAGE}@{version} ({exc}); the dashboard will serve "
              "plotly.js's full bundle (slower first paint)", file=sys.stderr)
        return
    print(f"fetched {PACKAGE}@{version} into {VENDOR}", file=sys.stderr)


if __name__ == "__main__":
    main()
