"""`tracker` commands that live outside tracker/cli.py, registered there by one line or by name
in `TrackerGroup.LAZY` (imported only when asked for)."""
