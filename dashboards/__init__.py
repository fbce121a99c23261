"""The tracker's Dash dashboard: `create_app(db_path)` (see dashboards/app.py).

Importing the package loads no data and starts nothing; `tracker dashboard` runs it.
"""

from __future__ import annotations

__all__ = ["create_app"]


def create_app(*args, **kwargs):  # type: ignore[no-untyped-def]
    """`dashboards.app.create_app`, imported on first use (Dash is slow to import)."""
    from .app import create_app as factory

    return factory(*args, **kwargs)
