"""Settings that belong to the whole process (or to a database every connection shares) while
several ingests may run at once: the first to start applies them, the last to end restores
what was there before."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any


class SharedSettings:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[Hashable, tuple[int, Any]] = {}  # key -> (users, what was there before)

    @contextmanager
    def hold(
        self, key: Hashable, apply: Callable[[], Any], restore: Callable[[Any], None]
    ) -> Iterator[None]:
        """`apply()` (returning what it replaced) unless `key` is already held; `restore(it)`
        when the last holder of `key` leaves."""
        with self._lock:
            users, saved = self._held.get(key, (0, None))
            if not users:
                saved = apply()
            self._held[key] = (users + 1, saved)
        try:
            yield
        finally:
            with self._lock:
                users, saved = self._held.pop(key)
                if users > 1:
                    self._held[key] = (users - 1, saved)
                else:
                    restore(saved)
