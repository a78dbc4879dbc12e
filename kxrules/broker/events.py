"""Engine-facing broker events and intents (plain slotted dataclasses: no validation on the hot path).

Every event carries ``ts_ns`` (the Clock time the adapter saw it) and ``raw`` (the FID/string
values it came from, for the recorder). Quotes never become objects: they go to
:meth:`BrokerListener.on_quote` as ints.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, Union

if TYPE_CHECKING:
    from ..config.schema.venues import VenueMapConfig

VENUE_KRX = 0
VENUE_NXT = 1


# --- intents (engine -> adapter) ---
@dataclass(slots=True)
class OrderIntent:
    client_id: str
    code: str  # 6-digit, no suffix
    venue: str  # 'KRX' | 'NXT'
    side: str  # 'buy' | 'sell'
    qty: int
    style: str  # 'limit' | 'market' | 'ioc_limit' | 'ioc_market' | 'mid'
    price: int  # KRW; ignored (sent as 0) for market-type styles and 'mid'


@dataclass(slots=True)
class CancelIntent:
    client_id: str  # the cancel's own id (its sRQName)
    orig_client_id: str
    code: str
    venue: str
    side: str  # side of the ORIGINAL order
    qty: int  # 0 = whatever remains (the adapter sends its known remainder)


# --- order events (adapter -> engine) ---
@dataclass(slots=True)
class OrderAck:
    """TR ack: the broker gave the order (or cancel) a number. May come after the engine gave up."""

    client_id: str
    order_no: str
    ts_ns: int = 0
    raw: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class OrderRejected:
    """stage 'send': SendOrder returned non-zero (code = that return); 'tr': empty 주문번호 with the
    reason from OnReceiveMsg; 'exchange': Chejan 거부. Final for that client_id."""

    client_id: str
    stage: Literal["send", "tr", "exchange"]
    code: int | None
    message: str
    ts_ns: int = 0
    raw: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class OrderAccepted:
    client_id: str
    order_no: str
    leaves_qty: int
    ts_ns: int = 0
    raw: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class OrderFilled:
    client_id: str
    order_no: str
    exec_id: str
    price: int
    qty: int  # this fill
    cum_qty: int
    leaves_qty: int  # 0 = the order is done
    fee: int  # this fill's share of the commission (KRW)
    tax: int  # this fill's share of the transaction tax (KRW)
    ts_ns: int = 0
    raw: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class OrderCancelled:
    """IOC remainder, expiry or confirmed cancel. Final for that order; ``client_id`` is the
    ORIGINAL order's id even when a cancel order caused it."""

    client_id: str
    order_no: str
    cancelled_qty: int
    ts_ns: int = 0
    raw: dict[str, str] = field(default_factory=dict)


OrderEvent = Union[OrderAck, OrderRejected, OrderAccepted, OrderFilled, OrderCancelled]


@dataclass(slots=True)
class BalanceUpdate:
    code: str
    holding_qty: int  # 930 보유수량
    orderable_qty: int  # 933 주문가능수량 (what a sell may use)
    avg_price: int  # 931 매입단가
    ts_ns: int = 0
    raw: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class HoldingRow:
    """One row of the holdings TR (opw00018): what the broker says the account holds."""

    code: str
    qty: int           # 보유수량
    orderable: int     # 매매가능수량
    avg_price: int     # 매입가


@dataclass(slots=True)
class OpenOrderRow:
    """One row of the open-orders TR (opt10075): an order still working at the broker."""

    order_no: str
    code: str
    side: str          # 'buy' | 'sell'
    qty: int
    price: int
    leaves: int        # 미체결수량
    client_id: str | None = None   # ours, when the adapter knows (or just learned) the number


@dataclass(slots=True)
class ExecutionRow:
    """One row of the executions TR (opt10076 / REST ka10076): an order of the day with fills,
    its running totals at the broker (what a restarted engine missed is read from them)."""

    order_no: str
    code: str
    side: str          # 'buy' | 'sell'
    qty: int           # 주문수량
    filled: int        # 체결량: shares filled so far
    avg_price: int     # 체결가: their average price
    fees: int          # 당일매매수수료 of this order so far
    tax: int           # 당일매매세금 of this order so far


@dataclass(slots=True)
class AccountPage:
    """One reply of an account TR. ``more``: the broker has another page (prev_next = 2).
    ``rc`` non-zero: the request was refused (-200 over the query limit, ...) and no reply comes."""

    kind: Literal["holdings", "open_orders", "executions"]
    rows: list[Any]    # HoldingRow, OpenOrderRow or ExecutionRow by ``kind``
    more: bool = False
    rc: int = 0
    ts_ns: int = 0


@dataclass(slots=True)
class SessionEvent:
    venue: str  # 'KRX' | 'NXT' (from the code's alphabet: digits KRX, letters P-W NXT)
    code215: str
    ts_ns: int = 0
    raw: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class ViEvent:
    code: str
    active: bool
    ts_ns: int = 0
    raw: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class MasterStateEvent:
    """The broker's master data for one code, read at login: the restrictions found in it
    (``broker/master.py``: 거래정지, 정리매매, 관리종목, 투자위험, 투자경고), and the raw text."""
    code: str
    restrictions: tuple[str, ...]
    ts_ns: int = 0
    raw: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class ConnectionEvent:
    connected: bool
    err_code: int
    ts_ns: int = 0
    raw: dict[str, str] = field(default_factory=dict)
    server: str | None = None   # on a login: "paper" | "real", from GetServerGubun (broker/server.py)


class BrokerAdapter(Protocol):
    """What the engine and the session call on a broker (the OpenAPI+ ``KiwoomAdapter``, the REST
    ``RestAdapter``). Events come back through the ``BrokerListener``; every call returns at once."""

    venues: VenueMapConfig          # which styles go without a price at which venue

    def connect(self) -> int: ...

    def check_connection(self) -> bool: ...

    def subscribe_quotes(self) -> int: ...

    def send(self, intent: OrderIntent) -> int: ...

    def cancel(self, intent: CancelIntent) -> int: ...

    def adopt_order(self, client_id: str, code: str, venue: str, side: str, qty: int,
                    order_no: str, filled: int) -> None: ...

    def catch_up(self, client_id: str, filled: int, fees: int, tax: int) -> None: ...

    def learn_order_no(self, client_id: str, order_no: str) -> None: ...

    def forget(self, client_id: str) -> None: ...

    def request_account(self, kind: str, *, more: bool = False) -> int: ...

    def close(self) -> None: ...


class BrokerListener(Protocol):
    """What the engine implements. ``on_quote`` is the hot path: ints only.

    ``sym`` is the index in the adapter's code list, ``venue`` 0 = KRX, 1 = NXT. ``bid``/``ask``
    of 0 mean an empty side. A listener may also define
    ``on_trade(sym, venue, price, signed_qty, ts_ns)``; the adapter calls it when present.
    """

    def on_quote(self, sym: int, venue: int, bid: int, ask: int, bid_qty: int, ask_qty: int,
                 ts_ns: int) -> None: ...

    def on_order_event(self, ev: OrderEvent) -> None: ...

    def on_balance(self, ev: BalanceUpdate) -> None: ...

    def on_session(self, ev: SessionEvent) -> None: ...

    def on_vi(self, ev: ViEvent) -> None: ...

    def on_connection(self, ev: ConnectionEvent) -> None: ...

    def on_master_state(self, ev: MasterStateEvent) -> None: ...

    def on_account(self, ev: AccountPage) -> None: ...
