"""CLI commands kept in modules of their own, each registered with one line in `tracker.cli`."""
