"""The venues, markets and order styles kxrules trades: names every layer shares, defined once.

Venue ``i`` on the hot path (quote-book rows, ``venue_idx`` in quote files, a signal's
``buy_venue``) is ``VENUES[i]``. The ``Literal`` types are the source; the tuples follow from them
so a schema field and a loop over venues cannot disagree.
"""
from __future__ import annotations

from typing import Literal, get_args

Venue = Literal["KRX", "NXT"]
VENUES: tuple[Venue, ...] = get_args(Venue)                 # index 0 KRX, 1 NXT
VENUE_INDEX: dict[str, int] = {name: i for i, name in enumerate(VENUES)}

Market = Literal["KOSPI", "KOSDAQ"]
MARKETS: tuple[str, ...] = get_args(Market)

# how an order is sent: which of them go with price 0 is the venue map's `price_zero`
OrderStyle = Literal["limit", "market", "ioc_limit", "ioc_market", "mid"]
ORDER_STYLES: tuple[str, ...] = get_args(OrderStyle)
IOC_STYLES: frozenset[str] = frozenset({"ioc_limit", "ioc_market"})    # immediate or cancel: never rest
