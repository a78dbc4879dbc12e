"""rules/pair_machine.yaml: the declared pair execution state machine."""
from __future__ import annotations

from pydantic import Field, StrictInt

from ...market import OrderStyle
from .common import Side, Strict


class Timer(Strict):
    after_ms: StrictInt | str       # milliseconds, or a parameter name (`true` is not 1 ms)
    trigger: str = Field(min_length=1)


class StateSpec(Strict):
    name: str = Field(min_length=1)
    final: bool = False
    timer: Timer | None = None


class TransitionSpec(Strict):
    trigger: str = Field(min_length=1)
    source: str | list[str]
    dest: str
    conditions: list[str] = []
    unless: list[str] = []
    after: list[str] = []

    @property
    def sources(self) -> list[str]:
        return [self.source] if isinstance(self.source, str) else list(self.source)


class EntryLeg(Strict):
    side: Side = "buy"
    style: OrderStyle = "ioc_limit"


class HedgeLeg(Strict):
    style: OrderStyle = "limit"


class Legs(Strict):
    entry: EntryLeg = EntryLeg()
    hedge: HedgeLeg = HedgeLeg()
    escalation: HedgeLeg = HedgeLeg(style="ioc_market")


class MachineFile(Strict):
    name: str
    initial: str
    legs: Legs = Legs()
    states: list[StateSpec] = Field(min_length=2)
    transitions: list[TransitionSpec] = Field(min_length=1)
