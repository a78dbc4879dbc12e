"""While a trading loop runs, start-up objects are frozen out of the collector's passes, and
only then."""
from __future__ import annotations

import gc

from kxrules.runtime.heap import frozen_startup_heap


def test_startup_objects_are_frozen_only_inside_the_loop():
    survivor = [object() for _ in range(10)]          # a start-up object that lives on
    assert gc.get_freeze_count() == 0
    with frozen_startup_heap():
        assert gc.get_freeze_count() >= len(survivor)
        assert not any(o is survivor for o in gc.get_objects())     # no collection walks it
    assert gc.get_freeze_count() == 0
    assert any(o is survivor for o in gc.get_objects())


def test_the_heap_is_unfrozen_when_the_loop_raises():
    try:
        with frozen_startup_heap():
            raise RuntimeError("loop failed")
    except RuntimeError:
        pass
    assert gc.get_freeze_count() == 0
