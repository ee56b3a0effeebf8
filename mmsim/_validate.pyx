# Row checks of TAQ columns before a replay: the row rules of mmsim.data.schema and, given a
# tick size, whether the prices fit the engine's whole-tick grid. They read every row of
# data that may be years long, so they run where memory bandwidth is the limit: rows go in
# blocks, each block gets one flag from branch-free arithmetic that the compiler vectorises,
# and only a flagged block is read again row by row, with the exact rules, to name its first
# bad row. setup.py builds without fast-math and with -ffp-contract=off: NaN compares false
# and the rounding below is that of plain float64 arithmetic, which both rely on.
from libc.math cimport NAN, fabs, floor, isfinite, isnan
from libc.stdint cimport int64_t, uint64_t

# Rows per block: small enough that a flagged block is read again from cache, large enough
# that the test of the flag costs nothing next to the block.
cdef enum:
    BLOCK = 2048

#: Rows a kernel tests with one flag (tests place values at the edges of its blocks).
BLOCK_ROWS = BLOCK

# The engine's tolerance and range (GRID_EPS and MAX_UNITS of _core.pyx): a price in ticks
# is on the grid within 1e-6 of a whole number, and exact in int64 and float64 below 2**53.
cdef double GRID_EPS = 1e-6
cdef double MAX_UNITS = 9007199254740992.0


cdef inline bint off_grid(double x) noexcept nogil:
    # x in ticks: more than GRID_EPS from a whole number (NaN, no quote, counts as on it).
    # Adding and taking away 1.5 x 2**52 rounds |x| < 2**51 to the nearest whole number in
    # plain arithmetic, with no libm call or conversion; larger tick counts are whole
    # numbers or halves of them in float64 and take the floor() path.
    cdef double magic = 6755399441055744.0, big = 2251799813685248.0
    if fabs(x - ((x + magic) - magic)) > GRID_EPS:
        return fabs(x) < big or fabs(x - floor(x + 0.5)) > GRID_EPS
    return False


cdef inline int maybe_off_grid(double x) noexcept nogil:
    # off_grid without its branch, for the block flags: True wherever off_grid is, and also
    # at some tick counts >= 2**51 that are on the grid (their block is read again).
    cdef double magic = 6755399441055744.0
    return fabs(x - ((x + magic) - magic)) > GRID_EPS


cdef inline bint unfit(double p, double b, double s, double inv, double limit) noexcept nogil:
    # The exact price rule of one row: a price at or above 2**53 ticks (``limit``), or a
    # quote off the grid (``inv``: ticks per unit of price). NaN passes both.
    return p >= limit or b >= limit or s >= limit or off_grid(b * inv) or off_grid(s * inv)


cdef inline int maybe_unfit(double p, double b, double s, double inv, double limit) noexcept nogil:
    # unfit with & and | on C ints: no branch, so that a loop of it vectorises.
    return ((p >= limit) | (b >= limit) | (s >= limit) | maybe_off_grid(b * inv)
            | maybe_off_grid(s * inv))


cdef inline bint breaks_schema(double p, double a, double b, double bs, double s, double ss,
                               bint quoted) noexcept nogil:
    # The exact row rules (first_bad_row's docstring); ``quoted``: the row is at or after the
    # first quote. NaN fails every comparison of the second test: a row before the first
    # quote passes it.
    if not isfinite(a) or (a != 0.0 and not (isfinite(p) and p > 0.0)):
        return True
    if bs < 0.0 or ss < 0.0 or b <= 0.0 or s <= 0.0 or b >= s:
        return True
    return quoted and not (isfinite(b) and isfinite(bs) and isfinite(s) and isfinite(ss))


cdef inline int maybe_breaks_schema(double p, double a, double b, double bs, double s,
                                    double ss, double quoted) noexcept nogil:
    # breaks_schema without branches, and exact: x - x is 0.0 for a finite x and NaN for NaN
    # or an infinity, and NaN != 0.0 holds. ``quoted`` is 1.0 or 0.0: as a double its test is
    # a mask as wide as the others, which gcc vectorises (with an int it gives up).
    return ((a - a != 0.0) | ((a != 0.0) & ((p - p != 0.0) | (not (p > 0.0))))
            | (bs < 0.0) | (ss < 0.0) | (b <= 0.0) | (s <= 0.0) | (b >= s)
            | ((quoted != 0.0) & ((b - b) + (bs - bs) + (s - s) + (ss - ss) != 0.0)))


cdef Py_ssize_t first_bad_in(const double* p, const double* a, const double* b,
                             const double* bs, const double* s, const double* ss,
                             Py_ssize_t lo, Py_ssize_t hi, bint quoted, double inv,
                             double limit) noexcept nogil:
    # The first row of [lo, hi) (at most one block) that breaks the row rules or the price
    # rule, or -1; ``quoted``: every row of the range is at or after the first quote.
    cdef Py_ssize_t k
    cdef bint flag = False
    cdef double q = quoted
    for k in range(lo, hi):
        # "if: flag = True" rather than "flag |=": gcc vectorises the one, not the other.
        if (maybe_breaks_schema(p[k], a[k], b[k], bs[k], s[k], ss[k], q)
                | maybe_unfit(p[k], b[k], s[k], inv, limit)):
            flag = True
    if flag:
        for k in range(lo, hi):
            if (breaks_schema(p[k], a[k], b[k], bs[k], s[k], ss[k], quoted)
                    or unfit(p[k], b[k], s[k], inv, limit)):
                return k
    return -1


cdef Py_ssize_t first_unfit_in(const double* p, const double* b, const double* s,
                               Py_ssize_t lo, Py_ssize_t hi, double inv,
                               double limit) noexcept nogil:
    # The first row of [lo, hi) (at most one block) that breaks the price rule, or -1.
    cdef Py_ssize_t k
    cdef bint flag = False
    for k in range(lo, hi):
        if maybe_unfit(p[k], b[k], s[k], inv, limit):
            flag = True
    if flag:
        for k in range(lo, hi):
            if unfit(p[k], b[k], s[k], inv, limit):
                return k
    return -1


cdef (double, double) grid(double tick_size):
    # Ticks per unit of price and the 2**53-tick limit; without a tick size (<= 0), 0 and
    # NaN, with which no price is off the grid (0 x x is 0 or NaN) or at the limit (NaN
    # compares false), so the kernels need no second version for it.
    if tick_size > 0.0:
        return 1.0 / tick_size, MAX_UNITS * tick_size
    return 0.0, NAN


def first_bad_row(const double[::1] price, const double[::1] amount,
                  const double[::1] bid_price, const double[::1] bid_amount,
                  const double[::1] ask_price, const double[::1] ask_amount,
                  double tick_size=0.0):
    """The first row that breaks a TAQ row rule of :mod:`mmsim.data.schema`, or -1.

    One pass in C over the six columns, so that valid data costs one read of each;
    :func:`mmsim.data.schema.validate_taq` works out what is wrong with a row this finds.
    The rules: a finite amount; a trade (amount != 0) has a positive price; from the first
    row with any quote value on, all four quote values are finite; sizes >= 0, prices > 0
    and bid < ask wherever they are given. With a ``tick_size``, also the rules of
    :func:`first_unfit_price`, in the same pass.

    Parameters
    ----------
    price, amount, bid_price, bid_amount, ask_price, ask_amount : numpy.ndarray
        float64 TAQ columns of one length.
    tick_size : float, default 0.0
        When > 0, a row whose price, bid_price or ask_price is 2**53 ticks or more, or whose
        bid_price or ask_price is not a whole number of ticks (within 1e-6), is bad too.

    Returns
    -------
    int
    """
    cdef Py_ssize_t lo, hi, start, bad = -1, n = price.shape[0]
    cdef const double *p
    cdef const double *a
    cdef const double *b
    cdef const double *bs
    cdef const double *s
    cdef const double *ss
    cdef double inv, limit
    cdef bint quoted = False
    if not (amount.shape[0] == bid_price.shape[0] == bid_amount.shape[0] == ask_price.shape[0]
            == ask_amount.shape[0] == n):
        raise ValueError("every TAQ column needs one value per row")
    if n == 0:
        return -1
    p, a, b, bs, s, ss = (&price[0], &amount[0], &bid_price[0], &bid_amount[0],
                          &ask_price[0], &ask_amount[0])
    inv, limit = grid(tick_size)
    with nogil:
        start = 0
        while start < n and bad < 0:
            lo, hi = start, min(start + BLOCK, n)
            if not quoted:
                # Before the first quote all four quote values are NaN. The block holding the
                # first quote is cut there, while it is in cache: rows before it are checked
                # as unquoted, the rest (and every later block) as quoted.
                while lo < hi and isnan(b[lo]) and isnan(bs[lo]) and isnan(s[lo]) and isnan(ss[lo]):
                    lo += 1
                bad = first_bad_in(p, a, b, bs, s, ss, start, lo, False, inv, limit)
                quoted = lo < hi
            if bad < 0:
                bad = first_bad_in(p, a, b, bs, s, ss, lo, hi, True, inv, limit)
            start = hi
    return bad


def first_unfit_price(const double[::1] price, const double[::1] bid_price,
                      const double[::1] ask_price, double tick_size):
    """The first row whose prices do not fit the tick grid, or -1.

    The engine holds prices as whole ticks in int64: a price, bid_price or ask_price of
    2**53 ticks or more is not exact there, and quotes are book levels, so whole ticks
    (within 1e-6); a print may be an off-grid VWAP. NaN (no quote, no trade) fits. One pass
    in C over the three columns.

    Parameters
    ----------
    price, bid_price, ask_price : numpy.ndarray
        float64 columns of one length.
    tick_size : float
        > 0.

    Returns
    -------
    int
    """
    cdef Py_ssize_t start, bad = -1, n = price.shape[0]
    cdef const double *p
    cdef const double *b
    cdef const double *s
    cdef double inv, limit
    if not (bid_price.shape[0] == ask_price.shape[0] == n):
        raise ValueError("every TAQ column needs one value per row")
    if not tick_size > 0.0:
        raise ValueError(f"tick_size must be positive, got {tick_size!r}")
    if n == 0:
        return -1
    inv, limit = grid(tick_size)
    p, b, s = &price[0], &bid_price[0], &ask_price[0]
    with nogil:
        start = 0
        while start < n and bad < 0:
            bad = first_unfit_in(p, b, s, start, min(start + BLOCK, n), inv, limit)
            start += BLOCK
    return bad


def first_off_grid(const double[::1] column, double tick_size):
    """The first row whose value is not a whole number of ticks (NaN counts as on the grid).

    Parameters
    ----------
    column : numpy.ndarray
        float64 prices.
    tick_size : float

    Returns
    -------
    int
        The row, or -1 when every value is on the grid (within 1e-6 of a tick).
    """
    cdef Py_ssize_t k, n = column.shape[0], bad = -1
    cdef double inv = 1.0 / tick_size
    with nogil:
        for k in range(n):
            if off_grid(column[k] * inv):
                bad = k
                break
    return bad


def first_descent(const int64_t[::1] times):
    """The first row whose time is before the time of the row above it, or -1.

    One pass in C without the temporary arrays of ``times[1:] < times[:-1]``: the time
    columns of long replays are checked before every run. Blocks are flagged without
    branches, as the checks above are.

    Parameters
    ----------
    times : numpy.ndarray
        int64 times (nanoseconds; NaT, the int64 minimum, descends from any time).

    Returns
    -------
    int
    """
    cdef Py_ssize_t n = times.shape[0], start = 1, end, k, bad = -1
    cdef const int64_t* t
    cdef uint64_t x, y, signs
    if n < 2:
        return -1
    t = &times[0]
    with nogil:
        while start < n and bad < 0:
            end = min(start + BLOCK, n)
            # x < y for int64 is the sign of x - y wherever x and y have the same sign (the
            # difference cannot overflow), in unsigned arithmetic that wraps: without SSE4.2
            # there is no vector compare of int64, but subtraction and bit operations
            # vectorise everywhere. A block is flagged where a difference is negative or
            # neighbours differ in sign (NaT, the int64 minimum, next to a time), and then
            # tested row by row.
            signs = 0
            for k in range(start, end):
                x = <uint64_t>t[k]
                y = <uint64_t>t[k - 1]
                signs |= (x - y) | (x ^ y)
            if signs >> 63:
                for k in range(start, end):
                    if t[k] < t[k - 1]:
                        bad = k
                        break
            start = end
    return bad
