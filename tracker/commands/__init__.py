"""`tracker` commands that live outside tracker/cli.py, each registered there with one line."""
