"""A slow, plain-Python reference model of the fill semantics (DESIGN.md rules 1-9, "Queue
models", "Fill bounds", "Amend, time in force, reduce-only" and the latency rule of "Latency
models").

The model is written from the design notes alone and shares nothing with the engine: it keeps
orders in dicts, walks the book with loops and recomputes everything on each event. The
property tests run it beside :func:`mmsim.backtest` and compare the two fill by fill.

Inputs are those of a backtest whose strategy replays a script: a TAQ frame, signal times,
one list of actions per signal time, the contract, latencies, ``queue_position``, the queue
model and the fill bound. Actions are tuples:

- ``("limit", price, amount, post_only[, tif[, reduce_only]])``, ``tif`` one of ``"gtc"``
  (the default), ``"ioc"``, ``"fok"``; ``reduce_only`` defaults to False
- ``("market", amount[, reduce_only])``
- ``("follow", level, amount)``
- ``("amend", order_id, price_or_None, amount_or_None)``
- ``("cancel", order_id)``

Prices are on the tick grid and amounts on the lot grid (the model checks neither: hostile
inputs are tested elsewhere). Order ids are given in sending order from 1, as the engine does;
cancelling an id never issued raises ``ValueError`` in the engine, and the model records it
(amends of such ids likewise, in their own list).

Decisions where the notes leave a case open are marked ``DECISION`` below.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["ModelOrder", "ModelFill", "ModelResult", "Account", "simulate", "grid", "to_ticks",
           "queue_step", "front_share"]

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


def whole_lots(amount: float, lot: float) -> int:
    """Whole lots in ``amount`` (>= 0), up to :data:`LOT_TOLERANCE` (rule 4: fills in whole lots).

    Parameters
    ----------
    amount : float
        A size in contracts; NaN counts as 0 (no displayed size).
    lot : float

    Returns
    -------
    int
    """
    if math.isnan(amount) or amount <= 0:
        return 0
    return math.floor(amount / lot + LOT_TOLERANCE)


# -- queue models ("Queue models") -----------------------------------------------------------

def front_share(queue_model, ahead: float, behind: float) -> float:
    """Share ``s`` of an unexplained decrease taken from in front of the order.

    DESIGN "Queue models": ``s = f(A) / (f(A) + f(B))``, 1 when both are 0;
    ``("power", n)``: ``f(x) = x ** n``; ``"log"``: ``f(x) = ln(1 + x)``; a callable is the
    user's ``front_share(A, B) -> s`` and is called as is. ``"risk_averse"``: ``s = 0``.

    Parameters
    ----------
    queue_model : str, tuple or callable
        ``"risk_averse"``, ``("power", n)``, ``"log"`` or ``front_share(A, B) -> s``.
    ahead : float
        A, the queue ahead of the order.
    behind : float
        B, the displayed volume behind it.

    Returns
    -------
    float
    """
    if callable(queue_model):
        # DECISION: the user's function gives s for every (A, B), both-zero included (with
        # chg > 0, B = 0 and A = 0 cannot happen together: S_prev > 0).
        return float(queue_model(ahead, behind))
    if queue_model == "risk_averse":
        return 0.0
    if queue_model == "log":
        fa, fb = math.log(1.0 + ahead), math.log(1.0 + behind)
    else:
        n = queue_model[1]
        fa, fb = ahead ** n, behind ** n
    if fa + fb == 0:
        return 1.0
    return fa / (fa + fb)


def queue_step(queue_model, ahead: float, size_prev: float | None, size_new: float,
               printed: float) -> float:
    """One row's move of the queue ahead A of an order at the best price (DESIGN "Queue models").

    Parameters
    ----------
    queue_model : str, tuple or callable
        See :func:`front_share`.
    ahead : float
        A before the row (prints since the previous row already took their part of it).
    size_prev : float or None
        S_prev, the displayed size at the order's price on the previous row; None when that
        price was not the best on its side there (unknown).
    size_new : float
        S_new, the displayed size on this row.
    printed : float
        T, the volume printed at the price on the order's side since the previous row.

    Returns
    -------
    float
        The new A.
    """
    if size_prev is None:
        return min(ahead, size_new)               # S_prev unknown: A = min(A, S_new)
    change = size_prev - size_new - printed       # the decrease prints do not explain
    if change <= 0 or queue_model == "risk_averse":
        # chg <= 0: new orders joined behind us. RiskAverse (s = 0) reduces exactly to this
        # for every chg (DESIGN: "s = 0, i.e. only A = min(A, S_new)").
        return min(ahead, size_new)
    # DECISION (literal): B = max(S_prev - A, 0) with the A left after this interval's prints,
    # as the notes write it. With a print T since the previous row this counts T as volume
    # behind us (the volume behind is really S_prev - T - A); the notes' formula is kept.
    behind = max(size_prev - ahead, 0.0)
    s = front_share(queue_model, ahead, behind)
    # What the decrease takes beyond the volume behind us comes from the front.
    new = ahead - s * change + min(behind - (1.0 - s) * change, 0.0)
    return min(max(new, 0.0), size_new)


def _check_queue_model(queue_model):
    if callable(queue_model) or queue_model in ("risk_averse", "log"):
        return
    if (isinstance(queue_model, tuple) and len(queue_model) == 2 and queue_model[0] == "power"
            and isinstance(queue_model[1], (int, float)) and queue_model[1] >= 0):
        return
    raise ValueError(f"queue_model must be 'risk_averse', ('power', n), 'log' or a callable, "
                     f"not {queue_model!r}")


@dataclass
class ModelOrder:
    """One order as the model tracks it.

    Amounts are held in whole lots (``lots`` the current total, unsigned, after amends;
    ``filled`` unsigned); prices in ticks; the queue ahead in units of displayed size (None:
    unknown, rule 3).
    """

    order_id: int
    kind: str                    # "limit", "market" or "follow"
    side: int                    # +1 buy, -1 sell
    lots: int                    # total amount in lots (unsigned); an amend may change it
    sent: int                    # ns, when the strategy sent it
    effective: int               # ns, sent + latency
    price: int | None = None     # ticks; None until a follow or market order has one
    level: int = -1              # follow orders: ticks behind the best price
    post_only: bool = False
    tif: str = "gtc"             # limits: "gtc", "ioc" or "fok"
    reduce_only: bool = False
    status: str = "pending"      # pending, live, filled, cancelled, rejected
    reason: str = ""             # cancelled, post_only, no_quote, end, amended, ioc, fok,
                                 # reduce_only
    filled: int = 0              # lots filled so far
    queue: float | None = None   # queue ahead (size units); None: unknown
    priority: int = -1           # order of (re)joining its price: smaller is earlier
    arrived: int | None = None   # ns, when it reached the exchange (live or rejected)
    closed: int | None = None    # ns, when it filled, was cancelled or rejected
    cancel_sent: int | None = None
    amends: int = 0              # amends that reached it after it arrived (closed ones too)
    rejected_actions: int = 0    # cancels and amends that arrived before it: unknown there
    cancelling: bool = False     # a cancel is on its way
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
    """One fill: amount signed (buys positive), fee and realised PnL in the settlement currency.

    ``cause`` (DESIGN "Fill bounds"): ``"queue"`` a print at the order's price after the queue
    ahead (rule 4), ``"through"`` a print through its price (rule 4), ``"cross"`` the opposite
    quote reached its price (rule 5), ``"taker"`` it took liquidity (rules 3, 6, IOC/FOK).
    """

    time: int
    order_id: int
    price: float
    amount: float
    lots: int                    # signed whole lots
    fee: float
    liquidity: str               # "maker" or "taker"
    cause: str = ""              # queue, through, cross, taker
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
    unknown_amends: list = field(default_factory=list)   # the same for amends


class _Book:
    """The replay state: touch in force, our orders, the account."""

    def __init__(self, contract, queue_position, balance, queue_model, fill_bound):
        self.c = contract
        self.tick = contract.tick_size
        self.lot = contract.lot_size
        self.qp = queue_position
        self.queue_model = queue_model
        self.fill_bound = fill_bound
        self.bid = math.nan          # touch in force (prices as floats, sizes)
        self.ask = math.nan
        self.bid_size = math.nan
        self.ask_size = math.nan
        self.last_print = None       # (price, amount) of the previous row's trade, if any
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

    def touch(self, side):
        """(price, displayed size) of the best opposite level: what a ``side`` order takes."""
        return (self.ask, self.ask_size) if side > 0 else (self.bid, self.bid_size)

    def marketable(self, o):
        """Rule 3: a buy at p >= best ask (a sell at p <= best bid) takes liquidity."""
        opposite = self.opposite(o.side)
        return opposite is not None and o.side * (o.price - opposite) >= 0

    def working(self, side):
        """Our working orders on ``side`` in booking order: price priority, then time priority."""
        orders = [o for o in self.orders.values() if o.working and o.side == side]
        orders.sort(key=lambda o: (-o.side * o.price, o.priority))
        return orders

    def close(self, o, time, status, reason):
        o.status, o.reason, o.closed = status, reason, time

    def fill(self, o, time, lots, liquidity, cause, price=None):
        """Book a fill of ``lots`` (unsigned) of ``o``, at its own price unless ``price`` is given.

        Returns the lots actually filled: a reduce-only order is cut to the position.
        """
        if lots <= 0:
            return 0
        cut = False
        if o.reduce_only:
            # "reduce_only": a fill never increases |position|; it is cut to the position at
            # fill time and the rest of the order is cancelled; with nothing to reduce (flat,
            # or a position on the order's own side) the order is cancelled.
            # DECISION: this is checked only when a fill comes (the notes speak of fill time):
            # a reduce-only order may go live and rest while flat, and one whose fill exactly
            # flattens the position keeps working until its next fill finds nothing to reduce.
            q = self.account.position_lots
            reducible = abs(q) if q * o.side < 0 else 0
            if reducible == 0:
                self.close(o, time, "cancelled", "reduce_only")
                return 0
            if lots > reducible:
                lots, cut = reducible, True
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
            self.close(o, time, "filled", "")
        elif cut:
            self.close(o, time, "cancelled", "reduce_only")
        return lots

    def take(self, o, time):
        """Rule 3: a GTC limit at a marketable price fills completely at the touch as taker."""
        self.fill(o, time, o.remaining, "taker", "taker", self.touch(o.side)[0])

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

    def printed(self, side, price):
        """T: volume printed at ``price`` (ticks) against ``side`` since the previous row.

        Only the previous row's trade can have printed since then. Seller-initiated prints
        (amount < 0) hit bids (side +1); buyer-initiated ones lift asks (side -1).
        """
        if self.last_print is None:
            return 0.0
        x, amount = self.last_print
        hits = 1 if amount < 0 else -1
        if hits != side or abs(x / self.tick - price) > PRICE_TOLERANCE:
            return 0.0
        return abs(amount)

    def row(self, time, price, amount, bid, bid_size, ask, ask_size):
        """One TAQ row: its quote, then its trade (rule 2)."""
        previous = {1: self.best(1), -1: self.best(-1)}      # the previous row's quote
        self.bid, self.bid_size, self.ask, self.ask_size = bid, bid_size, ask, ask_size
        buys, sells = self.quote(1, *previous[1]), self.quote(-1, *previous[-1])
        self.last_print = None                    # "T then resets to 0"
        # Rule 5: orders the new quote crossed fill completely as makers at their prices,
        # each side in price then time priority. DECISION: both sides can cross on one row
        # only after orders rested through a time without quotes; the two sides are then
        # merged in time priority (the earlier (re)joined order first).
        # With fill_bound="prints" quote() already set their queue to 0 and returns none.
        while buys or sells:
            if not sells or (buys and buys[0].priority < sells[0].priority):
                o = buys.pop(0)
            else:
                o = sells.pop(0)
            self.fill(o, time, o.remaining, "maker", "cross")
        if amount != 0 and not math.isnan(price):
            self.trade(time, price, amount)
            self.last_print = (price, amount)

    def quote(self, side, prev_best, prev_size):
        """Rules 3, 5 and 7 and the queue model for our orders on ``side`` after a new quote.

        Moves follow orders, updates queues and returns the orders the quote crossed, in
        booking order (price, then time priority); the caller fills them
        (``fill_bound="none"``).
        """
        best, size = self.best(side)
        if best is None:
            return []
        # Rule 7: follow orders move to their new target and rejoin the back there. Orders
        # re-pegged by one quote rejoin in sending order (DECISION: the notes give no order
        # among simultaneous re-pegs; sending order is the exchange's arrival order).
        rejoined = set()
        for o in sorted(self.working(side), key=lambda o: o.order_id):
            if o.kind == "follow":
                target = best - side * o.level
                if target != o.price:
                    o.price = target
                    self.join(o)
                    rejoined.add(o.order_id)
        opposite = self.opposite(side)
        crossed = []
        for o in self.working(side):              # booking order: price, then time priority
            if opposite is not None and side * (o.price - opposite) >= 0:
                # Rule 5: the opposite best reached our price.
                if self.fill_bound == "prints":
                    o.queue = 0.0                 # "Fill bounds": A = 0, no fill until a print
                else:
                    crossed.append(o)
            elif side * (o.price - best) > 0:
                # Rule 5: our side's best moved behind us (or we are a new level): front.
                # DECISION: this also settles an unknown queue (rule 3): with the best behind
                # our price there is nobody displayed ahead of us.
                o.queue = 0.0
            elif o.price == best:
                if o.queue is None:
                    o.queue = self.qp * size          # rule 3: the best reached p
                elif o.order_id not in rejoined:      # a re-peg just set it from this quote
                    # "Queue models": S_prev is known only if p was the best at the previous row.
                    known = prev_best == o.price
                    o.queue = queue_step(self.queue_model, o.queue, prev_size if known else None,
                                         size, self.printed(side, o.price))
        return crossed

    def trade(self, time, price, amount):
        """Rule 4 and "Fill bounds": a print of ``amount`` at ``price`` against our orders."""
        side = -1 if amount > 0 else 1            # buyer-initiated prints lift our asks
        volume = abs(amount)
        x = price / self.tick                     # VWAP prints may lie off the grid
        bounded = self.fill_bound == "prints"
        # What our orders took from the print. Rule 4: what earlier orders at x took is not
        # also taken off a later order's queue. With fill_bound="prints" the through fills
        # count too: the print fills at most its volume across all our orders on the side.
        taken = 0.0
        for o in self.working(side):              # price priority, then time priority
            gap = side * (o.price - x)            # > 0: the print went through our price
            if gap > PRICE_TOLERANCE:
                if bounded:
                    lots = min(o.remaining, whole_lots(volume - taken, self.lot))
                    taken += grid(self.fill(o, time, lots, "maker", "through"), self.lot)
                    if o.working:
                        # DECISION: a print through p emptied the level at p, so nobody
                        # displayed is ahead of an order the print left working there
                        # (A = 0, also when its queue was unknown).
                        o.queue = 0.0
                else:
                    self.fill(o, time, o.remaining, "maker", "through")
            elif abs(gap) <= PRICE_TOLERANCE and o.queue is not None:
                avail = volume - taken
                excess = avail - o.queue
                o.queue = max(o.queue - avail, 0.0)
                if excess > 0:
                    lots = min(o.remaining, math.floor(excess / self.lot + LOT_TOLERANCE))
                    taken += grid(self.fill(o, time, lots, "maker", "queue"), self.lot)

    # -- actions -------------------------------------------------------------------------

    def arrive(self, o, time):
        """An add reaching the exchange at ``time`` (rules 3, 6, 7; IOC/FOK)."""
        o.arrived = time
        opposite = self.opposite(o.side)
        if o.kind == "market":
            if opposite is None:                  # rule 6: no quote, rejected
                self.close(o, time, "rejected", "no_quote")
                return
            o.status = "live"
            o.price = opposite
            fill_price = self.touch(o.side)[0]    # the touch in force
            reference = o.decision_ask if o.side > 0 else o.decision_bid
            o.slippage = o.side * (fill_price - reference)  # rule 6: worse is positive
            self.fill(o, time, o.remaining, "taker", "taker", fill_price)
            return
        if o.kind == "follow":
            best, _ = self.best(o.side)
            if best is None:
                # DECISION (rule 7): a peg needs a best price; without one it is rejected
                # like a market order (no_quote).
                self.close(o, time, "rejected", "no_quote")
                return
            o.price = best - o.side * o.level
        if o.tif in ("ioc", "fok"):
            self.arrive_immediate(o, time)
            return
        if self.marketable(o):
            if o.post_only:                       # rule 3: post-only never takes
                self.close(o, time, "rejected", "post_only")
                return
            o.status = "live"
            self.take(o, time)
            return
        o.status = "live"
        self.join(o)

    def arrive_immediate(self, o, time):
        """An IOC or FOK limit going live ("Amend, time in force, reduce-only")."""
        if not self.marketable(o):
            # "A non-marketable IOC/FOK is cancelled at once (reason ioc/fok)". DECISION: with
            # no opposite quote it is not marketable, so it is cancelled the same way.
            self.close(o, time, "cancelled", o.tif)
            return
        if o.post_only:
            # DECISION: post-only wins over IOC/FOK: a marketable post-only order is rejected
            # (rule 3) before the time in force is looked at.
            self.close(o, time, "rejected", "post_only")
            return
        price, size = self.touch(o.side)
        shown = whole_lots(size, self.lot)        # at most the displayed opposite size
        if o.tif == "fok" and shown < o.remaining:
            self.close(o, time, "rejected", "fok")        # FOK: all of it or nothing
            return
        o.status = "live"
        # DECISION: a reduce-only FOK checks the displayed size against its whole remaining
        # amount; the reduce-only cut then applies to the fill like to any other.
        self.fill(o, time, min(o.remaining, shown), "taker", "taker", price)
        if o.working:                             # IOC: the rest is cancelled
            self.close(o, time, "cancelled", "ioc")

    def cancel(self, o, time):
        """A cancel taking effect at ``time`` (rule 2): fills before it stand.

        "Latency models": a cancel that arrives before its order is live is rejected as
        unknown (counted in ``rejected_actions``); the order goes live when its add arrives.
        A cancel of a closed order does nothing.
        """
        o.cancelling = False
        if o.status == "pending":
            o.rejected_actions += 1
        elif o.status == "live":
            self.close(o, time, "cancelled", "cancelled")

    def amend(self, o, time, price, amount):
        """An amend taking effect at ``time`` ("Amend, time in force, reduce-only").

        ``price`` in ticks and ``amount`` in lots (unsigned), each None when unchanged.
        """
        if o.status == "pending":
            o.rejected_actions += 1               # "Latency models": unknown there, rejected
            return
        o.amends += 1                             # "the orders table counts amends"
        if not o.working:
            return                                # an amend of a closed order does nothing
        if o.kind == "follow":
            # DECISION: "Follow orders are not amended by price (their level is their price)":
            # the price of an amend to a follow order is ignored; its amount still applies.
            price = None
        new_lots = o.lots if amount is None else amount
        new_price = o.price if price is None else price
        if new_lots <= o.filled:
            # At or below what has filled: the order closes. DECISION: its ``lots`` stay as
            # they were (it was cancelled, not resized).
            self.close(o, time, "cancelled", "amended")
            return
        moved, larger = new_price != o.price, new_lots > o.lots
        o.lots = new_lots
        if not (moved or larger):
            # Same price and a smaller amount: the order keeps its place. DECISION: an equal
            # amount, or an amend with neither price nor amount, changes nothing and keeps the
            # place too (it is still counted above).
            return
        o.price = new_price
        # A new price or a larger amount: the order rejoins by rule 3 at its (new) price,
        # or takes liquidity if the new price crosses the opposite best. DECISION: "behind
        # everyone" is rule 3's join: queue_position x the displayed size at the best (1.0 is
        # the back), and a new time priority, behind our own orders at that price (rule 7).
        if self.marketable(o):
            if o.post_only:
                # DECISION: a post-only amend that would take closes the order like a
                # post-only add (status rejected, reason post_only); fills before it stand.
                self.close(o, time, "rejected", "post_only")
                return
            self.take(o, time)
            return
        self.join(o)


def _ns(seconds: float) -> int:
    return int(round(seconds * 1e9))


def simulate(taq: pd.DataFrame, signal_times, script, contract, *, latency: float = 0.5,
             cancel_latency: float | None = None, amend_latency: float | None = None,
             queue_position: float = 1.0, balance: float = 1.0, queue_model="risk_averse",
             fill_bound: str = "none") -> ModelResult:
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
    latency, cancel_latency, amend_latency : float
        Seconds from sending an add (a cancel, an amend) to its effect; ``cancel_latency``
        defaults to ``latency`` (rule 2) and ``amend_latency`` to ``cancel_latency``.
    queue_position : float
        Share of the displayed size ahead of an order joining the best price (rule 3).
    balance : float
        Starting balance in the settlement currency.
    queue_model : str, tuple or callable
        ``"risk_averse"`` (rule 5), ``("power", n)``, ``"log"`` or a Python
        ``front_share(A, B) -> s`` (DESIGN "Queue models").
    fill_bound : {"none", "prints"}
        DESIGN "Fill bounds": ``"none"`` fills by rules 4-5 as written; ``"prints"`` covers
        every maker fill by printed volume.

    Returns
    -------
    ModelResult
    """
    _check_queue_model(queue_model)
    if fill_bound not in ("none", "prints"):
        raise ValueError(f"fill_bound must be 'none' or 'prints', not {fill_bound!r}")
    book = _Book(contract, queue_position, balance, queue_model, fill_bound)
    lat = _ns(latency)
    clat = lat if cancel_latency is None else _ns(cancel_latency)
    alat = clat if amend_latency is None else _ns(amend_latency)
    times = pd.DatetimeIndex(taq.index).as_unit("ns").asi8
    cols = [taq[c].to_numpy(dtype=float) for c in
            ("price", "amount", "bid_price", "bid_amount", "ask_price", "ask_amount")]
    calls = pd.DatetimeIndex(signal_times).as_unit("ns").asi8
    end = times[-1]
    # Signals after the last row are not called: there is no market left to act on.
    calls = [t for t in calls if t <= end]
    result = ModelResult(orders=book.orders, account=book.account)

    def lots_of(amount):
        return int(round(abs(amount) / book.lot))

    pending = []                 # (effective time, sequence, kind, order, arguments)
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
            # "Latency models": equal times apply in sending order (the sequence number).
            pending.sort(key=lambda p: (p[0], p[1]))
            _, _, what, o, args = pending.pop(0)
            if what == "add":
                book.arrive(o, now)
            elif what == "cancel":
                book.cancel(o, now)
            else:
                book.amend(o, now, *args)
            continue
        # Rule 1: the strategy's actions are stamped with the call's time.
        for action in (script[k] if k < len(script) else ()):
            kind = action[0]
            if kind in ("cancel", "amend"):
                oid = action[1]
                if oid not in book.orders:
                    # The engine raises ValueError for an id it never issued. DECISION: an
                    # amend of such an id is recorded like a cancel, in its own list.
                    (result.unknown_cancels if kind == "cancel" else
                     result.unknown_amends).append((k, oid))
                    continue
                seq += 1
                if kind == "cancel":
                    o = book.orders[oid]
                    if o.cancel_sent is None:
                        o.cancel_sent = now               # the first request is recorded
                    # DECISION (the README's ctx.cancel): one cancel on its way per order;
                    # another sent meanwhile, or one for a closed order, does nothing.
                    if o.cancelling or o.status not in ("pending", "live"):
                        continue
                    o.cancelling = True
                    pending.append((now + clat, seq, "cancel", o, ()))
                else:
                    _, _, price, amount = action
                    args = (None if price is None else book.ticks(price),
                            None if amount is None else lots_of(amount))
                    # DECISION: an amend's amount is taken as a magnitude; the side of an
                    # order never changes (its sign is ignored).
                    pending.append((now + alat, seq, "amend", book.orders[oid], args))
                continue
            if kind == "limit":
                _, price, amount, post_only = action[:4]
                tif = action[4] if len(action) > 4 else "gtc"
                if tif not in ("gtc", "ioc", "fok"):
                    raise ValueError(f"tif must be 'gtc', 'ioc' or 'fok', not {tif!r}")
                o = ModelOrder(next_id, "limit", 1 if amount > 0 else -1, lots_of(amount), now,
                               now + lat, price=book.ticks(price), post_only=bool(post_only),
                               tif=tif, reduce_only=bool(action[5]) if len(action) > 5 else False)
            elif kind == "market":
                amount = action[1]
                o = ModelOrder(next_id, "market", 1 if amount > 0 else -1, lots_of(amount), now,
                               now + lat, reduce_only=bool(action[2]) if len(action) > 2 else False)
            elif kind == "follow":
                _, level, amount = action
                o = ModelOrder(next_id, "follow", 1 if amount > 0 else -1, lots_of(amount), now,
                               now + lat, level=int(level))
            else:
                raise ValueError(f"unknown action {action!r}")
            o.decision_bid, o.decision_ask = book.bid, book.ask
            book.orders[next_id] = o
            next_id += 1
            seq += 1
            pending.append((o.effective, seq, "add", o, ()))
        result.calls += 1
        k += 1

    for o in book.orders.values():
        if o.status in ("pending", "live"):
            o.reason = "end"
    result.fills = book.fills
    return result
