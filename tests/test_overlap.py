"""Shared settings: applied by the first holder of a key, restored by the last, also on errors."""

from __future__ import annotations

import pytest

from tracker.overlap import SharedSettings


def test_the_first_holder_applies_and_the_last_restores_per_key():
    setting = {"a": 5, "b": 7}
    log = []

    def hold(shared, key):
        def apply():
            log.append(("apply", key))
            before, setting[key] = setting[key], 1
            return before

        def restore(before):
            log.append(("restore", key))
            setting[key] = before

        return shared.hold(key, apply, restore)

    shared = SharedSettings()
    with hold(shared, "a"):
        with hold(shared, "a"), hold(shared, "b"):
            assert setting == {"a": 1, "b": 1}
        assert setting == {"a": 1, "b": 7}  # "a" is still held
        with pytest.raises(RuntimeError), hold(shared, "a"):
            raise RuntimeError("an ingest failed")
        assert setting["a"] == 1
    assert setting == {"a": 5, "b": 7}
    assert log == [("apply", "a"), ("apply", "b"), ("restore", "b"), ("restore", "a")]
    with pytest.raises(RuntimeError), hold(shared, "a"):
        raise RuntimeError("the only holder failed")
    assert setting["a"] == 5
