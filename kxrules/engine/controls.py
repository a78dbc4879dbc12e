"""The operator's controls (the ops view's buttons), carried out by the engine on its own clock.

A command comes from outside the engine (the web thread queues it; the host's loop hands it over
on the engine's thread) and is applied here in one step: arm / disarm the engine, mute / unmute
or freeze / unfreeze a symbol, or the emergency stop (disarm for the rest of the run, cancel what
rests, flatten, stay disarmed). Every command is recorded with who asked, when (the engine's
clock) and what came of it (``operator_commands``), and alerted.

Mute: the symbol is not evaluated at all (no signal). Freeze: no new pair on it, live pairs go
on (the engine's own freezes, ``broker_truth``); unfreezing lifts only the operator's freeze.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .engine import Engine

ENGINE_COMMANDS = ("arm", "disarm", "emergency_stop")
SYMBOL_COMMANDS = ("mute", "unmute", "freeze", "unfreeze")
COMMANDS = ENGINE_COMMANDS + SYMBOL_COMMANDS
#: the kill reason of the emergency stop: the operator ended the run (exit 0 when it ends flat)
EMERGENCY_STOP = "emergency stop by the operator"


@dataclass(frozen=True, slots=True)
class Command:
    command: str              # one of COMMANDS
    code: str | None = None   # the symbol of a symbol command
    who: str = "operator"     # who asked (the ops view: its client address)
    received_ns: int = 0      # wall time it was received (epoch ns)


class OperatorControls:
    def __init__(self, engine: "Engine") -> None:
        self.engine = engine

    def apply(self, cmd: Command) -> tuple[bool, str]:
        """Carry out ``cmd`` now; returns (done, what happened) after recording it."""
        ok, outcome = self._apply(cmd)
        engine = self.engine
        now = engine.clock.now_ns()
        engine.recorder.operator_command(now, cmd.who, cmd.command, cmd.code, ok, outcome, cmd.received_ns)
        if ok:
            target = f" {cmd.code}" if cmd.code else ""
            engine.alert("operator", f"{cmd.command}{target} by {cmd.who}: {outcome}")
        return ok, outcome

    def _apply(self, cmd: Command) -> tuple[bool, str]:
        engine = self.engine
        guard = engine.guard
        if cmd.command in SYMBOL_COMMANDS:
            sym = engine.index.get(cmd.code or "")
            if sym is None:
                return False, f"unknown symbol {cmd.code!r}"
            return self._symbol(cmd.command, sym)
        if cmd.command == "disarm":
            guard.operator_disarmed = True
            return True, "disarmed: no new pairs; live pairs finish"
        if cmd.command == "arm":
            if guard.killed is not None:
                return False, f"cannot arm: disarmed for the rest of the run ({guard.killed})"
            guard.operator_disarmed = False
            engine.rearm()
            return True, "armed (trades inside the guard window)"
        if cmd.command == "emergency_stop":
            guard.operator_disarmed = True
            engine.wind_down(EMERGENCY_STOP)
            return True, "disarmed for the rest of the run; resting orders cancelled; flattening"
        return False, f"unknown command {cmd.command!r}"

    def _symbol(self, command: str, sym: int) -> tuple[bool, str]:
        engine = self.engine
        if command == "mute":
            engine.guard.operator_muted[sym] = True
            return True, "muted: not evaluated"
        if command == "unmute":
            engine.guard.operator_muted[sym] = False
            engine.rearm(sym)
            return True, "unmuted"
        truth = engine.truth
        if truth is None:
            return False, "not connected to a broker yet"
        if command == "freeze":
            truth.freeze_by_operator(sym)
            return True, "frozen: no new pairs, live pairs go on"
        held = truth.unfreeze_by_operator(sym)
        return (True, "unfrozen") if held is None else (True, f"the operator's freeze lifted; still frozen: {held}")
