"""Component ids, in one place: the layout, the callbacks and the browser tests share them."""

from __future__ import annotations

# page-wide
STATUS = "status-line"
EMPTY_STATE = "empty-state"
TABS = "tabs"
TAB_MOVEMENTS = "tab-movements"
TAB_SNAPSHOTS = "tab-snapshots"
TAB_UPLOAD = "tab-upload"
DATA_VERSION = "data-version"  # dcc.Store: changes whenever the database file was written
REFRESH = "refresh-interval"  # dcc.Interval: how often the database is looked at

# movements
CURRENCIES = "currencies"
VIEW = "view"
OPTIONS = "chart-options"  # checklist: log scale, bands
GRAPH = "movements-graph"
CHART_TITLE = "chart-title"
CHART_SUBTITLE = "chart-subtitle"  # the rebase date, gaps, thinning, what is left out
VISIBLE_RANGE = "visible-range"  # dcc.Store: [start, end] ISO dates, or None for all
DOWNLOAD_BUTTON = "download-csv-button"
DOWNLOAD = "download-csv"

# findings
FINDINGS_KIND = "findings-kind"
FINDINGS_SEVERITY = "findings-severity"
FINDINGS_CURRENCY = "findings-currency"
FINDINGS_COUNT = "findings-count"
FINDINGS_TABLE = "findings-table"
SELECTED_FINDING = "selected-finding"  # dcc.Store: the finding picked in the table or chart
FINDING_DETAIL = "finding-detail"
FINDING_PANEL = "finding-panel"  # beside the chart: the selected finding's detail
DETAIL_CLOSE = "finding-detail-close"
TIMELINE = "findings-timeline"  # graph: findings per kind · currency and day or week
CHARTED = "charted"  # dcc.Store: [data version, currencies] the chart was last drawn for
TIMELINE_FILTER = "timeline-filter"  # dcc.Store: the clicked timeline cell, or None
TIMELINE_NOTE = "timeline-filter-note"
TIMELINE_NOTE_BOX = "timeline-filter-box"  # the note and its clear button
TIMELINE_CLEAR = "timeline-filter-clear"

# snapshots
SNAPSHOTS_FILTER = "snapshots-filter"  # checklist: undated, rejected
SNAPSHOTS_COUNT = "snapshots-count"
SNAPSHOTS_TABLE = "snapshots-table"
SNAPSHOT_DETAIL = "snapshot-detail"

# upload
UPLOAD = "upload"
UPLOAD_RESULTS = "upload-results"
