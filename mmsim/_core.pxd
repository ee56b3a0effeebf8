# The engine's contract: C structs for every record it keeps, and the cdef classes that own
# them. Records live in growable buffers (``Table``, or ``ColumnTable`` for the recorded tables, a
# column a field) that NumPy views, so Python sees them without copies.
from libc.stdint cimport int8_t, int32_t, int64_t

from mmsim.latency cimport LatencyModel
from mmsim.queue cimport QueueModel


cdef enum OrderType:
    T_LIMIT = 0             # rests at a fixed price
    T_MARKET = 1            # fills at the best opposite price when it goes live
    T_FOLLOW = 2            # pegged ``price_level`` ticks behind the best price on its side

cdef enum OrderStatus:
    S_PENDING = 0           # sent, not yet live (latency)
    S_LIVE = 1              # working on the book
    S_FILLED = 2            # completely filled
    S_CANCELLED = 3         # cancel took effect (it may have been partly filled before)
    S_REJECTED = 4          # refused when it went live

cdef enum Reason:
    R_NONE = 0
    R_CANCELLED = 1         # the strategy cancelled it
    R_POST_ONLY = 2         # a post-only order would have taken liquidity
    R_NO_QUOTE = 3          # no opposite (market) or own-side (follow) quote when it went live
    R_END = 4               # still working when the data ended
    R_LEVEL = 5             # a follow level at or beyond the best price (the peg would be <= 0)
    R_AMENDED = 6           # an amend cut the amount to what had filled
    R_IOC = 7               # immediate-or-cancel: the unfilled rest
    R_FOK = 8               # fill-or-kill: not fillable in full at once
    R_REDUCE_ONLY = 9       # reduce-only: nothing (left) to reduce
    R_MARGIN = 10           # its margin exceeds the available balance
    R_LIQUIDATION = 11      # cancelled by the liquidation of the account
    R_LIQUIDATED = 12       # arrived after the account was liquidated

cdef enum TimeInForce:
    TIF_GTC = 0             # good till cancelled
    TIF_IOC = 1             # immediate or cancel
    TIF_FOK = 2             # fill or kill

cdef enum FillBound:
    FB_NONE = 0             # rules 4-5: through prints and crossing quotes fill whole orders
    FB_PRINTS = 1           # every maker fill is covered by printed volume

cdef enum Cause:
    C_QUEUE = 0             # a print at our price, after the queue ahead
    C_THROUGH = 1           # a print through our price
    C_CROSS = 2             # the opposite quote crossed our price
    C_TAKER = 3             # we took liquidity
    C_LIQUIDATION = 4       # the account was liquidated at the bankruptcy price

cdef enum ActionKind:
    A_ADD = 0               # the order goes live
    A_CANCEL = 1            # the cancel takes effect
    A_AMEND = 2             # the amend takes effect

cdef enum Event:
    EV_END = 0              # past the last row of the data
    EV_SIGNAL = 1           # the strategy's next call is due
    EV_FILLS = 2            # fills to hand to on_fill
    EV_MORE = 3             # the section's row budget is spent; it goes on at the next call

cdef enum Liquidity:
    MAKER = 0
    TAKER = 1


cdef struct Order:
    int64_t order_id        # engine-assigned id, 1, 2, ... in sending order
    double price            # price in currency units (NaN for a market order before it fills)
    int64_t price_level     # follow level in ticks; -1 for other types
    double amount           # signed requested amount: > 0 buy, < 0 sell
    double filled           # signed filled amount
    double queue_ahead      # displayed volume ahead of us at our price; NaN while unknown
    double avg_price        # volume-weighted fill price (NaN before the first fill)
    double amount_q         # displayed size at our level when the order went live
    double volume_req       # traded volume a full fill needs: queue ahead when known + |amount|
    double volume           # volume traded at or through our price while live
    double fee              # fees paid, settlement currency (negative: rebate)
    double slippage         # taker fills: fill price vs decision price, worse positive
    double decision_price   # best opposite price when sent, for slippage
    double counted          # remaining amount counted in Engine.work_buy/work_sell (0 unless live)
    int64_t created         # time the strategy sent it (ns)
    int64_t live            # time it went live (ns); NO_TIME before
    int64_t closed          # time it filled, was cancelled or rejected (ns); NO_TIME while working
    int64_t cancel_sent     # time of the first cancel request (ns); NO_TIME if none
    int64_t prio            # time priority among our orders at one price: lower is ahead
    int64_t price_tick      # price on the tick grid; a follow order's current peg
    int8_t type             # OrderType
    int8_t side             # +1 buy, -1 sell
    int8_t status           # OrderStatus
    int8_t reason           # Reason
    int8_t post_only        # 1: reject instead of taking liquidity
    int8_t tif              # TimeInForce
    int8_t reduce_only      # 1: a fill never increases |position|
    int8_t cancelling       # 1 while a cancel is on its way
    int32_t amends          # amends that took effect
    int32_t rejected        # cancels and amends that arrived before the order was live

cdef struct Action:
    int64_t time            # when it takes effect: sent + latency (or cancel latency)
    int64_t seq             # sending order, which breaks ties between adds and cancels
    int64_t order_id        # the order it applies to
    double price            # amend: new price (NaN: unchanged)
    double amount           # amend: new signed amount (NaN: unchanged)
    int8_t kind             # ActionKind

cdef struct Fill:
    int64_t time            # ns
    int64_t order_id
    double price            # fill price
    double amount           # signed filled amount
    double fee              # settlement currency, negative: rebate
    double mid              # mid quote when the fill happened (NaN if one side is missing)
    double realized         # PnL this fill realised, before fees, settlement currency
    double position         # position after the fill
    double print_volume     # volume of the print that filled it (NaN: no print)
    int8_t liquidity        # Liquidity
    int8_t cause            # Cause

cdef struct Account:
    double balance          # total balance, settlement currency: start + realised - fees
    double position         # signed amount held
    double entry_price      # weighted entry price (harmonic mean for inverse); 0 when flat
    double realized         # cumulative realised PnL, settlement currency
    double fees             # cumulative fees, settlement currency
    double funding          # cumulative funding received (negative: paid), settlement currency

cdef struct BalanceRow:
    int64_t time
    double total            # balance, settlement currency
    double available        # balance + unrealised - initial margin of the exposure
    double mark             # mark price the row was valued at (NaN before any quote or trade)
    double position         # position held
    double nav              # (balance + unrealised) in quote currency (USD)

cdef struct Entry:
    # One resting limit order in a side's price-sorted index (Side.entries).
    int64_t key             # price priority: price in ticks x side (higher is better)
    int64_t prio            # time priority: lower is ahead; stale once the order rejoins
    int64_t order_id

cdef struct FundingRow:
    int64_t time
    double rate             # funding rate of the interval (positive: longs pay shorts)
    double mark             # mark price the position was valued at
    double position         # position held
    double payment          # paid by the account, settlement currency (negative: received)

cdef struct PositionRow:
    int64_t time
    double amount
    double weighted_price


cdef class Table:
    """A growable array of C records viewed by NumPy without copying."""
    cdef object dtype                   # the NumPy dtype of a record
    cdef char* data                     # the buffer (see "table buffers"; traced by tracemalloc)
    cdef Py_ssize_t n                   # records in use
    cdef Py_ssize_t cap                 # records allocated
    cdef Py_ssize_t itemsize            # bytes per record
    cdef bint viewed                    # an array over ``data`` was handed out
    cdef list retired                   # earlier buffers arrays may still view
    cdef int grow(self) except -1 nogil
    cdef char* push(self) except NULL nogil
    cdef char* push_raw(self) except NULL nogil


cdef class ColumnTable:
    """A growable table of C records kept as one column per field, viewed by NumPy (and so
    by the result's DataFrames) without copying."""
    cdef object dtype                   # the NumPy dtype of the C struct a record comes from
    cdef tuple named                    # (name, dtype) of each field
    cdef char* data                     # the buffer (see "table buffers"): a column a field
    cdef Py_ssize_t n                   # rows in use
    cdef Py_ssize_t cap                 # rows allocated
    cdef Py_ssize_t m                   # columns: the struct's fields
    cdef Py_ssize_t row_bytes           # one row across every column
    # Per column, in the order they lie in the buffer (8-byte fields, then 4, then 1):
    cdef Py_ssize_t* width              # bytes of a value (8, 4 or 1)
    cdef Py_ssize_t* at                 # the column starts near cap x at[i]
    cdef Py_ssize_t* source             # the field's offset in the struct
    cdef char** cols                    # where the column starts
    cdef Py_ssize_t* slot               # field j (in the struct's order) is column slot[j]
    cdef Py_ssize_t n8, n4              # columns of 8 and of 4 bytes (the first n8, the next n4)
    cdef bint viewed                    # arrays over ``data`` were handed out: no more rows
    cdef size_t span(self, Py_ssize_t cap) noexcept nogil
    cdef Py_ssize_t fit(self, size_t size) noexcept nogil
    cdef size_t start(self, Py_ssize_t i, Py_ssize_t cap) noexcept nogil
    cdef void place(self) noexcept nogil
    cdef int grow(self) except -1 nogil
    cdef int no_room(self) except -1 nogil
    cdef void release_stale(self, size_t old) noexcept nogil
    cdef int reserve(self) except -1 nogil
    cdef int append(self, const void* record) except -1 nogil
    cdef void put(self, Py_ssize_t k, const void* record) noexcept nogil
    cdef void get(self, Py_ssize_t k, void* record) noexcept nogil
    cdef object record(self, Py_ssize_t k)


cdef struct SideBook:
    # One side of our resting orders, indexed for the row loop (see Engine.settle).
    Entry* entries          # fixed-price limits: [0, n_sorted) sorted worst first, best last;
                            # [n_sorted, n) went live since the last row, not yet sorted in
    Py_ssize_t n
    Py_ssize_t n_sorted
    Py_ssize_t cap
    int64_t* follows        # ids of live follow orders, in sending order
    Py_ssize_t n_follow
    Py_ssize_t follow_cap
    bint dirty              # an order of this side closed or rejoined since the last settle


cdef class Engine:
    # market data, read-only views of the caller's arrays
    cdef const int64_t[::1] t_time
    cdef const double[::1] t_price
    cdef const double[::1] t_amount
    cdef const double[::1] t_bid
    cdef const double[::1] t_bid_amount
    cdef const double[::1] t_ask
    cdef const double[::1] t_ask_amount
    cdef const int64_t[::1] t_seen      # when each row reached us: local_time, else time
    cdef const double[::1] t_mark       # the data's mark price (when has_mark)
    cdef bint has_mark
    cdef Py_ssize_t n_rows
    cdef Py_ssize_t i                   # next TAQ row to replay
    cdef Py_ssize_t row_budget          # advance() replays no row from this one on
    cdef object source                  # iterator of the TAQ chunks still to come (streaming)
    cdef bint exhausted                 # no rows beyond n_rows: the source is done (or absent)
    cdef int64_t rows_base              # rows dropped from the front of the arrays so far
    cdef const int64_t[::1] s_time
    cdef const double[:, ::1] s_values
    cdef Py_ssize_t n_sig
    cdef Py_ssize_t j                   # next signal row
    # contract and run parameters
    cdef bint inverse
    cdef double tick
    cdef double inv_tick
    cdef double lot
    cdef double inv_lot
    cdef double cs                      # contract size
    cdef double maker_fee
    cdef double taker_fee
    cdef double queue_position
    cdef QueueModel queue_model         # how the queue ahead moves ("Queue models")
    cdef int fill_bound                 # FillBound
    cdef LatencyModel latency           # adds: one draw per order sent
    cdef LatencyModel cancel_latency    # one draw per cancel
    cdef LatencyModel amend_latency     # one draw per amend
    cdef LatencyModel feed_latency      # one draw per strategy call
    # state
    cdef Account acct
    cdef int64_t now                    # current simulation time (ns)
    cdef int64_t next_id                # id the next order gets
    cdef int64_t next_prio
    cdef Py_ssize_t feed_row            # 1 + last row the strategy sees (feed latency)
    cdef Py_ssize_t trade_cache_row     # last-trade lookup cache: rows < this were scanned
    cdef Py_ssize_t trade_cache_hit     # ... and this is the last trade among them (-1: none)
    cdef Py_ssize_t n_closed            # closed orders still in the book (compacted lazily)
    cdef double work_buy                # B: remaining amount of live buys
    cdef double work_sell               # S: remaining amount of live sells
    cdef double initial_margin          # rate on the exposure's value; 0: margin off
    cdef double maintenance_margin      # rate on the position's value below which it is liquidated
    cdef bint liquidated                # the account was liquidated: every later order is rejected
    cdef double safe_lo                 # marks in (safe_lo, safe_hi) cannot liquidate the
    cdef double safe_hi                 # account as it stands (Engine.safe_marks)
    cdef bint acting                    # a strategy callback is running: actions allowed
    cdef int64_t next_seq               # sequence number of the next action sent
    cdef Py_ssize_t cur_signal          # signal row the strategy was last called with (-1: none)
    cdef Table book                     # working orders (pending and live), in sending order
    cdef ColumnTable orders             # every order, at index order_id - 1
    cdef Table slots                    # int64 per order: its index in book; < 0 once compacted
    cdef SideBook sides[2]              # resting orders by side: [0] buys, [1] sells
    cdef Entry* merge_buf               # scratch for merging a side's new entries
    cdef Py_ssize_t merge_cap
    cdef Table scratch                  # Order* buffer: our orders a quote or print reaches
    cdef Table merged                   # Order* buffer: both sides crossed on one row
    cdef Table pending                  # actions in flight: a binary heap by (time, seq)
    cdef ColumnTable fills
    cdef ColumnTable balances
    cdef bint keep_orders               # the orders table records every order (record "all")
    cdef bint keep_fills                # the fills and positions tables record every fill
    cdef bint handed_over               # tables() gave its buffers away: run() may not write
    cdef Order spare                    # a closed order's record (record()): read from the
                                        # orders table, or blank when orders are not kept
    cdef int64_t balance_every          # ns between balance rows; 0: at every call, fill, funding
    cdef int64_t balance_due            # time from which the next sampled balance row is due
    cdef bint balance_owed              # a balance row was skipped since the last one written
    cdef ColumnTable positions
    cdef ColumnTable funding            # FundingRow per funding time
    cdef const int64_t[::1] f_time      # funding times (ns), increasing
    cdef const double[::1] f_rate       # funding rate at each
    cdef Py_ssize_t n_fund
    cdef Py_ssize_t k_fund              # next funding time
    cdef Py_ssize_t fills_from          # first fill advance() has not reported to on_fill

    cdef int advance(self, bint stop) except -1 nogil
    cdef void prefetch_rows(self) noexcept nogil
    cdef int replay(self, int64_t until, bint stop_on_fill) except -1 nogil
    cdef inline int touch_band(self, double* lo, double* hi) except -1 nogil
    cdef Py_ssize_t skip(self, Py_ssize_t k, int64_t until, double lo, double hi) noexcept nogil
    cdef int refill(self) except -1
    cdef int request_cancel(self, Order* o) except -1
    cdef int on_row(self, Py_ssize_t r) except -1 nogil
    cdef int quote_follows(self, SideBook* s, Py_ssize_t r, int8_t sgn, bint has_own,
                           int64_t own_t, bint has_opp, int64_t opp_t, double own_size,
                           double prev_size, double printed) except -1 nogil
    cdef Py_ssize_t quote_side(self, Py_ssize_t r, int8_t sgn, bint has_own, int64_t own_t,
                               bint has_opp, int64_t opp_t, int64_t reach) except -1 nogil
    cdef int cross(self, Py_ssize_t n_buys, Py_ssize_t n_sells) except -1 nogil
    cdef inline int queue_update(self, Order* o, int64_t own_t, double own_size,
                                 double prev_size, double printed) except -1 nogil
    cdef int on_trade(self, Py_ssize_t r, double size) except -1 nogil
    cdef int apply_next_action(self) except -1 nogil
    cdef int go_live(self, Order* o) except -1 nogil
    cdef int take(self, Order* o, double opp, double opp_size) except -1 nogil
    cdef int amend(self, Order* o, Action* act) except -1 nogil
    cdef void join(self, Order* o, Py_ssize_t r) noexcept nogil
    cdef double fill(self, Order* o, double qty, double price, int liquidity, int cause,
                     double print_volume) except -1.0 nogil
    cdef int record_balance(self) except -1 nogil
    cdef double remaining(self, Order* o) noexcept nogil
    cdef void close(self, Order* o, int status, int reason) noexcept nogil
    cdef void update_working(self, Order* o) noexcept nogil
    cdef double value(self, double amount, double mark) noexcept nogil
    cdef double exposure(self, double buys, double sells) noexcept nogil
    cdef bint margin_refuses(self, Order* o, double more) noexcept nogil
    cdef bint check_liquidation(self) except -1 nogil
    cdef void safe_marks(self) noexcept nogil
    cdef bint safe_row(self, Py_ssize_t r) noexcept nogil
    cdef int apply_funding(self) except -1 nogil
    cdef Order* new_order(self, int8_t type, double price, int64_t level, double amount,
                          bint post_only, int8_t tif, bint reduce_only) except NULL nogil
    cdef void compact(self) noexcept nogil
    cdef void maybe_compact(self) noexcept nogil
    cdef bint valid(self, Entry* e) noexcept nogil
    cdef int rest(self, Order* o) except -1 nogil
    cdef int settle(self, SideBook* s) except -1 nogil
    cdef void purge(self, SideBook* s) noexcept nogil
    cdef Order* find(self, int64_t order_id) noexcept nogil
    cdef Order* record(self, int64_t order_id) noexcept nogil
    cdef void store(self, Order* o) noexcept nogil
    cdef double mark(self, Py_ssize_t r) noexcept nogil
    cdef double unrealized(self, double mark) noexcept nogil
    cdef int64_t next_action_time(self) noexcept nogil
    cdef int push_action(self, int8_t kind, int64_t order_id, int64_t delay, double price,
                         double amount) except -1
    cdef Action pop_action(self) noexcept nogil
    cdef Py_ssize_t last_trade_row(self, Py_ssize_t r) noexcept nogil
    cdef void sync_feed(self) noexcept nogil
    cdef double available(self) noexcept nogil
    cdef int finish(self) except -1
    cdef int64_t send(self, int8_t type, double price, int64_t level, double amount,
                      bint post_only, int8_t tif, bint reduce_only) except -1


cdef class Context:
    cdef Engine engine
    cdef object signals                 # the signal values as a 2-D NumPy array
    cdef dict column_index              # signal column name -> position
    cdef readonly object contract
    cdef readonly object rng
    cdef readonly tuple columns
    cdef Py_ssize_t row(self) noexcept
    cdef double seen(self, const double[::1] column) noexcept
    cdef double last_trade(self, const double[::1] column) noexcept
    cdef int check_acting(self, str action) except -1
    cdef double check_amount(self, str action, amount) except? -1
    cdef double check_price(self, str action, price) except? -1
    cdef double lots(self, str action, double a, shown) except? -1
    cdef double ticks(self, str action, double p, shown) except? -1
    cdef int64_t check_id(self, str action, order_id) except -1
    cdef int quote_args(self, int side, price, size, double* p, double* a, int64_t* tick,
                        int64_t* kept) except -1
