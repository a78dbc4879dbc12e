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


def test_a_process_that_froze_its_startup_keeps_it_frozen_through_sessions():
    """A sweep worker freezes its start-up once; a session inside it neither unfreezes that
    (its end would hand every import back to the collector) nor freezes its own objects for
    good (a session's garbage must still be collectable). In a child process: the freeze is
    for the life of the process."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import gc
        from kxrules.runtime.heap import freeze_process_startup, frozen_startup_heap
        freeze_process_startup()
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with frozen_startup_heap():
            session_object = [object()]
            assert gc.get_freeze_count() == frozen
            assert any(o is session_object for o in gc.get_objects())
        assert gc.get_freeze_count() == frozen
        freeze_process_startup()               # once only
        assert gc.get_freeze_count() == frozen
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def _cyclic_garbage():
    import weakref
    cycle = _Cycle()
    return weakref.ref(cycle)           # the cycle is garbage now; only a collection frees it


def test_a_session_command_holds_collections_until_its_session_then_collects_again(monkeypatch):
    from kxrules.runtime import heap

    seen: dict[str, object] = {}

    @heap.no_collections_until_the_session
    def command() -> str:
        seen["starting up"] = gc.isenabled()
        with frozen_startup_heap():
            seen["trading"] = gc.isenabled()
            seen["frozen"] = gc.get_freeze_count()
        return "done"

    monkeypatch.setattr(heap, "GARBAGE_WORTH_COLLECTING", 10**9)
    assert command() == "done"
    assert seen["starting up"] is False and seen["trading"] is True and seen["frozen"] > 0
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_collections_come_back_when_a_session_command_fails_before_its_session():
    from kxrules.runtime.heap import no_collections_until_the_session

    @no_collections_until_the_session
    def command() -> None:
        assert not gc.isenabled()
        raise SystemExit(2)             # a usage error: the session never started

    try:
        command()
    except SystemExit:
        pass
    assert gc.isenabled()


def test_a_start_up_that_left_much_garbage_has_it_collected_before_the_freeze(monkeypatch):
    """A start-up that compiled its kernels leaves hundreds of thousands of garbage objects:
    collected, not frozen for the day. A cached start-up's few thousand are frozen with the rest
    (collecting them would cost a 100 ms pass)."""
    from kxrules.runtime import heap

    left: dict[str, bool] = {}

    @heap.no_collections_until_the_session
    def command() -> None:
        garbage = _cyclic_garbage()
        with frozen_startup_heap():
            left["garbage"] = garbage() is not None

    monkeypatch.setattr(heap, "GARBAGE_WORTH_COLLECTING", 0)
    command()
    assert left == {"garbage": False}
    monkeypatch.setattr(heap, "GARBAGE_WORTH_COLLECTING", 10**9)
    command()
    assert left == {"garbage": True}
    gc.collect()                         # unfrozen again at the session's end: collectable as ever
