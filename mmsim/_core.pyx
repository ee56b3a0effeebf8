# The event loop of the simulator: replays TAQ rows, applies the strategy's actions after
# their latency, models the queue ahead of each order and fills it (DESIGN.md, "Fill
# semantics", rules 1-11). Everything in the loop is C: records are structs in NumPy-owned
# buffers, and the GIL is taken only to grow a buffer or to call the strategy.
cimport cython
cimport numpy as cnp
import numbers

import numpy as np

from libc.math cimport NAN, fabs, floor, isfinite, isnan
from libc.stdint cimport INT64_MAX, INT64_MIN, int8_t, int64_t
from libc.stdlib cimport qsort
from libc.string cimport memcpy, memset

cnp.import_array()

cdef extern from *:
    """
    #ifndef MMSIM_DEBUG
    #define MMSIM_DEBUG 0
    #endif
    """
    int MMSIM_DEBUG

#: "debug" when built with MMSIM_DEBUG=1 (bounds, wraparound and initialisation checks on).
BUILD = "debug" if MMSIM_DEBUG else "release"

# Public codes, mirrored from the C enums in _core.pxd.
LIMIT = T_LIMIT
MARKET = T_MARKET
FOLLOW_LIMIT = T_FOLLOW
PENDING = S_PENDING
LIVE = S_LIVE
FILLED = S_FILLED
CANCELLED = S_CANCELLED
REJECTED = S_REJECTED
TYPE_NAMES = ("limit", "market", "follow_limit")
STATUS_NAMES = ("pending", "live", "filled", "cancelled", "rejected")
REASON_NAMES = ("", "cancelled", "post_only", "no_quote", "end", "level")
LIQUIDITY_NAMES = ("maker", "taker")

cdef int64_t NO_TIME = INT64_MIN
# Prices and amounts are compared on their grids with this tolerance, in grid units, so that
# 61804.7 / 0.1 = 618047.0000000001 is on the grid and a VWAP print 1e-3 ticks away is not.
cdef double GRID_EPS = 1e-6
# Prices and amounts enter the engine as whole ticks and lots held in int64 and float64; up to
# 2**53 units both are exact, so every value is range-checked against it where it enters.
cdef double MAX_UNITS = 9007199254740992.0


cdef inline int64_t to_grid(double x, double inv_step) noexcept nogil:
    # Prices are positive, so truncating x + 0.5 rounds to the nearest grid point without
    # a libm call in the per-row path.
    return <int64_t>(x * inv_step + 0.5)


cdef int by_priority(const void* a, const void* b) noexcept nogil:
    # qsort order of Order* on one side: price priority (rule 4: a sell print reaches the
    # highest bids first), then time priority, the moment each (re)joined its price (rule 7).
    cdef Order* x = (<Order**>a)[0]
    cdef Order* y = (<Order**>b)[0]
    cdef int64_t kx = -x.price_tick * x.side, ky = -y.price_tick * y.side
    if kx != ky:
        return (kx > ky) - (kx < ky)
    return (x.prio > y.prio) - (x.prio < y.prio)


cdef inline double snap(double x, double step, double inv_step) noexcept nogil:
    # Amounts live on the lot grid; snapping keeps sums of lots exact, so a closed
    # position is exactly 0 and an order filled lot by lot is exactly complete. Dividing by
    # 1/step gives the double nearest the grid value (9 / 1000.0 == 0.009; 9 * 0.001 is not).
    return floor(x * inv_step + 0.5) / inv_step


cdef inline double grid_price(int64_t ticks, double inv_tick) noexcept nogil:
    # A whole number of ticks as a price: dividing by 1/tick (10.0 for 0.1) gives the double
    # nearest the grid value, as the data holds it (1001 / 10.0 == 100.1, 1001 * 0.1 is not).
    return ticks / inv_tick


# ---------------------------------------------------------------------------------------
# Record layouts as NumPy dtypes, read off the C structs themselves (field names, offsets
# and padding as the compiler laid them out), so Python and C can never disagree.

cdef Order _o
cdef Fill _f
cdef Action _a
cdef BalanceRow _b
cdef PositionRow _p

ORDER_DTYPE = np.asarray(<Order[:1]> &_o).dtype
FILL_DTYPE = np.asarray(<Fill[:1]> &_f).dtype
ACTION_DTYPE = np.asarray(<Action[:1]> &_a).dtype
BALANCE_DTYPE = np.asarray(<BalanceRow[:1]> &_b).dtype
POSITION_DTYPE = np.asarray(<PositionRow[:1]> &_p).dtype


@cython.final
cdef class Table:
    """A growable array of C records, owned by a NumPy structured array.

    Growing allocates a new array and copies; views handed out earlier keep the old
    array alive, so they stay valid (frozen at their last state) rather than dangle.

    Parameters
    ----------
    dtype : numpy.dtype
        Record layout, matching a C struct of ``_core.pxd``.
    capacity : int, default 64
        Records allocated up front.
    """

    def __cinit__(self, dtype, Py_ssize_t capacity=64):
        self.arr = np.zeros(max(capacity, 1), dtype=dtype)
        # The engine writes through ``data``; Python only reads. A read-only owner makes every
        # view of it read-only for good (NumPy refuses to make a view of it writeable again).
        self.arr.flags.writeable = False
        self.data = <char*>cnp.PyArray_DATA(<cnp.ndarray>self.arr)
        self.n = 0
        self.cap = max(capacity, 1)
        self.itemsize = (<cnp.ndarray>self.arr).dtype.itemsize

    cdef int grow(self) except -1:
        new = np.zeros(2 * self.cap, dtype=self.arr.dtype)
        memcpy(cnp.PyArray_DATA(<cnp.ndarray>new), self.data, self.n * self.itemsize)
        new.flags.writeable = False
        self.arr = new
        self.data = <char*>cnp.PyArray_DATA(<cnp.ndarray>new)
        self.cap *= 2
        return 0

    cdef char* push(self) except NULL nogil:
        cdef char* p
        if self.n == self.cap:
            with gil:
                self.grow()
        p = self.data + self.n * self.itemsize
        memset(p, 0, self.itemsize)
        self.n += 1
        return p

    def view(self):
        """Return the records in use as a read-only NumPy array viewing this buffer."""
        return self.arr[:self.n]

    def __len__(self):
        return self.n


@cython.final
cdef class Engine:
    """The simulator state and its event loop.

    Built by :func:`mmsim.backtest`, which validates every argument first; the arrays must be
    C-contiguous, ``time`` int64 nanoseconds non-decreasing, prices and sizes float64.

    Parameters
    ----------
    time, price, amount, bid_price, bid_amount, ask_price, ask_amount : numpy.ndarray
        The TAQ columns.
    signal_time : numpy.ndarray
        int64 nanoseconds of each strategy call.
    signals : numpy.ndarray
        2-D float64, one row per call.
    inverse : bool
    tick_size, lot_size, contract_size, maker_fee, taker_fee : float
        The contract.
    balance : float
        Starting balance in the settlement currency.
    latency, cancel_latency, feed_latency : int
        Nanoseconds.
    queue_position : float
        Share of the displayed size queued ahead of an order joining a level.
    """

    def __init__(self, const int64_t[::1] time, const double[::1] price,
                 const double[::1] amount, const double[::1] bid_price,
                 const double[::1] bid_amount, const double[::1] ask_price,
                 const double[::1] ask_amount, const int64_t[::1] signal_time,
                 const double[:, ::1] signals, bint inverse, double tick_size,
                 double lot_size, double contract_size, double maker_fee, double taker_fee,
                 double balance, int64_t latency, int64_t cancel_latency,
                 int64_t feed_latency, double queue_position):
        self.t_time = time
        self.t_price = price
        self.t_amount = amount
        self.t_bid = bid_price
        self.t_bid_amount = bid_amount
        self.t_ask = ask_price
        self.t_ask_amount = ask_amount
        self.n_rows = time.shape[0]
        # The row loop runs without bounds checks: every column must cover every row.
        for name, column in (("price", price), ("amount", amount), ("bid_price", bid_price),
                             ("bid_amount", bid_amount), ("ask_price", ask_price),
                             ("ask_amount", ask_amount)):
            if column.shape[0] != self.n_rows:
                raise ValueError(f"TAQ column {name!r} has {column.shape[0]} rows, "
                                 f"time has {self.n_rows}")
        if signals.shape[0] != signal_time.shape[0]:
            raise ValueError(f"signals has {signals.shape[0]} rows, signal_time has "
                             f"{signal_time.shape[0]}")
        self.s_time = signal_time
        self.s_values = signals
        self.n_sig = signal_time.shape[0]
        self.inverse = inverse
        self.tick = tick_size
        self.inv_tick = 1.0 / tick_size
        self.lot = lot_size
        self.inv_lot = 1.0 / lot_size
        self.cs = contract_size
        self.maker_fee = maker_fee
        self.taker_fee = taker_fee
        self.queue_position = queue_position
        self.latency = latency
        self.cancel_latency = cancel_latency
        self.feed_latency = feed_latency
        self.acct.balance = balance
        self.now = time[0] if self.n_rows else 0
        self.next_id = 1
        self.cur_signal = -1
        self.trade_cache_hit = -1
        self.book = Table(ORDER_DTYPE, 16)
        self.orders = Table(ORDER_DTYPE, 1024)
        self.slots = Table(np.dtype(np.int64), 1024)
        self.scratch = Table(np.dtype(np.intp), 64)
        self.adds = Table(ACTION_DTYPE, 64)
        self.cancels = Table(ACTION_DTYPE, 64)
        self.fills = Table(FILL_DTYPE, 1024)
        self.balances = Table(BALANCE_DTYPE, max(1024, 2 * self.n_sig + 16))
        self.positions = Table(POSITION_DTYPE, 1024)

    # -- queries -----------------------------------------------------------------------

    cdef Order* find(self, int64_t order_id) noexcept nogil:
        # O(1): ``slots`` holds each order's index in the book while it is there.
        cdef int64_t k
        if order_id < 1 or order_id > self.slots.n:
            return NULL
        k = (<int64_t*>self.slots.data)[order_id - 1]
        if k < 0:
            return NULL
        return &(<Order*>self.book.data)[k]

    cdef Order* record(self, int64_t order_id) noexcept nogil:
        # The authoritative record of a sent order: its book entry while it is in the book
        # (closed orders stay there until compacted), else its row of the orders table.
        cdef Order* o = self.find(order_id)
        return o if o != NULL else &(<Order*>self.orders.data)[order_id - 1]

    cdef Py_ssize_t last_trade_row(self, Py_ssize_t r) noexcept nogil:
        # Rows below trade_cache_row have been scanned and trade_cache_hit is the last trade
        # among them; callers ask for non-decreasing rows, so the scan is O(rows) overall.
        cdef Py_ssize_t k
        if r + 1 >= self.trade_cache_row:
            k = r
            while k >= self.trade_cache_row:
                if self.t_amount[k] != 0.0:
                    self.trade_cache_hit = k
                    break
                k -= 1
            self.trade_cache_row = r + 1
            return self.trade_cache_hit
        k = r
        while k >= 0 and self.t_amount[k] == 0.0:
            k -= 1
        return k

    cdef double mark(self, Py_ssize_t r) noexcept nogil:
        # Mark price: the mid of row r, else the last trade at or before it.
        cdef Py_ssize_t t
        if r < 0:
            return NAN
        if not isnan(self.t_bid[r]) and not isnan(self.t_ask[r]):
            return 0.5 * (self.t_bid[r] + self.t_ask[r])
        t = self.last_trade_row(r)
        return self.t_price[t] if t >= 0 else NAN

    cdef double unrealized(self, double mark) noexcept nogil:
        # Rule 9: inverse Q*cs*(1/E - 1/M) in the base currency; linear Q*cs*(M - E).
        cdef double q = self.acct.position, e = self.acct.entry_price
        if q == 0.0:
            return 0.0
        if self.inverse:
            return q * self.cs * (1.0 / e - 1.0 / mark)
        return q * self.cs * (mark - e)

    cdef double available(self) noexcept nogil:
        # Balance less the margin working orders reserve at 1x (see update_reserve).
        return self.acct.balance - self.reserve

    cdef int64_t next_action_time(self) noexcept nogil:
        cdef int64_t t = INT64_MAX
        if self.adds_head < self.adds.n:
            t = (<Action*>self.adds.data)[self.adds_head].time
        if self.cancels_head < self.cancels.n:
            t = min(t, (<Action*>self.cancels.data)[self.cancels_head].time)
        return t

    cdef void sync_feed(self) noexcept nogil:
        # The strategy sees rows with time <= now - feed_latency (rule 1), never beyond
        # what the engine has replayed.
        cdef int64_t horizon = self.now - self.feed_latency
        while self.feed_row < self.i and self.t_time[self.feed_row] <= horizon:
            self.feed_row += 1

    # -- recording ---------------------------------------------------------------------

    cdef int record_balance(self) except -1 nogil:
        cdef BalanceRow* b = <BalanceRow*>self.balances.push()
        cdef double m = self.mark(self.i - 1)
        b.time = self.now
        b.total = self.acct.balance
        b.available = self.available()
        if self.inverse:
            b.nav = (self.acct.balance + self.unrealized(m)) * m
        else:
            b.nav = self.acct.balance + self.unrealized(m)
        return 0

    cdef void update_reserve(self, Order* o) noexcept nogil:
        # Each working order reserves its remaining amount valued at its price at 1x
        # (inverse: |q|*cs/price; linear: |q|*cs*price; a market order at its decision
        # price). Keeping each order's share lets a fill, a close or a re-peg adjust the
        # sum in O(1) instead of rescanning the book at every balance row.
        cdef double rem, px, share = 0.0
        if o.status <= S_LIVE:
            rem = fabs(o.amount) - fabs(o.filled)
            px = o.price if not isnan(o.price) else o.decision_price
            if not isnan(px) and px > 0.0:
                share = rem * self.cs / px if self.inverse else rem * self.cs * px
        self.reserve += share - o.reserve
        o.reserve = share
        if self.n_closed == self.book.n:
            self.reserve = 0.0                      # nothing works: no rounding residue

    cdef double remaining(self, Order* o) noexcept nogil:
        # What is left to fill, in whole lots (rule 4): 0.012 - 0.011 is 0.0010000000000000009
        # in floating point, one lot here.
        return snap(fabs(o.amount) - fabs(o.filled), self.lot, self.inv_lot)

    cdef void close(self, Order* o, int status, int reason) noexcept nogil:
        # Every way an order stops working: filled, cancelled or rejected.
        o.status = status
        o.reason = reason
        o.closed = self.now
        self.n_closed += 1
        self.update_reserve(o)

    cdef void compact(self) noexcept nogil:
        # Move closed orders out of the book into their row of the orders table, keeping
        # the working ones in sending order and their slots up to date.
        cdef Order* book = <Order*>self.book.data
        cdef Order* hist = <Order*>self.orders.data
        cdef int64_t* slot = <int64_t*>self.slots.data
        cdef Py_ssize_t k, kept = 0
        for k in range(self.book.n):
            if book[k].status >= S_FILLED:
                hist[book[k].order_id - 1] = book[k]
                slot[book[k].order_id - 1] = -1
            else:
                if kept != k:
                    book[kept] = book[k]
                slot[book[kept].order_id - 1] = kept
                kept += 1
        self.book.n = kept
        self.n_closed = 0

    cdef void maybe_compact(self) noexcept nogil:
        # Closed orders stay in the book (every pass skips them) until they are half of it,
        # so closing k of n working orders costs O(n + k), not O(n k).
        if self.n_closed > 0 and 2 * self.n_closed >= self.book.n:
            self.compact()

    cdef int finish(self) except -1:
        """Close the books: orders still working are written to the orders table."""
        cdef Order* book = <Order*>self.book.data
        cdef Order* hist = <Order*>self.orders.data
        cdef Py_ssize_t k
        for k in range(self.book.n):
            hist[book[k].order_id - 1] = book[k]
            if book[k].status <= S_LIVE:
                hist[book[k].order_id - 1].reason = R_END
        return 0

    # -- fills and accounting ----------------------------------------------------------

    cdef int fill(self, Order* o, double qty, double price, int liquidity) except -1 nogil:
        """Fill ``qty`` (> 0) of order ``o`` at ``price``; update the account and records."""
        cdef double q = qty * o.side
        cdef double rate = self.maker_fee if liquidity == MAKER else self.taker_fee
        cdef double fee, realized = 0.0, pos = self.acct.position, e = self.acct.entry_price
        cdef double closing, new_pos, prev
        cdef Fill* f
        cdef PositionRow* p
        # Rule 8: fees on notional in the settlement currency.
        if self.inverse:
            fee = qty * self.cs / price * rate
        else:
            fee = qty * self.cs * price * rate
        # Rule 9: entry price is the contract-weighted mean (harmonic for inverse); closing
        # realises q*cs*(1/E - 1/X) (inverse) or q*cs*(X - E) (linear), signed by side.
        if pos == 0.0 or (pos > 0.0) == (q > 0.0):
            if pos == 0.0:
                e = price
            elif self.inverse:
                e = (fabs(pos) + qty) / (fabs(pos) / e + qty / price)
            else:
                e = (fabs(pos) * e + qty * price) / (fabs(pos) + qty)
            new_pos = snap(pos + q, self.lot, self.inv_lot)
        else:
            closing = min(qty, fabs(pos))
            if self.inverse:
                realized = closing * self.cs * (1.0 / e - 1.0 / price)
            else:
                realized = closing * self.cs * (price - e)
            if pos < 0.0:
                realized = -realized
            new_pos = snap(pos + q, self.lot, self.inv_lot)
            if new_pos == 0.0:
                e = 0.0
            elif (new_pos > 0.0) != (pos > 0.0):
                e = price
        self.acct.position = new_pos
        self.acct.entry_price = e
        self.acct.realized += realized
        self.acct.fees += fee
        self.acct.balance += realized - fee

        prev = fabs(o.filled)
        if prev == 0.0:
            o.avg_price = price
        elif self.inverse:
            o.avg_price = (prev + qty) / (prev / o.avg_price + qty / price)
        else:
            o.avg_price = (prev * o.avg_price + qty * price) / (prev + qty)
        o.filled = snap(o.filled + q, self.lot, self.inv_lot)
        o.fee += fee
        if liquidity == TAKER:
            # Rule 6: slippage against the opposite price at decision time, worse positive.
            o.slippage = (o.avg_price - o.decision_price) * o.side
        if o.type == T_MARKET:
            o.price = o.avg_price
        if fabs(o.filled) >= fabs(o.amount):
            self.close(o, S_FILLED, R_NONE)
        else:
            self.update_reserve(o)

        f = <Fill*>self.fills.push()
        f.time = self.now
        f.order_id = o.order_id
        f.price = price
        f.amount = q
        f.fee = fee
        f.liquidity = liquidity
        f.realized = realized
        f.position = new_pos
        f.mid = NAN
        if self.i > 0:
            f.mid = 0.5 * (self.t_bid[self.i - 1] + self.t_ask[self.i - 1])
        p = <PositionRow*>self.positions.push()
        p.time = self.now
        p.amount = new_pos
        p.weighted_price = e
        self.record_balance()
        return 0

    # -- queue model -------------------------------------------------------------------

    cdef void join(self, Order* o, Py_ssize_t r) noexcept nogil:
        # Rule 3, for an order that does not take liquidity: at the best price the queue
        # ahead is queue_position x the displayed size; better than the best it is 0;
        # behind the best it is unknown until the best price reaches it. ``amount_q`` keeps
        # the displayed size at our level when the order first went live (0 at a new best
        # level, NaN behind the best).
        cdef double best, size
        cdef int64_t best_t
        cdef bint first = isnan(o.amount_q) and o.prio == 0
        o.queue_ahead = NAN
        self.next_prio += 1
        o.prio = self.next_prio
        if r >= 0:
            best = self.t_bid[r] if o.side > 0 else self.t_ask[r]
            size = self.t_bid_amount[r] if o.side > 0 else self.t_ask_amount[r]
            if not isnan(best):
                best_t = to_grid(best, self.inv_tick)
                if best_t == o.price_tick:
                    o.queue_ahead = self.queue_position * size
                    if first:
                        o.amount_q = size
                elif (o.price_tick - best_t) * o.side > 0:
                    o.queue_ahead = 0.0
                    if first:
                        o.amount_q = 0.0
        o.volume_req = o.queue_ahead + fabs(o.amount)

    cdef int go_live(self, Order* o) except -1 nogil:
        cdef Py_ssize_t r = self.i - 1
        cdef double opp = NAN, own = NAN, opp_size = NAN
        cdef int64_t opp_t
        if r >= 0:
            opp = self.t_ask[r] if o.side > 0 else self.t_bid[r]
            own = self.t_bid[r] if o.side > 0 else self.t_ask[r]
            opp_size = self.t_ask_amount[r] if o.side > 0 else self.t_bid_amount[r]
        o.live = self.now
        if o.type == T_MARKET:
            # Rule 6: all of it at the best opposite price in force now, as taker.
            if isnan(opp):
                self.close(o, S_REJECTED, R_NO_QUOTE)
                return 0
            o.status = S_LIVE
            o.amount_q = opp_size
            return self.fill(o, fabs(o.amount), opp, TAKER)
        if o.type == T_FOLLOW:
            # Rule 7: rest price_level ticks behind the best price on our side.
            if isnan(own):
                self.close(o, S_REJECTED, R_NO_QUOTE)
                return 0
            o.price_tick = to_grid(own, self.inv_tick) - o.side * o.price_level
            if o.price_tick < 1:
                # A buy pegged at or below zero: no exchange accepts that price.
                self.close(o, S_REJECTED, R_LEVEL)
                return 0
            o.price = grid_price(o.price_tick, self.inv_tick)
        elif not isnan(opp):
            opp_t = to_grid(opp, self.inv_tick)
            if (o.price_tick - opp_t) * o.side >= 0:
                # Rule 3: a limit at or through the opposite best takes liquidity there.
                if o.post_only:
                    self.close(o, S_REJECTED, R_POST_ONLY)
                    return 0
                o.status = S_LIVE
                o.amount_q = opp_size
                return self.fill(o, fabs(o.amount), opp, TAKER)
        o.status = S_LIVE
        self.join(o, r)
        self.update_reserve(o)
        return 0

    cdef int on_row(self, Py_ssize_t r) except -1 nogil:
        """Apply row r's quote (rule 5, rule 7) and then its trade (rule 4)."""
        cdef Order* book = <Order*>self.book.data
        cdef Order* o
        cdef Py_ssize_t k, n = self.book.n
        cdef double bid = self.t_bid[r], ask = self.t_ask[r]
        cdef double bid_size = self.t_bid_amount[r], ask_size = self.t_ask_amount[r]
        cdef double own_size, size
        cdef bint has_bid = not isnan(bid), has_ask = not isnan(ask), has_own, has_opp
        cdef int64_t bid_t = to_grid(bid, self.inv_tick) if has_bid else 0
        cdef int64_t ask_t = to_grid(ask, self.inv_tick) if has_ask else 0
        cdef int64_t own_t, opp_t, target
        # The highest live bid and lowest live ask after the quote: a print that reaches
        # neither touches none of our orders, and the trade pass is skipped.
        cdef int64_t top_buy = INT64_MIN, top_sell = INT64_MAX
        for k in range(n):
            o = &book[k]
            if o.status != S_LIVE:
                continue
            if o.side > 0:
                has_own, own_t, own_size = has_bid, bid_t, bid_size
                has_opp, opp_t = has_ask, ask_t
            else:
                has_own, own_t, own_size = has_ask, ask_t, ask_size
                has_opp, opp_t = has_bid, bid_t
            if o.type == T_FOLLOW and has_own:
                target = own_t - o.side * o.price_level
                if target != o.price_tick:
                    if target < 1:
                        # The peg would fall to zero or below: the order cannot follow.
                        self.close(o, S_CANCELLED, R_LEVEL)
                        continue
                    # Rule 7: the peg moved; rejoin at the back of the queue there.
                    o.price_tick = target
                    o.price = grid_price(target, self.inv_tick)
                    self.join(o, r)
                    self.update_reserve(o)
            if has_opp and (opp_t - o.price_tick) * o.side <= 0:
                # Rule 5: the opposite best reached our price: filled as maker at our price.
                self.fill(o, self.remaining(o), o.price, MAKER)
                continue
            if has_own:
                if own_t == o.price_tick:
                    if isnan(o.queue_ahead):
                        # Rule 3, deferred: the best price reached our level.
                        o.queue_ahead = self.queue_position * own_size
                        o.volume_req = o.queue_ahead + fabs(o.amount)
                    elif own_size < o.queue_ahead:
                        # Rule 5: cancellations ahead of us (risk-averse queue model).
                        o.queue_ahead = own_size
                elif (o.price_tick - own_t) * o.side > 0:
                    # Rule 5: the best price moved away behind us: we are at the front.
                    o.queue_ahead = 0.0
            if o.side > 0:
                top_buy = max(top_buy, o.price_tick)
            else:
                top_sell = min(top_sell, o.price_tick)
        size = self.t_amount[r]
        if size < 0.0:
            if top_buy >= self.t_price[r] * self.inv_tick - GRID_EPS:
                self.on_trade(r, size)
        elif size > 0.0:
            if top_sell <= self.t_price[r] * self.inv_tick + GRID_EPS:
                self.on_trade(r, size)
        return 0

    cdef int on_trade(self, Py_ssize_t r, double size) except -1 nogil:
        """Rule 4: a print of |size| at t_price[r]; size < 0 hits bids, > 0 lifts asks."""
        cdef Order* book = <Order*>self.book.data
        cdef Order* o
        cdef Order** reached
        cdef Py_ssize_t k, n = self.book.n
        cdef int8_t side = -1 if size > 0.0 else 1     # the side of the orders it can fill
        cdef double volume = fabs(size)
        cdef double x = self.t_price[r] * self.inv_tick   # print price in ticks, maybe off-grid
        cdef double d, avail, used, excess, qty
        # Pass 1: volume statistics, and the orders the print reaches: those it went through,
        # and those at its price with a known queue (a print is within GRID_EPS of at most
        # one tick).
        self.scratch.n = 0
        for k in range(n):
            o = &book[k]
            if o.status != S_LIVE or o.side != side:
                continue
            d = (o.price_tick - x) * side               # > 0: the print went through our price
            if d >= -GRID_EPS:
                o.volume += volume
                if d > GRID_EPS or not isnan(o.queue_ahead):
                    (<Order**>self.scratch.push())[0] = o
        if self.scratch.n == 0:
            return 0
        # Pass 2, in price then time priority (sorted once: O(k log k) for the k orders
        # reached): orders the print went through fill completely; at the print's price it
        # consumes the queue ahead of each order, what reaches an order fills it, and the
        # print's volume is shared so that all our fills there together never exceed it.
        reached = <Order**>self.scratch.data
        if self.scratch.n > 1:
            qsort(reached, self.scratch.n, sizeof(Order*), by_priority)
        avail = volume
        for k in range(self.scratch.n):
            o = reached[k]
            if (o.price_tick - x) * side > GRID_EPS:
                self.fill(o, self.remaining(o), o.price, MAKER)
                continue
            if avail <= 0.0:
                break
            used = min(o.queue_ahead, avail)
            o.queue_ahead -= used
            excess = avail - used
            qty = min(self.remaining(o), floor(excess * self.inv_lot + GRID_EPS) / self.inv_lot)
            if qty > 0.0:
                self.fill(o, qty, o.price, MAKER)
                avail -= qty
        return 0

    # -- the loop ----------------------------------------------------------------------

    cdef int replay(self, int64_t until, bint stop_on_fill) except -1 nogil:
        """Replay TAQ rows with time <= until. Returns 1 right after a row that filled one of
        our orders when ``stop_on_fill`` (so the strategy hears of it), else 0."""
        cdef Py_ssize_t r, n_fills
        while self.i < self.n_rows and self.t_time[self.i] <= until:
            r = self.i
            self.i += 1
            if self.book.n > self.n_closed:
                self.now = self.t_time[r]
                n_fills = self.fills.n
                self.on_row(r)
                self.maybe_compact()
                if stop_on_fill and self.fills.n != n_fills:
                    return 1
        if self.i > 0 and self.t_time[self.i - 1] > self.now:
            self.now = self.t_time[self.i - 1]
        return 0

    cdef int apply_next_action(self) except -1 nogil:
        """Rule 2: the earliest pending action takes effect (ties: in sending order)."""
        cdef Action* a = NULL
        cdef Action* c = NULL
        cdef Action act
        cdef Order* o
        if self.adds_head < self.adds.n:
            a = &(<Action*>self.adds.data)[self.adds_head]
        if self.cancels_head < self.cancels.n:
            c = &(<Action*>self.cancels.data)[self.cancels_head]
        if a != NULL and (c == NULL or a.time < c.time or (a.time == c.time and a.seq < c.seq)):
            act = a[0]
            self.adds_head += 1
            if self.adds_head == self.adds.n:
                self.adds_head = 0
                self.adds.n = 0
        else:
            act = c[0]
            self.cancels_head += 1
            if self.cancels_head == self.cancels.n:
                self.cancels_head = 0
                self.cancels.n = 0
        self.now = act.time
        o = self.find(act.order_id)
        if o != NULL:
            if act.kind == A_ADD:
                if o.status == S_PENDING:
                    self.go_live(o)
            elif o.status <= S_LIVE:
                # Fills before the cancel takes effect stand (rule 2).
                self.close(o, S_CANCELLED, R_CANCELLED)
        self.maybe_compact()
        return 0

    cdef int64_t send(self, int8_t type, double price, int64_t level, double amount,
                      bint post_only) except -1:
        cdef Order* o = <Order*>self.book.push()
        cdef Order* h = <Order*>self.orders.push()
        cdef Action* a = <Action*>self.adds.push()
        cdef int64_t* slot = <int64_t*>self.slots.push()
        cdef Py_ssize_t fr = self.feed_row - 1
        slot[0] = self.book.n - 1
        o.order_id = self.next_id
        self.next_id += 1
        o.created = self.now
        o.live = NO_TIME
        o.closed = NO_TIME
        o.cancel_sent = NO_TIME
        o.type = type
        o.side = 1 if amount > 0 else -1
        o.status = S_PENDING
        o.amount = amount
        o.price = price
        o.price_tick = to_grid(price, self.inv_tick) if type == T_LIMIT else 0
        o.price_level = level if type == T_FOLLOW else -1
        o.avg_price = NAN
        o.queue_ahead = NAN
        o.amount_q = NAN
        o.volume_req = NAN
        o.post_only = post_only
        o.decision_price = NAN
        if fr >= 0:
            o.decision_price = self.t_ask[fr] if amount > 0 else self.t_bid[fr]
        o.slippage = NAN if type == T_MARKET else 0.0
        self.update_reserve(o)
        h[0] = o[0]
        a.time = self.now + self.latency
        a.seq = self.next_seq
        a.order_id = o.order_id
        a.kind = A_ADD
        self.next_seq += 1
        return o.order_id

    def run(self, Context ctx, on_signal, on_fill=None, on_start=None, progress=None):
        """Replay everything, calling the strategy at each signal time (rules 1 and 2).

        Parameters
        ----------
        ctx : Context
            The view handed to the callbacks.
        on_signal : callable
            ``on_signal(ctx)``, once per signal row.
        on_fill : callable, optional
            ``on_fill(ctx, fill)`` after each row or action that filled one of our orders.
        on_start : callable, optional
            ``on_start(ctx)`` just before the first ``on_signal``.
        progress : callable, optional
            ``progress(rows_done)`` every ~1 % of the signals.
        """
        cdef int64_t t_act, t_sig, t_next
        cdef int64_t last = self.t_time[self.n_rows - 1] if self.n_rows else INT64_MIN
        cdef bint stop = on_fill is not None
        cdef Py_ssize_t n_fills, step = max(self.n_sig // 100, 1)
        cdef int rc
        try:
            while True:
                t_act = self.next_action_time()
                t_sig = self.s_time[self.j] if self.j < self.n_sig else INT64_MAX
                t_next = t_act if t_act <= t_sig else t_sig
                n_fills = self.fills.n
                with nogil:
                    rc = self.replay(t_next, stop)
                if rc == 0:
                    if t_next > last:
                        break
                    if t_act <= t_sig:
                        with nogil:
                            self.apply_next_action()
                    else:
                        self.now = t_sig
                        self.sync_feed()
                        self.record_balance()
                        self.cur_signal = self.j
                        if self.n_closed:
                            self.compact()          # ctx.orders shows working orders only
                        self.acting = True
                        if on_start is not None and self.j == 0:
                            on_start(ctx)
                        self.j += 1
                        on_signal(ctx)
                        self.acting = False
                        if progress is not None and self.j % step == 0:
                            progress(self.i)
                if stop and self.fills.n != n_fills:
                    if self.n_closed:
                        self.compact()
                    self.acting = True
                    while n_fills < self.fills.n:
                        # A read-only record: the callback cannot change what was recorded.
                        fill = self.fills.arr[n_fills]
                        self.now = fill["time"]
                        self.sync_feed()
                        on_fill(ctx, fill)
                        n_fills += 1
                    self.acting = False
        finally:
            # A ctx kept after the run (or after a failing callback) can no longer act.
            self.acting = False
        if progress is not None:
            progress(self.i)

    def tables(self):
        """Return the recorded tables as NumPy structured arrays.

        Returns
        -------
        dict
            ``orders, fills, balances, positions`` (copies, independent of the engine).
        """
        if self.book.n:
            self.finish()
        return {
            "orders": self.orders.view().copy(),
            "fills": self.fills.view().copy(),
            "balances": self.balances.view().copy(),
            "positions": self.positions.view().copy(),
        }


cdef inline bint on_grid(double x, double inv_step) noexcept nogil:
    cdef double k = x * inv_step
    return fabs(k - floor(k + 0.5)) <= GRID_EPS


cdef class Context:
    """What a strategy sees and does at a signal (or fill): a typed view of the engine.

    Market fields reflect the TAQ rows with time <= ``time - feed_latency``; position,
    balances and orders are the engine's own state. Actions are stamped ``time`` and take
    effect after the run's latency.
    """

    def __init__(self, Engine engine, signals, tuple columns, contract, rng):
        self.engine = engine
        self.signals = np.asarray(signals).view()
        self.signals.flags.writeable = False        # ctx.signal is a read-only row
        self.columns = columns
        self.column_index = {name: k for k, name in enumerate(columns)}
        self.contract = contract
        self.rng = rng

    # -- time and signals ---------------------------------------------------------------

    @property
    def time(self):
        """Current time, int64 nanoseconds since the epoch (UTC)."""
        return self.engine.now

    @property
    def timestamp(self):
        """Current time as a UTC ``pandas.Timestamp``."""
        import pandas as pd
        return pd.Timestamp(self.engine.now, tz="UTC")

    @property
    def signal(self):
        """The current signal row, a 1-D float64 view (NaN-free), or None before the first."""
        if self.engine.cur_signal < 0:
            return None
        return self.signals[self.engine.cur_signal]

    def __getitem__(self, key):
        """A value of the current signal row, by column name or position."""
        cdef Py_ssize_t c
        if self.engine.cur_signal < 0:
            raise LookupError("no signal yet: the strategy has not been called at a signal")
        if isinstance(key, str):
            try:
                c = self.column_index[key]
            except KeyError:
                raise KeyError(f"no signal column {key!r}; columns are {list(self.columns)}") from None
        else:
            c = key
            if c < 0 or c >= len(self.columns):
                raise IndexError(f"signal position {key} out of range 0..{len(self.columns) - 1}")
        return self.engine.s_values[self.engine.cur_signal, c]

    # -- market ------------------------------------------------------------------------

    cdef Py_ssize_t row(self) noexcept:
        return self.engine.feed_row - 1

    cdef double seen(self, const double[::1] column) noexcept:
        # A TAQ column on the last row the strategy sees; NaN before the first row.
        cdef Py_ssize_t r = self.row()
        return column[r] if r >= 0 else NAN

    cdef double last_trade(self, const double[::1] column) noexcept:
        # A TAQ column on the last trade row the strategy sees; NaN before the first trade.
        cdef Py_ssize_t t = self.engine.last_trade_row(self.row())
        return column[t] if t >= 0 else NAN

    @property
    def price(self):
        """Price of the last trade (NaN before the first)."""
        return self.last_trade(self.engine.t_price)

    @property
    def last_amount(self):
        """Signed size of the last trade (> 0 buyer-initiated; NaN before the first)."""
        return self.last_trade(self.engine.t_amount)

    @property
    def bid_price(self):
        """Best bid (NaN before the first quote)."""
        return self.seen(self.engine.t_bid)

    @property
    def bid_amount(self):
        """Size at the best bid."""
        return self.seen(self.engine.t_bid_amount)

    @property
    def ask_price(self):
        """Best ask (NaN before the first quote)."""
        return self.seen(self.engine.t_ask)

    @property
    def ask_amount(self):
        """Size at the best ask."""
        return self.seen(self.engine.t_ask_amount)

    @property
    def mid(self):
        """Mid of the best bid and ask (NaN if either is missing)."""
        return 0.5 * (self.seen(self.engine.t_bid) + self.seen(self.engine.t_ask))

    # -- account -----------------------------------------------------------------------

    @property
    def position(self):
        """Signed amount held (> 0 long)."""
        return self.engine.acct.position

    @property
    def entry_price(self):
        """Weighted entry price of the position (harmonic mean for inverse); 0.0 when flat."""
        return self.engine.acct.entry_price

    @property
    def balance(self):
        """Total balance in the settlement currency: start + realised PnL - fees."""
        return self.engine.acct.balance

    @property
    def available(self):
        """Balance less what working orders reserve at 1x leverage."""
        return self.engine.available()

    @property
    def realized(self):
        """Cumulative realised PnL, settlement currency, before fees."""
        return self.engine.acct.realized

    @property
    def fees(self):
        """Cumulative fees paid, settlement currency (negative: net rebate)."""
        return self.engine.acct.fees

    @property
    def nav(self):
        """Net asset value in the quote currency (USD): (balance + unrealised) x mark for
        inverse contracts, balance + unrealised for linear ones; mark = mid."""
        cdef double m = self.engine.mark(self.row())
        cdef double u = self.engine.unrealized(m)
        if self.engine.inverse:
            return (self.engine.acct.balance + u) * m
        return self.engine.acct.balance + u

    @property
    def orders(self):
        """Working orders (pending and live) as a NumPy structured array viewing engine memory.

        Valid until the strategy returns; copy it to keep it.
        """
        return self.engine.book.view()

    # -- actions -----------------------------------------------------------------------

    cdef int check_acting(self, str action) except -1:
        if not self.engine.acting:
            raise RuntimeError(f"{action}: a strategy acts only from inside on_start, "
                               f"on_signal or on_fill while its run is going; this ctx "
                               f"belongs to a run that has ended or is between callbacks")
        return 0

    cdef double check_amount(self, str action, amount) except? -1:
        # Amounts enter the engine as whole lots: snapped to the grid, so that sums of
        # fills reach the order's amount exactly, and bounded so that lots stay exact.
        cdef double a, lot = self.engine.lot
        self.check_acting(action)
        try:
            a = amount
        except TypeError:
            raise TypeError(f"{action}: amount must be a number, got {type(amount).__name__}") from None
        if not isfinite(a) or a == 0.0:
            raise ValueError(f"{action}: amount must be a non-zero finite number "
                             f"(> 0 buy, < 0 sell), got {amount!r}")
        if fabs(a) * self.engine.inv_lot > MAX_UNITS:
            raise ValueError(f"{action}: amount {a!r} is too large; at most "
                             f"{MAX_UNITS * lot:.17g} (2**53 lots of {lot!r})")
        if not on_grid(a, self.engine.inv_lot):
            raise ValueError(f"{action}: amount {a!r} is off the lot grid "
                             f"(lot_size {lot!r})")
        a = snap(a, lot, self.engine.inv_lot)
        if a == 0.0:
            raise ValueError(f"{action}: amount {amount!r} rounds to 0 lots (lot_size "
                             f"{lot!r}); the smallest order is one lot")
        return a

    def limit(self, price, amount, post_only=False):
        """Send a limit order.

        Parameters
        ----------
        price : float
            Limit price, on the contract's tick grid.
        amount : float
            Signed amount on the lot grid: > 0 buy, < 0 sell.
        post_only : bool, default False
            Reject the order instead of letting it take liquidity when it goes live.

        Returns
        -------
        int
            The order id.

        Raises
        ------
        ValueError
            If the amount is zero, NaN, infinite or off the lot grid, or the price is not a
            positive finite number on the tick grid.
        """
        cdef double a = self.check_amount("limit", amount)
        cdef double p
        try:
            p = price
        except TypeError:
            raise TypeError(f"limit: price must be a number, got {type(price).__name__}") from None
        if not isfinite(p) or p <= 0.0:
            raise ValueError(f"limit: price must be a positive finite number, got {price!r}")
        if p * self.engine.inv_tick > MAX_UNITS:
            raise ValueError(f"limit: price {p!r} is too large; at most "
                             f"{MAX_UNITS * self.engine.tick:.17g} (2**53 ticks of "
                             f"{self.engine.tick!r})")
        if not on_grid(p, self.engine.inv_tick):
            raise ValueError(f"limit: price {p!r} is off the tick grid (tick_size "
                             f"{self.engine.tick!r}); nearest on-grid price is "
                             f"{to_grid(p, self.engine.inv_tick) * self.engine.tick!r}")
        if to_grid(p, self.engine.inv_tick) < 1:
            raise ValueError(f"limit: price {p!r} rounds to 0 ticks (tick_size "
                             f"{self.engine.tick!r}); the lowest price is one tick")
        return self.engine.send(T_LIMIT, p, 0, a, bool(post_only))

    def market(self, amount):
        """Send a market order: it fills completely at the best opposite price in force
        when it goes live, as taker.

        Parameters
        ----------
        amount : float
            Signed amount on the lot grid: > 0 buy, < 0 sell.

        Returns
        -------
        int
            The order id.
        """
        cdef double a = self.check_amount("market", amount)
        return self.engine.send(T_MARKET, NAN, 0, a, False)

    def follow(self, level, amount):
        """Send a follow-limit (pegged) order resting ``level`` ticks behind the best price
        on its side (best bid - level for buys, best ask + level for sells).

        Parameters
        ----------
        level : int
            Ticks behind the best price, >= 0.
        amount : float
            Signed amount on the lot grid: > 0 buy, < 0 sell.

        Returns
        -------
        int
            The order id.
        """
        cdef double a = self.check_amount("follow", amount)
        cdef double lv
        try:
            lv = level
        except TypeError:
            raise TypeError(f"follow: level must be a whole number of ticks, got {type(level).__name__}") from None
        if not isfinite(lv) or lv < 0 or lv != floor(lv):
            raise ValueError(f"follow: level must be a whole number of ticks >= 0, got {level!r}")
        if lv > MAX_UNITS:
            raise ValueError(f"follow: level {level!r} is too large; at most 2**53 ticks")
        return self.engine.send(T_FOLLOW, NAN, <int64_t>lv, a, False)

    def cancel(self, order_id):
        """Cancel an order; it takes effect after the cancel latency.

        Cancelling an order that is already filled, cancelled or rejected (or whose cancel
        is already on its way) is a no-op; the orders table shows the request in
        ``cancel_sent``.

        Parameters
        ----------
        order_id : int
            An id returned by :meth:`limit`, :meth:`market` or :meth:`follow`.

        Raises
        ------
        ValueError
            If no order with this id was ever sent.
        """
        cdef Engine e = self.engine
        cdef int64_t oid
        cdef Order* o
        cdef Action* a
        self.check_acting("cancel")
        # type() first: the ABC check costs microseconds, and plain ints are the common case.
        if type(order_id) is not int and (isinstance(order_id, bool)
                                          or not isinstance(order_id, numbers.Integral)):
            raise TypeError(f"cancel: order_id must be an int, got {order_id!r}")
        if not 1 <= order_id < e.next_id:
            raise ValueError(f"cancel: unknown order id {order_id!r}; ids sent so far are "
                             + (f"1..{e.next_id - 1}" if e.next_id > 1 else "none"))
        oid = order_id
        o = e.record(oid)
        if o.cancel_sent != NO_TIME:
            return                                  # already on its way (or recorded)
        o.cancel_sent = e.now
        if o.status >= S_FILLED:
            return                                  # closed: a no-op, recorded
        a = <Action*>e.cancels.push()
        a.time = e.now + e.cancel_latency
        a.seq = e.next_seq
        a.order_id = oid
        a.kind = A_CANCEL
        e.next_seq += 1
