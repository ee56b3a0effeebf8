"""A slow, plain-Python reference model of the fill semantics (DESIGN.md rules 1-9).

The model is written from the design notes alone and shares nothing with the engine: it keeps
orders in dicts, walks the book with loops and recomputes everything on each event. The
property tests run it beside :func:`mmsim.backtest` and compare the two fill by fill.

Inputs are those of a backtest whose strategy replays a script: a TAQ frame, signal times,
one list of actions per signal time, the contract, latencies and ``queue_position``. Actions
are tuples:

- ``("limit", price, amount, post_only)``
- ``("market", amount)``
- ``("follow", level, amount)``
- ``("cancel", order_id)``

Prices are on the tick grid and amounts on the lot grid (the model checks neither: hostile
inputs are tested elsewhere). Order ids are given in sending order from 1, as the engine does;
cancelling an id never issued raises ``ValueError`` in the engine, and the model records it.

Decisions where the notes leave a case open are marked ``DECISION`` below.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["ModelOrder", "ModelFill", "ModelResult", "Account", "simulate", "grid", "to_ticks"]

#: Rule 4: a print within this many ticks of a price counts as at that price.
PRICE_TOLERANCE = 1e-6
#: DECISION (rule 4, whole lots): an amount within this share of a lot of a whole number of
#: lots counts as that whole number, so that float noise in ``queue_position x size`` or in a
#: print's volume (0.009 / 0.001 = 8.999999999999998) does not lose a lot. The notes give a
#: tolerance for prices only (1e-6 of a tick); the same share of a lot is used here.
LOT_TOLERANCE = 1e-6


def to_ticks(price: float, tick: float) -> int:
    """Index of ``price`` on the tick grid (prices on the grid only).

    Parameters
    ----------
    price : float
    tick : float

    Returns
    -------
    int
    """
    return int(round(price / tick))


def grid(n: int, step: float) -> float:
    """The float nearest to ``n`` steps of ``step`` (``n / 10`` for a 0.1 step, not ``n * 0.1``).

    Parameters
    ----------
    n : int
        Number of steps.
    step : float
        A tick or lot size; when ``1 / step`` is a whole number the result is the
        correctly rounded decimal value.

    Returns
    -------
    float
    """
    inverse = round(1.0 / step)
    if abs(inverse * step - 1.0) < 1e-12:
        return n / inverse
    return n * step


@dataclass
class ModelOrder:
    """One order as the model tracks it.

    Amounts are held in whole lots (``lots`` signed like the order, ``filled`` unsigned);
    prices in ticks; the queue ahead in units of displayed size (None: unknown, rule 3).
    """

    order_id: int
    kind: str                    # "limit", "market" or "follow"
    side: int                    # +1 buy, -1 sell
    lots: int                    # total amount in lots (unsigned)
    sent: int                    # ns, when the strategy sent it
    effective: int               # ns, sent + latency
    price: int | None = None     # ticks; None until a follow or market order has one
    level: int = -1              # follow orders: ticks behind the best price
    post_only: bool = False
    status: str = "pending"      # pending, live, filled, cancelled, rejected
    reason: str = ""             # cancelled, post_only, no_quote, end
    filled: int = 0              # lots filled so far
    queue: float | None = None   # queue ahead (size units); None: unknown
    priority: int = -1           # order of (re)joining its price: smaller is earlier
    arrived: int | None = None   # ns, when it reached the exchange (live or rejected)
    closed: int | None = None    # ns, when it filled, was cancelled or rejected
    cancel_sent: int | None = None
    decision_bid: float = math.nan   # touch the strategy saw when sending (rule 6)
    decision_ask: float = math.nan
    slippage: float = math.nan

    @property
    def remaining(self) -> int:
        """Lots still to fill."""
        return self.lots - self.filled

    @property
    def working(self) -> bool:
        """Live with something left to fill."""
        return self.status == "live"


@dataclass
class ModelFill:
    """One fill: amount signed (buys positive), fee and realised PnL in the settlement currency."""

    time: int
    order_id: int
    price: float
    amount: float
    lots: int                    # signed whole lots
    fee: float
    liquidity: str               # "maker" or "taker"
    cause: str = ""              # queue (rule 4 at p), through (rule 4), cross (rule 5), taker
    realized: float = 0.0
    position: float = 0.0


@dataclass
class Account:
    """Rule 9 accounting for one contract, fill by fill.

    Parameters
    ----------
    inverse : bool
    contract_size : float
    lot_size : float
    balance : float
        Starting balance in the settlement currency.
    """

    inverse: bool
    contract_size: float
    lot_size: float
    balance: float
    position_lots: int = 0       # signed
    entry: float = 0.0           # 0 when flat
    realized: float = 0.0
    fees: float = 0.0

    @property
    def position(self) -> float:
        """Signed position in contracts."""
        return grid(self.position_lots, self.lot_size)

    def fee(self, lots: int, price: float, rate: float) -> float:
        """Rule 8-9 fee on a fill of ``lots`` (either sign) at ``price``."""
        q = abs(grid(lots, self.lot_size))
        if self.inverse:
            return q * self.contract_size / price * rate
        return q * self.contract_size * price * rate

    def pnl(self, closed_lots: int, entry: float, price: float) -> float:
        """Rule 9: realised PnL of closing ``closed_lots`` (signed like the position) at ``price``."""
        q = grid(closed_lots, self.lot_size)
        if self.inverse:
            return q * self.contract_size * (1.0 / entry - 1.0 / price)
        return q * self.contract_size * (price - entry)

    def book(self, lots: int, price: float, fee: float) -> float:
        """Apply a fill of signed ``lots`` at ``price`` paying ``fee``; return the realised PnL.

        Rule 9: opening or adding moves the entry to the contract-weighted mean (harmonic for
        inverse contracts); reducing realises PnL on the closed part at the old entry; a fill
        through zero closes the position and opens the rest at the fill price.
        """
        q = self.position_lots
        realized = 0.0
        if q == 0 or (q > 0) == (lots > 0):
            a, b = abs(grid(q, self.lot_size)), abs(grid(lots, self.lot_size))
            if q == 0:
                self.entry = price
            elif self.inverse:
                self.entry = (a + b) / (a / self.entry + b / price)
            else:
                self.entry = (a * self.entry + b * price) / (a + b)
            self.position_lots = q + lots
        else:
            closing = min(abs(lots), abs(q))
            sign = 1 if q > 0 else -1
            realized = self.pnl(sign * closing, self.entry, price)
            self.position_lots = q + lots
            if self.position_lots == 0:
                self.entry = 0.0
            elif (self.position_lots > 0) != (q > 0):
                self.entry = price
        self.realized += realized
        self.fees += fee
        self.balance += realized - fee           # rule 9: only realised PnL and fees move it
        return realized


@dataclass
class ModelResult:
    """What :func:`simulate` returns."""

    fills: list = field(default_factory=list)        # ModelFill, in booking order
    orders: dict = field(default_factory=dict)       # order_id -> ModelOrder
    account: Account | None = None
    calls: int = 0                                   # strategy calls made
    unknown_cancels: list = field(default_factory=list)  # (signal index, order_id) that raised


class _Book:
    """The replay state: touch in force, our orders, the account."""

    def __init__(self, contract, queue_position, balance):
        self.c = contract
        self.tick = contract.tick_size
        self.lot = contract.lot_size
        self.qp = queue_position
        self.bid = math.nan          # touch in force (prices as floats, sizes)
        self.ask = math.nan
        self.bid_size = math.nan
        self.ask_size = math.nan
        self.orders: dict[int, ModelOrder] = {}
        self.fills: list[ModelFill] = []
        self.account = Account(contract.inverse, contract.contract_size, contract.lot_size, balance)
        self.joins = 0               # rule 7: counter of (re)joins, the time priority

    # -- helpers ---------------------------------------------------------------------

    def ticks(self, price):
        return to_ticks(price, self.tick)

    def price_of(self, ticks):
        return grid(ticks, self.tick)

    def best(self, side):
        """(ticks of our side's best price, its size) or (None, nan) with no quote."""
        price, size = (self.bid, self.bid_size) if side > 0 else (self.ask, self.ask_size)
        if math.isnan(price):
            return None, math.nan
        return self.ticks(price), size

    def opposite(self, side):
        price = self.ask if side > 0 else self.bid
        return None if math.isnan(price) else self.ticks(price)

    def working(self, side):
        """Our working orders on ``side`` in booking order: price priority, then time priority."""
        orders = [o for o in self.orders.values() if o.working and o.side == side]
        orders.sort(key=lambda o: (-o.side * o.price, o.priority))
        return orders

    def fill(self, o, time, lots, liquidity, cause, price=None):
        """Book a fill of ``lots`` (unsigned) of ``o``, at its own price unless ``price`` is given."""
        if lots <= 0:
            return
        if price is None:
            price = self.price_of(o.price)
        signed = o.side * lots
        rate = self.c.maker_fee if liquidity == "maker" else self.c.taker_fee
        fee = self.account.fee(signed, price, rate)                      # rule 8
        realized = self.account.book(signed, price, fee)                 # rule 9
        self.fills.append(ModelFill(time, o.order_id, price, grid(signed, self.lot), signed, fee,
                                    liquidity, cause, realized, self.account.position))
        o.filled += lots
        if o.remaining == 0:
            o.status, o.closed = "filled", time

    def join(self, o):
        """Rule 3: the queue ahead of ``o`` joining its price (it is not marketable)."""
        self.joins += 1
        o.priority = self.joins
        best, size = self.best(o.side)
        if best is None:
            # DECISION (rule 3 with no quote yet): a limit arriving before the first quote
            # rests with its queue unknown, as below the best; the first quote sets it.
            o.queue = None
        elif best == o.price:
            o.queue = self.qp * size
        elif o.side * (o.price - best) > 0:
            o.queue = 0.0
        else:
            o.queue = None

    # -- TAQ rows ----------------------------------------------------------------------

    def row(self, time, price, amount, bid, bid_size, ask, ask_size):
        """One TAQ row: its quote, then its trade (rule 2)."""
        self.bid, self.bid_size, self.ask, self.ask_size = bid, bid_size, ask, ask_size
        buys, sells = self.quote(1), self.quote(-1)
        # Rule 5: orders the new quote crossed fill completely as makers at their prices,
        # each side in price then time priority. DECISION: both sides can cross on one row
        # only after orders rested through a time without quotes; the two sides are then
        # merged in time priority (the earlier (re)joined order first).
        while buys or sells:
            if not sells or (buys and buys[0].priority < sells[0].priority):
                o = buys.pop(0)
            else:
                o = sells.pop(0)
            self.fill(o, time, o.remaining, "maker", "cross")
        if amount != 0 and not math.isnan(price):
            self.trade(time, price, amount)

    def quote(self, side):
        """Rules 3, 5 and 7 for our orders on ``side`` after a new quote.

        Moves follow orders, updates queues and returns the orders the quote crossed, in
        booking order (price, then time priority); the caller fills them.
        """
        best, size = self.best(side)
        if best is None:
            return []
        # Rule 7: follow orders move to their new target and rejoin the back there. Orders
        # re-pegged by one quote rejoin in sending order (DECISION: the notes give no order
        # among simultaneous re-pegs; sending order is the exchange's arrival order).
        for o in sorted(self.working(side), key=lambda o: o.order_id):
            if o.kind == "follow":
                target = best - side * o.level
                if target != o.price:
                    o.price = target
                    self.join(o)
        opposite = self.opposite(side)
        crossed = []
        for o in self.working(side):              # booking order: price, then time priority
            if opposite is not None and side * (o.price - opposite) >= 0:
                # Rule 5: the opposite best reached our price.
                crossed.append(o)
            elif side * (o.price - best) > 0:
                # Rule 5: our side's best moved behind us (or we are a new level): front.
                # DECISION: this also settles an unknown queue (rule 3): with the best behind
                # our price there is nobody displayed ahead of us.
                o.queue = 0.0
            elif o.price == best:
                if o.queue is None:
                    o.queue = self.qp * size          # rule 3: the best reached p
                else:
                    o.queue = min(o.queue, size)      # rule 5 (RiskAverse)
        return crossed

    def trade(self, time, price, amount):
        """Rule 4: a print of ``amount`` at ``price`` against our orders on the other side."""
        side = -1 if amount > 0 else 1            # buyer-initiated prints lift our asks
        volume = abs(amount)
        x = price / self.tick                     # VWAP prints may lie off the grid
        taken = 0.0                               # what our orders at x took from the print
        for o in self.working(side):              # price priority, then time priority
            gap = side * (o.price - x)            # > 0: the print went through our price
            if gap > PRICE_TOLERANCE:
                self.fill(o, time, o.remaining, "maker", "through")
            elif abs(gap) <= PRICE_TOLERANCE and o.queue is not None:
                avail = volume - taken            # earlier orders' take is not ours to queue
                excess = avail - o.queue
                o.queue = max(o.queue - avail, 0.0)
                if excess > 0:
                    lots = min(o.remaining, math.floor(excess / self.lot + LOT_TOLERANCE))
                    self.fill(o, time, lots, "maker", "queue")
                    taken += grid(lots, self.lot)

    # -- actions -------------------------------------------------------------------------

    def arrive(self, o, time):
        """An add reaching the exchange at ``time`` (rules 3, 6, 7)."""
        if o.status != "pending":                 # cancelled before it arrived (rule 2)
            return
        o.arrived = time
        opposite = self.opposite(o.side)
        if o.kind == "market":
            if opposite is None:                  # rule 6: no quote, rejected
                o.status, o.reason, o.closed = "rejected", "no_quote", time
                return
            o.status = "live"
            o.price = opposite
            fill_price = self.ask if o.side > 0 else self.bid   # the touch in force
            reference = o.decision_ask if o.side > 0 else o.decision_bid
            o.slippage = o.side * (fill_price - reference)  # rule 6: worse is positive
            self.fill(o, time, o.remaining, "taker", "taker", fill_price)
            return
        if o.kind == "follow":
            best, _ = self.best(o.side)
            if best is None:
                # DECISION (rule 7): a peg needs a best price; without one it is rejected
                # like a market order (no_quote).
                o.status, o.reason, o.closed = "rejected", "no_quote", time
                return
            o.price = best - o.side * o.level
        if opposite is not None and o.side * (o.price - opposite) >= 0:
            if o.post_only:                       # rule 3: post-only never takes
                o.status, o.reason, o.closed = "rejected", "post_only", time
                return
            o.status = "live"
            self.fill(o, time, o.remaining, "taker", "taker", self.ask if o.side > 0 else self.bid)
            return
        o.status = "live"
        self.join(o)

    def cancel(self, o, time):
        """A cancel taking effect at ``time`` (rule 2): fills before it stand."""
        if o.status in ("pending", "live"):
            o.status, o.reason, o.closed = "cancelled", "cancelled", time


def _ns(seconds: float) -> int:
    return int(round(seconds * 1e9))


def simulate(taq: pd.DataFrame, signal_times, script, contract, *, latency: float = 0.5,
             cancel_latency: float | None = None, queue_position: float = 1.0,
             balance: float = 1.0) -> ModelResult:
    """Replay ``taq`` with a scripted strategy and return its fills, orders and account.

    Parameters
    ----------
    taq : pandas.DataFrame
        TAQ frame (``time`` index, ``price, amount, bid_price, bid_amount, ask_price,
        ask_amount``).
    signal_times : pandas.DatetimeIndex
        Times of the strategy calls (non-decreasing).
    script : sequence of sequences of tuple
        ``script[k]`` is the list of actions sent at the k-th call (see the module notes).
    contract : mmsim.Contract
        Read for ``inverse, tick_size, lot_size, contract_size, maker_fee, taker_fee``.
    latency, cancel_latency : float
        Seconds from sending an add (a cancel) to its effect; ``cancel_latency`` defaults
        to ``latency`` (rule 2).
    queue_position : float
        Share of the displayed size ahead of an order joining the best price (rule 3).
    balance : float
        Starting balance in the settlement currency.

    Returns
    -------
    ModelResult
    """
    book = _Book(contract, queue_position, balance)
    lat = _ns(latency)
    clat = lat if cancel_latency is None else _ns(cancel_latency)
    times = pd.DatetimeIndex(taq.index).as_unit("ns").asi8
    cols = [taq[c].to_numpy(dtype=float) for c in
            ("price", "amount", "bid_price", "bid_amount", "ask_price", "ask_amount")]
    calls = pd.DatetimeIndex(signal_times).as_unit("ns").asi8
    end = times[-1]
    # Signals after the last row are not called: there is no market left to act on.
    calls = [t for t in calls if t <= end]
    result = ModelResult(orders=book.orders, account=book.account)

    pending = []                 # (effective time, sequence, kind, order)
    seq = 0
    i = k = 0
    next_id = 1
    while True:
        # Rule 2: at one timestamp, TAQ rows first, then actions in sending order, then the call.
        t_row = times[i] if i < len(times) else None
        t_act = min(pending)[0] if pending else None
        t_call = calls[k] if k < len(calls) else None
        due = [t for t in (t_row, t_act, t_call) if t is not None]
        now = min(due) if due else None
        if now is None or now > end:
            # DECISION: the replay ends with the data; actions due after the last row never
            # take effect (orders stay pending or live, reason "end").
            break
        if t_row == now:
            book.row(now, *(c[i] for c in cols))
            i += 1
            continue
        if t_act == now:
            pending.sort()
            _, _, what, o = pending.pop(0)
            if what == "add":
                book.arrive(o, now)
            else:
                book.cancel(o, now)
            continue
        # Rule 1: the strategy's actions are stamped with the call's time.
        for action in (script[k] if k < len(script) else ()):
            kind = action[0]
            if kind == "cancel":
                oid = action[1]
                if oid not in book.orders:
                    result.unknown_cancels.append((k, oid))   # the engine raises ValueError
                    continue
                book.orders[oid].cancel_sent = now
                seq += 1
                pending.append((now + clat, seq, "cancel", book.orders[oid]))
                continue
            if kind == "limit":
                _, price, amount, post_only = action
                o = ModelOrder(next_id, "limit", 1 if amount > 0 else -1,
                               int(round(abs(amount) / book.lot)), now, now + lat,
                               price=book.ticks(price), post_only=bool(post_only))
            elif kind == "market":
                amount = action[1]
                o = ModelOrder(next_id, "market", 1 if amount > 0 else -1,
                               int(round(abs(amount) / book.lot)), now, now + lat)
            elif kind == "follow":
                _, level, amount = action
                o = ModelOrder(next_id, "follow", 1 if amount > 0 else -1,
                               int(round(abs(amount) / book.lot)), now, now + lat, level=int(level))
            else:
                raise ValueError(f"unknown action {action!r}")
            o.decision_bid, o.decision_ask = book.bid, book.ask
            book.orders[next_id] = o
            next_id += 1
            seq += 1
            pending.append((o.effective, seq, "add", o))
        result.calls += 1
        k += 1

    for o in book.orders.values():
        if o.status in ("pending", "live"):
            o.reason = "end"
    result.fills = book.fills
    return result
