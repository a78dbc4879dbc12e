"""rules/pair_machine.yaml: the declared pair execution state machine."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Field, StrictInt, Tag

from ...market import VENUES, OrderStyle
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


class VenueStyles(Strict):
    """A leg's order style at each venue, ``{KRX: limit, NXT: mid}``: a leg may go to either
    venue (the direction decides), so both are named."""
    KRX: OrderStyle
    NXT: OrderStyle


def _style_form(value: Any) -> str:
    return "per venue" if isinstance(value, (dict, VenueStyles)) else "one style"


# one style for both venues, or one per venue (the tag names the form; only that form's errors show)
LegStyle = Annotated[Annotated[OrderStyle, Tag("one style")] | Annotated[VenueStyles, Tag("per venue")],
                     Discriminator(_style_form)]


class Leg(Strict):
    style: LegStyle = "limit"

    def style_at(self, venue: str) -> str:
        """The order style this leg sends at ``venue``."""
        style = self.style
        return style if isinstance(style, str) else str(getattr(style, venue))

    def styles(self) -> dict[str, str]:
        """Per venue, the order style this leg sends there."""
        return {venue: self.style_at(venue) for venue in VENUES}


class EntryLeg(Leg):
    side: Side = "buy"
    style: LegStyle = "ioc_limit"


class HedgeLeg(Leg):
    pass


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
