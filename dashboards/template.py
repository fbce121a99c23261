"""The figures' look (plotly's `plotly_white`, trimmed to the traces drawn here) and the one
way a figure is made: from plain dicts, validated once.

`plotly_white` carries defaults for 24 trace types (~7 KB in every figure sent, ~6 ms to
validate per figure); the dashboard draws scatter and heatmap traces only, so the template
keeps its layout and those two (~3 KB, ~2 ms). Building with `add_trace`/`update_layout`
re-validates and copies at every step (bench/README.md: ~5× the time of one construction).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from .plotlyjs import TRACE_TYPES


def template() -> dict[str, Any]:
    """`plotly_white`'s layout and its scatter and heatmap defaults (~0.2 ms: plotly keeps the
    template it loaded; nothing is read at import time)."""
    full = pio.templates["plotly_white"].to_plotly_json()
    return {"layout": full["layout"],
            "data": {k: v for k, v in full["data"].items() if k in TRACE_TYPES}}


def make_figure(traces: Sequence[Mapping[str, Any]], layout: Mapping[str, Any]) -> go.Figure:
    """A figure of these traces (dicts with a `type`) and layout, in the dashboard's look."""
    return go.Figure({"data": list(traces), "layout": {"template": template(), **layout}})
