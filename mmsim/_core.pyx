# The event loop of the simulator: replays TAQ rows, applies the strategy's actions after
# their latency, models the queue ahead of each order and fills it (DESIGN.md, "Fill
# semantics", rules 1-11). Everything in the loop is C: records are structs in buffers NumPy
# views, and a section of replay long enough to let other threads run is run without the GIL.
cimport cython
cimport numpy as cnp
import numbers

import numpy as np

from libc.math cimport INFINITY, NAN, fabs, floor, isfinite, isnan
from libc.stdint cimport INT64_MAX, INT64_MIN, int8_t, int32_t, int64_t
from libc.stdlib cimport free, malloc, qsort, realloc
from libc.string cimport memcpy, memmove, memset
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.mem cimport PyMem_RawFree, PyMem_RawMalloc, PyMem_RawRealloc
from cpython.pyport cimport PY_SSIZE_T_MAX
from cpython.pythread cimport (PyThread_acquire_lock, PyThread_allocate_lock,
                               PyThread_release_lock, PyThread_type_lock, WAIT_LOCK)
from cpython.ref cimport Py_INCREF

from mmsim.latency cimport LatencyModel
from mmsim.queue cimport QueueModel

cnp.import_array()

cdef extern from "numpy/arrayobject.h":
    # An array over memory the caller owns (a Table's buffer); takes over one reference to
    # ``descr``.
    object PyArray_NewFromDescr(void* subtype, void* descr, int nd, cnp.npy_intp* dims,
                                cnp.npy_intp* strides, void* data, int flags, void* obj)

cdef extern from *:
    """
    #ifndef MMSIM_DEBUG
    #define MMSIM_DEBUG 0
    #endif
    """
    int MMSIM_DEBUG

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define mmsim_prefetch(p) __builtin_prefetch(p)
    #define mmsim_prefetch_write(p) __builtin_prefetch(p, 1)
    #else
    #define mmsim_prefetch(p) ((void)0)
    #define mmsim_prefetch_write(p) ((void)0)
    #endif
    """
    # A hint to fetch the cache line of ``p`` ahead of its read, or of a write to it
    # (nothing where unsupported).
    void prefetch "mmsim_prefetch" (const void* p) noexcept nogil
    void prefetch_write "mmsim_prefetch_write" (const void* p) noexcept nogil

cdef extern from *:
    """
    /* Whether row k's quote or print is outside (lo, hi), or, with a ``position``, its mid
       is not inside (safe_lo, safe_hi): Engine.skip's test of a row (row_matters), less the
       time. One test without a branch per part: whether a row prints is not predictable.
       NaN compares false: a missing quote reaches nothing (but is no safe mid). */
    static inline int mmsim_row_reaches(const double* bid, const double* ask,
                                        const double* amount, const double* price,
                                        Py_ssize_t k, double lo, double hi, int position,
                                        double safe_lo, double safe_hi) {
        double b = bid[k], a = ask[k], p = price[k], m = 0.5 * (b + a);
        return (b <= lo) | (a <= lo) | (b >= hi) | (a >= hi)
               | ((amount[k] != 0.0) & ((p <= lo) | (p >= hi)))
               | (position & ((m <= safe_lo) | (m >= safe_hi) | (m != m)));
    }

    /* skip's group test: whether any row of [k, k + MMSIM_SCAN_GROUP) may matter, with a
       quote or a print outside (lo, hi), or a mid not inside (safe_lo, safe_hi), or none.
       It may say yes where the exact test says no (a NaN mid without a position), never
       the reverse: a group it passes holds no row that matters. SSE2, which every x86-64
       CPU has, tests two rows an instruction: ordered compares are false for NaN, as the
       exact test's are; elsewhere the row test runs on each row. */
    #define MMSIM_SCAN_GROUP 16
    #if defined(__SSE2__)
    #include <emmintrin.h>
    static inline int mmsim_scan_group(const double* bid, const double* ask,
                                       const double* amount, const double* price,
                                       Py_ssize_t k, double lo, double hi, double safe_lo,
                                       double safe_hi) {
        const __m128d vlo = _mm_set1_pd(lo), vhi = _mm_set1_pd(hi);
        const __m128d slo = _mm_set1_pd(safe_lo), shi = _mm_set1_pd(safe_hi);
        const __m128d half = _mm_set1_pd(0.5), zero = _mm_setzero_pd();
        __m128d any = zero, b, a, p, q, m, out;
        int j;
        for (j = 0; j < MMSIM_SCAN_GROUP; j += 2) {
            b = _mm_loadu_pd(bid + k + j);
            a = _mm_loadu_pd(ask + k + j);
            p = _mm_loadu_pd(price + k + j);
            q = _mm_loadu_pd(amount + k + j);
            m = _mm_mul_pd(half, _mm_add_pd(b, a));
            out = _mm_or_pd(_mm_or_pd(_mm_cmple_pd(b, vlo), _mm_cmple_pd(a, vlo)),
                            _mm_or_pd(_mm_cmpge_pd(b, vhi), _mm_cmpge_pd(a, vhi)));
            out = _mm_or_pd(out, _mm_and_pd(_mm_cmpneq_pd(q, zero),
                                            _mm_or_pd(_mm_cmple_pd(p, vlo),
                                                      _mm_cmpge_pd(p, vhi))));
            out = _mm_or_pd(out, _mm_or_pd(_mm_cmpngt_pd(m, slo), _mm_cmpnlt_pd(m, shi)));
            any = _mm_or_pd(any, out);
        }
        return _mm_movemask_pd(any) != 0;
    }
    #else
    static inline int mmsim_scan_group(const double* bid, const double* ask,
                                       const double* amount, const double* price,
                                       Py_ssize_t k, double lo, double hi, double safe_lo,
                                       double safe_hi) {
        int any = 0, j;
        for (j = 0; j < MMSIM_SCAN_GROUP; j++)
            any |= mmsim_row_reaches(bid, ask, amount, price, k + j, lo, hi, 1, safe_lo,
                                     safe_hi);
        return any;
    }
    #endif
    """
    bint row_reaches "mmsim_row_reaches" (const double* bid, const double* ask,
                                          const double* amount, const double* price,
                                          Py_ssize_t k, double lo, double hi, bint position,
                                          double safe_lo, double safe_hi) noexcept nogil
    Py_ssize_t SCAN_GROUP "MMSIM_SCAN_GROUP"
    bint scan_group "mmsim_scan_group" (const double* bid, const double* ask,
                                        const double* amount, const double* price,
                                        Py_ssize_t k, double lo, double hi, double safe_lo,
                                        double safe_hi) noexcept nogil

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
REASON_NAMES = ("", "cancelled", "post_only", "no_quote", "end", "level", "amended", "ioc",
                "fok", "reduce_only", "margin", "liquidation", "liquidated")
LIQUIDITY_NAMES = ("maker", "taker")
CAUSE_NAMES = ("queue", "through", "cross", "taker", "liquidation")
TIF_NAMES = ("gtc", "ioc", "fok")
FILL_BOUNDS = ("none", "prints")

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


cdef int by_entry(const void* a, const void* b) noexcept nogil:
    # qsort order of a side's index: worst first, best last (higher key, then lower prio),
    # so that the best order is popped and inserted near the end of the array.
    cdef Entry* x = <Entry*>a
    cdef Entry* y = <Entry*>b
    if x.key != y.key:
        return (x.key > y.key) - (x.key < y.key)
    return (x.prio < y.prio) - (x.prio > y.prio)


cdef inline int64_t closed_slot(Order* o) noexcept nogil:
    # A compacted order's slot: negative (not in the book), holding its type and side for
    # Engine.record.
    return -1 - (o.type * 2 + (1 if o.side > 0 else 0))


cdef inline bint action_before(Action* a, Action* b) noexcept nogil:
    # Rule 2: actions apply in time order; equal times in sending order.
    return a.time < b.time or (a.time == b.time and a.seq < b.seq)


cdef inline bint may_reach(SideBook* s, int64_t reach) noexcept nogil:
    # Whether a row's quote may reach an order of this side, from the best entry of its index
    # alone (a stale best only means quote_side settles the index and looks again). Follow
    # orders and orders not yet sorted in always may.
    if s.n_follow or s.n != s.n_sorted:
        return True
    return s.n > 0 and s.entries[s.n - 1].key >= reach


cdef inline bint settled(SideBook* s) noexcept nogil:
    # Nothing went live, closed or rejoined on this side since its index was last settled
    # (Engine.settle): tested where the row loop calls settle, which is not inlined.
    return s.n == s.n_sorted and not s.dirty


cdef inline Py_ssize_t first_after(const int64_t[::1] times, Py_ssize_t lo, Py_ssize_t top,
                                    int64_t t) noexcept nogil:
    # The first row of [lo, top) whose time is after ``t``, else ``top``: a bisection, the
    # times being non-decreasing (checked on the way in).
    cdef Py_ssize_t mid
    while lo < top:
        mid = lo + (top - lo) // 2
        if times[mid] <= t:
            lo = mid + 1
        else:
            top = mid
    return lo


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
cdef Entry _e
cdef BalanceRow _b
cdef PositionRow _p
cdef FundingRow _fr

ORDER_DTYPE = np.asarray(<Order[:1]> &_o).dtype
FILL_DTYPE = np.asarray(<Fill[:1]> &_f).dtype
ACTION_DTYPE = np.asarray(<Action[:1]> &_a).dtype
ENTRY_DTYPE = np.asarray(<Entry[:1]> &_e).dtype
BALANCE_DTYPE = np.asarray(<BalanceRow[:1]> &_b).dtype
POSITION_DTYPE = np.asarray(<PositionRow[:1]> &_p).dtype
FUNDING_DTYPE = np.asarray(<FundingRow[:1]> &_fr).dtype


# -- table buffers --------------------------------------------------------------------------
# A buffer of POOL_MIN_BYTES or more is a mapping of its own (map_alloc), and when its table
# is freed it is parked here for the next table of the process to grow into, up to
# POOL_SLOTS buffers and POOL_MAX_BYTES in all (the largest kept). A run's record tables are
# tens of megabytes (about 140 MB at 20M rows); given back to the system when freed, they
# cost the next run a page fault, and the kernel's clearing, for every 4 KiB it writes: in
# a sweep or a comparison reading the result's frames, a tenth of a 5M-row run or more. A
# parked buffer's pages stay mapped.
# tracemalloc sees the buffers a table holds (domain TRACE_DOMAIN), not parked ones.
# Smaller buffers are PyMem_Raw*'s, traced in domain 0.
#
# Why mappings rather than malloc: glibc serves blocks below its mmap threshold, which the
# first large array a process frees raises to 32 MiB, from its heap, and a table growing
# there by doubling leaves each smaller block behind as a hole it does not give back: at
# 20M rows the heap kept about 90 MB of 1 to 16 MiB holes beside 140 MB of records. A
# mapping grows with mremap, which moves page tables rather than bytes: no copy, no hole.
# Elsewhere than Linux, malloc and realloc.
cdef extern from *:
    """
    #ifdef __linux__
    #include <sys/mman.h>
    #include <unistd.h>
    static void* mmsim_map(size_t size) {
        void* p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
    static void* mmsim_remap(void* p, size_t old, size_t size) {
        void* q = mremap(p, old, size, MREMAP_MAYMOVE);
        return q == MAP_FAILED ? NULL : q;
    }
    static void mmsim_unmap(void* p, size_t size) { munmap(p, size); }
    /* Give back the whole pages of [p, p + size): they read as zeros when next touched. */
    static void mmsim_release(char* p, size_t size) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        size_t lo = ((size_t)p + page - 1) / page * page, hi = ((size_t)p + size) / page * page;
        if (hi > lo)
            madvise((void*)lo, hi - lo, MADV_DONTNEED);
    }
    #else
    #include <stdlib.h>
    static void* mmsim_map(size_t size) { return malloc(size); }
    static void* mmsim_remap(void* p, size_t old, size_t size) { return realloc(p, size); }
    static void mmsim_unmap(void* p, size_t size) { free(p); }
    static void mmsim_release(char* p, size_t size) { }
    #endif
    """
    void* map_alloc "mmsim_map"(size_t size) nogil
    void* map_grow "mmsim_remap"(void* p, size_t old, size_t size) nogil
    void map_free "mmsim_unmap"(void* p, size_t size) nogil
    void map_release "mmsim_release"(char* p, size_t size) nogil

cdef enum:
    POOL_SLOTS = 8
    TRACE_DOMAIN = 0x6d6d73
    # Fixed: which allocator a buffer came from follows from its size.
    POOL_MIN_BYTES = 1 << 20
    # Mapped sizes are whole multiples of this (a multiple of every page size in use),
    # larger than any record, so a table's ``cap x itemsize`` rounds up to its mapping.
    MAP_ROUND = 1 << 16
cdef size_t POOL_MAX_BYTES = <size_t>256 << 20


cdef inline size_t mapped(size_t size) noexcept nogil:
    # The length of the mapping of a buffer of ``size`` bytes (>= POOL_MIN_BYTES).
    return (size + MAP_ROUND - 1) // MAP_ROUND * MAP_ROUND

cdef extern from "Python.h":
    int PyTraceMalloc_Track(unsigned int domain, size_t ptr, size_t size) nogil
    int PyTraceMalloc_Untrack(unsigned int domain, size_t ptr) nogil

cdef struct Parked:
    void* p
    size_t size
    size_t kind         # the record size of the table that held it

cdef Parked pool[POOL_SLOTS]
# Tables grow without the GIL, from any thread running an engine.
cdef PyThread_type_lock pool_lock = PyThread_allocate_lock()


cdef void* pool_take(size_t need, size_t kind, size_t* size) noexcept nogil:
    # The smallest parked buffer of at least ``need`` bytes (its size in ``size``), or NULL;
    # one a table of ``kind`` held first. tracemalloc sees it from now on. The tables of a run take back the buffers their
    # like held in the run before, rather than each other's: a table taking a larger one
    # would leave the next without, and the process would hold both.
    cdef int k, best = -1
    cdef bint same, best_same = False
    cdef void* p = NULL
    PyThread_acquire_lock(pool_lock, WAIT_LOCK)
    for k in range(POOL_SLOTS):
        if pool[k].p == NULL or pool[k].size < need:
            continue
        same = pool[k].kind == kind
        if best < 0 or same > best_same or (same == best_same
                                            and pool[k].size < pool[best].size):
            best = k
            best_same = same
    if best >= 0:
        p = pool[best].p
        size[0] = pool[best].size
        pool[best].p = NULL
    PyThread_release_lock(pool_lock)
    if p != NULL:
        PyTraceMalloc_Track(TRACE_DOMAIN, <size_t>p, size[0])
    return p


cdef void pool_park(void* p, size_t size, size_t kind) noexcept nogil:
    # Keep ``p`` (a mapping of ``size`` bytes) for a later table if it fits in POOL_SLOTS and
    # POOL_MAX_BYTES once smaller parked buffers are freed, smallest first: the larger a
    # buffer, the more page faults it saves. Else free it and keep what is parked.
    cdef int k, smallest, used = 0, smaller = 0
    cdef size_t total = 0, smaller_bytes = 0
    PyThread_acquire_lock(pool_lock, WAIT_LOCK)
    for k in range(POOL_SLOTS):
        if pool[k].p != NULL:
            used += 1
            total += pool[k].size
            if pool[k].size < size:
                smaller += 1
                smaller_bytes += pool[k].size
    if size > POOL_MAX_BYTES or total - smaller_bytes > POOL_MAX_BYTES - size \
            or used - smaller >= POOL_SLOTS:
        map_free(p, size)
    else:
        while used == POOL_SLOTS or total > POOL_MAX_BYTES - size:
            smallest = -1
            for k in range(POOL_SLOTS):
                if pool[k].p != NULL and (smallest < 0 or pool[k].size < pool[smallest].size):
                    smallest = k
            map_free(pool[smallest].p, pool[smallest].size)
            pool[smallest].p = NULL
            total -= pool[smallest].size
            used -= 1
        for k in range(POOL_SLOTS):
            if pool[k].p == NULL:
                pool[k].p = p
                pool[k].size = size
                pool[k].kind = kind
                break
    PyThread_release_lock(pool_lock)


cdef char* buffer_alloc(size_t size, size_t kind, size_t* got) noexcept nogil:
    # A buffer of at least ``size`` bytes, uncleared (its size in ``got``); NULL when out of
    # memory.
    cdef void* p
    got[0] = size
    if size < POOL_MIN_BYTES:
        return <char*>PyMem_RawMalloc(size)
    p = pool_take(size, kind, got)
    if p == NULL:
        got[0] = mapped(size)
        p = map_alloc(got[0])
        if p != NULL:
            PyTraceMalloc_Track(TRACE_DOMAIN, <size_t>p, got[0])
    return <char*>p


cdef char* buffer_remap(char* p, size_t old, size_t size, size_t* got) noexcept nogil:
    # A mapping ``p`` of buffer_alloc's (``old`` bytes asked for) grown to at least
    # ``size`` bytes (its size in ``got``), in place or moved, its bytes kept without a
    # copy; NULL when out of memory, ``p`` then as it was.
    cdef char* q
    got[0] = mapped(size)
    q = <char*>map_grow(p, mapped(old), got[0])
    if q != NULL:
        PyTraceMalloc_Untrack(TRACE_DOMAIN, <size_t>p)
        PyTraceMalloc_Track(TRACE_DOMAIN, <size_t>q, got[0])
    return q


cdef char* buffer_grow(char* p, size_t old, size_t used, size_t size, size_t kind,
                       size_t* got) noexcept nogil:
    # buffer_alloc's ``p`` of ``old`` bytes, the first ``used`` of them kept, grown to at
    # least ``size`` bytes (its size in ``got``); NULL when out of memory, ``p`` then as it
    # was.
    cdef char* q
    got[0] = size
    if size < POOL_MIN_BYTES:
        return <char*>PyMem_RawRealloc(p, size)
    if old >= POOL_MIN_BYTES:
        q = <char*>pool_take(size, kind, got)
        if q == NULL:
            return buffer_remap(p, old, size, got)      # nothing parked fits
    else:
        q = buffer_alloc(size, kind, got)
        if q == NULL:
            return NULL
    memcpy(q, p, used)
    buffer_free(p, old, kind)
    return q


cdef void buffer_release(void* p, size_t size) noexcept nogil:
    # Free a buffer of buffer_alloc's without parking it.
    if size < POOL_MIN_BYTES:
        PyMem_RawFree(p)
        return
    PyTraceMalloc_Untrack(TRACE_DOMAIN, <size_t>p)
    map_free(p, mapped(size))


cdef void buffer_free(void* p, size_t size, size_t kind) noexcept nogil:
    # Free (or park) a buffer of buffer_alloc's, ``size`` being what it asked for or more.
    if p == NULL:
        return
    if size < POOL_MIN_BYTES:
        PyMem_RawFree(p)
        return
    PyTraceMalloc_Untrack(TRACE_DOMAIN, <size_t>p)
    pool_park(p, mapped(size), kind)


def buffer_pool(limit=None):
    """Report, or limit, the record buffers kept for later runs of this process.

    A run's record tables (orders, fills, balances) of a mebibyte or more are kept when the
    run's result lets go of them, for the next runs to fill: writing into memory the process
    already holds spares them a page fault for every 4 KiB (a tenth of a 5M-row run or more
    that reads its result's tables, in a sweep or any loop of runs). At most 8 buffers and
    ``limit`` bytes are kept, the largest first.

    Parameters
    ----------
    limit : int, optional
        The most bytes to keep from now on (256 MiB by default; 0 keeps none). Setting it
        frees every buffer kept so far.

    Returns
    -------
    dict
        ``buffers`` and ``bytes`` kept now, and the ``limit``.

    Raises
    ------
    TypeError, ValueError
        If ``limit`` is not a whole number of bytes, 0 or more (``mmsim.checks.number``).
    """
    global POOL_MAX_BYTES
    cdef int k, n = 0
    cdef size_t total = 0
    from mmsim.checks import number

    limit = number(limit, "buffer_pool limit", nonnegative=True, integer=True,
                   allow_none=True)
    if limit is not None:
        limit = min(limit, 2**62)
    PyThread_acquire_lock(pool_lock, WAIT_LOCK)
    if limit is not None:
        for k in range(POOL_SLOTS):
            if pool[k].p != NULL:
                map_free(pool[k].p, pool[k].size)
                pool[k].p = NULL
        POOL_MAX_BYTES = <size_t>limit
    for k in range(POOL_SLOTS):
        if pool[k].p != NULL:
            n += 1
            total += pool[k].size
    state = {"buffers": n, "bytes": total, "limit": POOL_MAX_BYTES}
    PyThread_release_lock(pool_lock)
    return state


@cython.final
cdef class Buffer:
    """A retired buffer of a Table, freed with it."""
    cdef void* p
    cdef size_t size
    cdef size_t kind

    @staticmethod
    cdef Buffer wrap(void* p, size_t size, size_t kind):
        cdef Buffer b = Buffer.__new__(Buffer)
        b.p = p
        b.size = size
        b.kind = kind
        return b

    def __dealloc__(self):
        buffer_free(self.p, self.size, self.kind)


@cython.final
cdef class Table:
    """A growable array of C records in a buffer of its own, viewed by NumPy without copies.

    A table nobody has viewed grows into a buffer parked by an earlier table of the process
    (see "table buffers" above) or else in place or by moving its pages (small tables:
    ``realloc``); the new part is never cleared, so the record tables of a long
    run are not zeroed and copied at every doubling. Once :meth:`view` has handed out an
    array over the buffer, growing copies into a new buffer and keeps the old one until the
    table is freed: every array viewing it (each holds a reference to the table) stays
    valid, frozen at its last state, rather than dangling.

    Parameters
    ----------
    dtype : numpy.dtype
        Record layout, matching a C struct of ``_core.pxd``.
    capacity : int, default 64
        Records allocated up front.
    """

    def __cinit__(self, dtype, Py_ssize_t capacity=64):
        self.dtype = np.dtype(dtype)
        self.itemsize = self.dtype.itemsize
        self.cap = max(capacity, 1)
        self.n = 0
        self.viewed = False
        self.retired = []
        cdef size_t got
        self.data = buffer_alloc(self.cap * self.itemsize, self.itemsize, &got)
        if self.data == NULL:
            raise MemoryError(f"cannot allocate {self.cap} records of {self.itemsize} bytes")
        self.cap = got // self.itemsize

    def __dealloc__(self):
        buffer_free(self.data, self.cap * self.itemsize, self.itemsize)

    cdef int grow(self) except -1 nogil:
        # Doubling (or more, into a parked buffer); the records past ``n`` are left
        # uncleared: they are written before they are read (push clears its record,
        # push_raw's callers write theirs).
        cdef char* p
        cdef size_t size = 2 * self.cap * self.itemsize, got
        cdef size_t old = self.cap * self.itemsize
        if self.viewed:
            p = buffer_alloc(size, self.itemsize, &got)
            if p != NULL:
                memcpy(p, self.data, self.n * self.itemsize)
                with gil:
                    # Arrays handed out view the old buffer: keep it while the table lives.
                    self.retired.append(Buffer.wrap(self.data, old, self.itemsize))
        else:
            p = buffer_grow(self.data, old, self.n * self.itemsize, size, self.itemsize,
                            &got)
        if p == NULL:
            with gil:
                raise MemoryError(f"cannot grow a table to {2 * self.cap} records of "
                                  f"{self.itemsize} bytes")
        self.data = p
        self.cap = got // self.itemsize
        return 0

    cdef char* push(self) except NULL nogil:
        # A new record, zeroed: its fields start at 0 unless the caller sets them.
        cdef char* p = self.push_raw()
        memset(p, 0, self.itemsize)
        return p

    cdef char* push_raw(self) except NULL nogil:
        # A new record, not cleared: for callers that write all of it (a pointer of the
        # row loop's scratch, an action, a slot), once or more per row.
        if self.n == self.cap:
            self.grow()
        self.n += 1
        return self.data + (self.n - 1) * self.itemsize

    def view(self):
        """Return the records in use as a read-only NumPy array viewing this buffer."""
        cdef cnp.npy_intp dims[1]
        dims[0] = self.n
        self.viewed = True
        # PyArray_NewFromDescr takes over one reference to the dtype.
        Py_INCREF(self.dtype)
        arr = PyArray_NewFromDescr(<void*>np.ndarray, <void*>self.dtype, 1, dims, NULL,
                                   self.data, 0, NULL)
        cnp.set_array_base(arr, self)
        return arr

    def __len__(self):
        return self.n


# ColumnTable.put fetches the cache lines of its columns this many rows ahead; its columns
# start this many bytes apart beyond their size.
cdef enum:
    PUT_AHEAD = 64
    CACHE_LINE = 64


@cython.final
cdef class ColumnTable:
    """A growable table of C records kept as one contiguous column per field.

    The engine's records (orders, fills, balances, positions, funding) are written a row at
    a time and read back as whole columns: a result's DataFrame wraps each column as it is,
    without the copy (and the second copy of the table in memory) that gathering fields out
    of an array of structs takes. The ``i``-th column is ``cap x width[i]`` bytes near
    ``cap x at[i]`` of one buffer (see "table buffers" above), the 8-byte fields first so
    that every column is aligned for its type, and the ``i``-th column ``i`` cache lines
    further on: at one row, columns a power of two of bytes apart would all fall in one set
    of the cache, which holds 8 lines of a set, not the 30 of an order's fields. Growing
    moves the columns to their places in a buffer twice the size (see ``grow``). Once
    :meth:`columns` has handed the columns out the table is no longer written
    (``Engine.tables``): growing then raises rather than move them from under their arrays.

    Parameters
    ----------
    dtype : numpy.dtype
        The layout of the C struct a row comes from (``ORDER_DTYPE``, ``FILL_DTYPE``, ...):
        one column per field, of the field's own type.
    capacity : int, default 64
        Rows allocated up front.
    """

    def __cinit__(self, dtype, Py_ssize_t capacity=64):
        cdef Py_ssize_t j, k, start = 0, placed = 0
        cdef size_t got
        self.dtype = np.dtype(dtype)
        names = self.dtype.names
        self.named = tuple((name, self.dtype.fields[name][0]) for name in names)
        self.m = len(names)
        self.width = <Py_ssize_t*>PyMem_RawMalloc(4 * max(self.m, 1) * sizeof(Py_ssize_t))
        self.cols = <char**>PyMem_RawMalloc(max(self.m, 1) * sizeof(char*))
        if self.width == NULL or self.cols == NULL:
            raise MemoryError()
        self.at = self.width + self.m
        self.source = self.at + self.m
        self.slot = self.source + self.m
        for name in names:
            sub = self.dtype.fields[name][0]
            if sub.itemsize not in (1, 4, 8) or sub.hasobject or sub.subdtype is not None:
                raise TypeError(f"field {name!r} ({sub}) is not a 1, 4 or 8-byte scalar")
        # The columns in the order they lie: the 8-byte fields, then the 4, then the 1-byte.
        for k in (8, 4, 1):
            for j, name in enumerate(names):
                sub, offset = self.dtype.fields[name][:2]
                if sub.itemsize == k:
                    self.width[placed] = k
                    self.at[placed] = start
                    self.source[placed] = offset
                    self.slot[j] = placed
                    start += k
                    placed += 1
            if k == 8:
                self.n8 = placed
            elif k == 4:
                self.n4 = placed - self.n8
        self.row_bytes = start
        self.n = 0
        self.viewed = False
        self.cap = max(capacity, 1)
        self.data = buffer_alloc(self.span(self.cap), self.row_bytes, &got)
        if self.data == NULL:
            raise MemoryError(f"cannot allocate {self.cap} rows of {self.row_bytes} bytes")
        self.cap = self.fit(got)
        self.place()

    def __dealloc__(self):
        buffer_free(self.data, self.span(self.cap), self.row_bytes)
        PyMem_RawFree(self.width)
        PyMem_RawFree(self.cols)

    cdef size_t span(self, Py_ssize_t cap) noexcept nogil:
        # Bytes of a buffer of ``cap`` rows.
        return cap * self.row_bytes + self.m * CACHE_LINE

    cdef Py_ssize_t fit(self, size_t size) noexcept nogil:
        # Rows a buffer of ``size`` bytes holds.
        return (size - self.m * CACHE_LINE) // self.row_bytes

    cdef size_t start(self, Py_ssize_t i, Py_ssize_t cap) noexcept nogil:
        # Where the i-th column (in the order they lie) starts in a buffer of ``cap`` rows.
        return cap * self.at[i] + i * CACHE_LINE

    cdef void place(self) noexcept nogil:
        # Where each column starts, in the order they lie, for the current buffer and size.
        cdef Py_ssize_t i
        for i in range(self.m):
            self.cols[i] = self.data + self.start(i, self.cap)

    cdef int grow(self) except -1 nogil:
        # Doubling (or more, into a parked buffer); every column moves. A mapping with no
        # parked buffer to take grows in place or by moving its pages (buffer_remap), its
        # columns then move up within it, the last first, and the pages they left are given
        # back: the old and the new buffer are never held at once. Otherwise the rows in use
        # are copied into the new buffer (parked, or small) and the old one is freed, not
        # parked: the pool keeps the buffers tables end with, not the steps they grew
        # through. The rows past ``n`` are left uncleared: they are written before they are
        # read.
        cdef char* p = NULL
        cdef size_t size = self.span(2 * self.cap), old = self.span(self.cap), got = 0
        cdef Py_ssize_t i, cap
        if self.viewed:
            with gil:
                raise RuntimeError("a record table grew after its columns were handed out")
        if old >= POOL_MIN_BYTES:
            p = <char*>pool_take(size, self.row_bytes, &got)
            if p == NULL:
                p = buffer_remap(self.data, old, size, &got)
                if p == NULL:
                    return self.no_room()
                cap = self.fit(got)
                for i in reversed(range(self.m)):
                    memmove(p + self.start(i, cap), p + self.start(i, self.cap),
                            self.n * self.width[i])
                self.data = p
                self.cap = cap
                self.place()
                self.release_stale(old)
                return 0
        else:
            p = buffer_alloc(size, self.row_bytes, &got)
            if p == NULL:
                return self.no_room()
        cap = self.fit(got)
        for i in range(self.m):
            memcpy(p + self.start(i, cap), self.cols[i], self.n * self.width[i])
        buffer_release(self.data, old)
        self.data = p
        self.cap = cap
        self.place()
        return 0

    cdef int no_room(self) except -1 nogil:
        with gil:
            raise MemoryError(f"cannot grow a table to {2 * self.cap} rows of "
                              f"{self.row_bytes} bytes")

    cdef void release_stale(self, size_t old) noexcept nogil:
        # The first ``old`` bytes of the buffer held the columns before they moved up: give
        # back the pages of it that no column uses now (each column lies past the one
        # before it).
        cdef size_t done = 0, lo, hi
        cdef Py_ssize_t i
        for i in range(self.m + 1):
            if i < self.m:
                lo = self.cols[i] - self.data
                hi = lo + self.n * self.width[i]
            else:
                lo = hi = old
            if lo > old:
                lo = old
            if lo > done:
                map_release(self.data + done, lo - done)
            if hi > done:
                done = hi
            if done >= old:
                break

    cdef int reserve(self) except -1 nogil:
        # One more row, not written: the caller puts it later (an order's row of the orders
        # table is written when it leaves the book).
        if self.n == self.cap:
            self.grow()
        self.n += 1
        return 0

    cdef int append(self, const void* record) except -1 nogil:
        # A new row from the struct at ``record``.
        self.reserve()
        self.put(self.n - 1, record)
        return 0

    cdef void put(self, Py_ssize_t k, const void* record) noexcept nogil:
        # Row k (< n) from the struct at ``record``, a field into each column: the columns
        # of each width in a loop of their own, without a test a field (the engine writes a
        # row per fill, balance and order).
        cdef const char* src = <const char*>record
        cdef char** col = self.cols
        cdef const Py_ssize_t* at = self.source
        cdef Py_ssize_t i, n8 = self.n8, n84 = self.n8 + self.n4, m = self.m
        cdef Py_ssize_t ahead = k + PUT_AHEAD
        if (k & 7) == 0 and ahead < self.cap:
            # Rows come in order (an order's row nearly so): each column is a stream of
            # writes, too many at once for the hardware to fetch ahead of them all. Each
            # 8-byte column starts a new cache line every 8 rows; fetch the one PUT_AHEAD
            # rows on (and the 4 and 1-byte columns', at their pace).
            for i in range(n8):
                prefetch_write(col[i] + 8 * ahead)
            if (k & 15) == 0:
                for i in range(n8, n84):
                    prefetch_write(col[i] + 4 * ahead)
            if (k & 63) == 0:
                for i in range(n84, m):
                    prefetch_write(col[i] + ahead)
        for i in range(n8):
            (<int64_t*>col[i])[k] = (<const int64_t*>(src + at[i]))[0]
        for i in range(n8, n84):
            (<int32_t*>col[i])[k] = (<const int32_t*>(src + at[i]))[0]
        for i in range(n84, m):
            col[i][k] = src[at[i]]

    cdef void get(self, Py_ssize_t k, void* record) noexcept nogil:
        # Row k (< n) into the struct at ``record`` (its padding left as it was).
        cdef char* dst = <char*>record
        cdef char** col = self.cols
        cdef const Py_ssize_t* at = self.source
        cdef Py_ssize_t i
        for i in range(self.n8):
            memcpy(dst + at[i], col[i] + 8 * k, 8)
        for i in range(self.n8, self.n8 + self.n4):
            memcpy(dst + at[i], col[i] + 4 * k, 4)
        for i in range(self.n8 + self.n4, self.m):
            dst[at[i]] = col[i][k]

    cdef object record(self, Py_ssize_t k):
        # A copy of row k as a read-only NumPy scalar of ``dtype``: it stays what it was
        # when the table grows.
        cdef bytes raw = PyBytes_FromStringAndSize(NULL, self.dtype.itemsize)
        cdef char* p = <char*>raw
        memset(p, 0, self.dtype.itemsize)
        self.get(k, p)
        return np.frombuffer(raw, dtype=self.dtype)[0]

    def columns(self):
        """Return the rows in use as a dict of one-dimensional arrays, one per field.

        The arrays view this table's buffer (no copy) and keep the table alive. They are
        writeable: a table is handed over once its engine has stopped writing (see
        ``Engine.tables``), and then belongs to whoever holds the arrays.

        Returns
        -------
        dict
            Field name to array, in the order of the struct's fields.
        """
        cdef cnp.npy_intp dims[1]
        cdef Py_ssize_t j
        dims[0] = self.n
        self.viewed = True
        out = {}
        for j, (name, sub) in enumerate(self.named):
            # PyArray_NewFromDescr takes over one reference to the dtype.
            Py_INCREF(sub)
            arr = PyArray_NewFromDescr(<void*>np.ndarray, <void*>sub, 1, dims, NULL,
                                       self.cols[self.slot[j]], cnp.NPY_ARRAY_CARRAY, NULL)
            cnp.set_array_base(arr, self)
            out[name] = arr
        return out

    def __len__(self):
        return self.n


cdef int ensure(void** buf, Py_ssize_t* cap, Py_ssize_t need, size_t itemsize) except -1 nogil:
    # Room for ``need`` items in a malloc'd buffer (amortised doubling): a side's index
    # entries, its follow ids, the merge scratch.
    cdef Py_ssize_t grown
    cdef void* p
    if need <= cap[0]:
        return 0
    grown = max(need, 2 * cap[0], 16)
    p = realloc(buf[0], grown * itemsize)
    if p == NULL:
        with gil:
            raise MemoryError(f"cannot index {need} resting orders")
    buf[0] = p
    cap[0] = grown
    return 0


# Engine.skip tests this many rows one at a time before a group (SCAN_GROUP) a test.
# Engine.run replays this many rows of a section holding the GIL, the rest without it.
cdef enum:
    SCAN_HEAD = 4
    SCAN_AHEAD = 64
    HOLD_ROWS = 4096
#: Rows of a section between two strategy calls that Engine.run replays holding the GIL.
SECTION_HELD_ROWS = HOLD_ROWS


cdef inline void prefetch_scan(const int64_t* t, const double* bid, const double* ask,
                               const double* price, const double* amount, Py_ssize_t k,
                               Py_ssize_t last) noexcept nogil:
    # Fetch the rows k to last (a group: two cache lines of each) of the five columns the row
    # scan reads, ahead of Engine.skip's reads.
    prefetch(t + k)
    prefetch(t + last)
    prefetch(bid + k)
    prefetch(bid + last)
    prefetch(ask + k)
    prefetch(ask + last)
    prefetch(price + k)
    prefetch(price + last)
    prefetch(amount + k)
    prefetch(amount + last)


cdef inline bint row_matters(const int64_t* t, const double* bid, const double* ask,
                             const double* amount, const double* price, Py_ssize_t k,
                             int64_t until, double lo, double hi, bint position,
                             double safe_lo, double safe_hi) noexcept nogil:
    # Whether row k stops Engine.skip: it is after ``until``, or it reaches our book
    # (row_reaches).
    return (t[k] > until) | row_reaches(bid, ask, amount, price, k, lo, hi, position,
                                         safe_lo, safe_hi)


@cython.final
cdef class Engine:
    """The simulator state and its event loop.

    Built by :func:`mmsim.backtest`, which validates every argument first; the arrays must be
    C-contiguous, ``time`` int64 nanoseconds non-decreasing, prices and sizes float64. Every
    argument is keyword-only, so that two of the same type cannot be swapped silently.

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
    latency, cancel_latency, amend_latency, feed_latency : mmsim.latency.LatencyModel
        Latency of adds, cancels and amends (one draw per action) and of the market data the
        strategy sees (one draw per strategy call). Each is reset here, so that the same
        model objects give the same run (rule 11).
    local_time : numpy.ndarray, optional
        int64 nanoseconds at which each TAQ row reached us; the strategy sees a row once its
        local time (plus the feed latency) has passed. None: the row's exchange time.
    queue_position : float
        Share of the displayed size queued ahead of an order joining a level.
    queue_model : mmsim.queue.QueueModel
        How the queue ahead of a resting order moves.
    fill_bound : int
        ``FILL_BOUNDS`` index: 0 "none", 1 "prints".
    initial_margin : float, default 0.0
        Margin rate on the value of the exposure (1 / leverage); 0 turns margin, and
        liquidation, off.
    maintenance_margin : float, default 0.0
        Margin rate on the value of the position below which it is liquidated (0: only
        when equity goes negative).
    funding_time, funding_rate : numpy.ndarray, optional
        int64 nanoseconds (increasing) and the funding rate paid at each (DESIGN "Account").
    mark_price : numpy.ndarray, optional
        float64 mark price of each row (NaN: the mid); None: the mid.
    source : iterator, optional
        The rows after these, for a streamed replay: it yields tuples ``(time, price,
        amount, bid_price, bid_amount, ask_price, ask_amount, local_time, mark_price)`` of
        arrays as above (the last two None when the first rows have none), checked and in
        time order after the rows before them. The engine pulls the next tuple when it has
        replayed every row it holds, and keeps of the rows before only those it may still
        read, so the result is that of one replay of all the rows together.
    keep_orders : bool, default True
        Record every order in the orders table (False: the table stays empty, so that a
        long run's memory does not grow with its orders).
    keep_fills : bool, default True
        Record every fill and position change (False: both tables stay empty; each fill
        still reaches ``on_fill``).
    balance_every : int, default 0
        Nanoseconds between balance rows: a row is written at the first call, fill or
        funding time at or after each multiple of it (UTC), and one at the end of the run
        for the state after the last one written. 0: a row at every one of them.
    """

    def __init__(self, *, const int64_t[::1] time, const double[::1] price,
                 const double[::1] amount, const double[::1] bid_price,
                 const double[::1] bid_amount, const double[::1] ask_price,
                 const double[::1] ask_amount, const int64_t[::1] signal_time,
                 const double[:, ::1] signals, bint inverse, double tick_size,
                 double lot_size, double contract_size, double maker_fee, double taker_fee,
                 double balance, LatencyModel latency not None,
                 LatencyModel cancel_latency not None, LatencyModel amend_latency not None,
                 LatencyModel feed_latency not None, double queue_position,
                 QueueModel queue_model not None, int fill_bound,
                 double initial_margin=0.0, double maintenance_margin=0.0,
                 const int64_t[::1] local_time=None, const int64_t[::1] funding_time=None,
                 const double[::1] funding_rate=None, const double[::1] mark_price=None,
                 source=None, bint keep_orders=True, bint keep_fills=True,
                 int64_t balance_every=0):
        self.t_time = time
        self.t_price = price
        self.t_amount = amount
        self.t_bid = bid_price
        self.t_bid_amount = bid_amount
        self.t_ask = ask_price
        self.t_ask_amount = ask_amount
        self.n_rows = time.shape[0]
        self.row_budget = PY_SSIZE_T_MAX
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
        if fill_bound not in (FB_NONE, FB_PRINTS):
            raise ValueError(f"fill_bound must be one of {FILL_BOUNDS}, got code {fill_bound}")
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
        self.queue_model = queue_model
        self.fill_bound = fill_bound
        if not 0.0 <= initial_margin <= 1.0:
            raise ValueError(f"initial_margin must be a rate in [0, 1], got {initial_margin!r}")
        if not 0.0 <= maintenance_margin <= max(initial_margin, 0.0):
            raise ValueError(f"maintenance_margin must be a rate in [0, initial_margin], got "
                             f"{maintenance_margin!r}")
        self.initial_margin = initial_margin
        self.maintenance_margin = maintenance_margin
        self.latency = latency
        self.cancel_latency = cancel_latency
        self.amend_latency = amend_latency
        self.feed_latency = feed_latency
        latency.reset()
        cancel_latency.reset()
        amend_latency.reset()
        feed_latency.reset()
        if (funding_time is None) != (funding_rate is None) or (
                funding_time is not None and funding_time.shape[0] != funding_rate.shape[0]):
            raise ValueError("funding_time and funding_rate go together, one rate per time")
        if funding_time is None:
            funding_time = np.zeros(0, dtype=np.int64)
            funding_rate = np.zeros(0)
        self.f_time = funding_time
        self.f_rate = funding_rate
        self.n_fund = funding_time.shape[0]
        self.funding = ColumnTable(FUNDING_DTYPE, max(16, self.n_fund))
        self.has_mark = mark_price is not None
        if self.has_mark:
            if mark_price.shape[0] != self.n_rows:
                raise ValueError(f"TAQ column 'mark_price' has {mark_price.shape[0]} rows, "
                                 f"time has {self.n_rows}")
            self.t_mark = mark_price
        if local_time is None:
            self.t_seen = time
        elif local_time.shape[0] != self.n_rows:
            raise ValueError(f"TAQ column 'local_time' has {local_time.shape[0]} rows, "
                             f"time has {self.n_rows}")
        else:
            self.t_seen = local_time
        if balance_every < 0:
            raise ValueError(f"balance_every must be >= 0 ns, got {balance_every}")
        self.keep_orders = keep_orders
        self.keep_fills = keep_fills
        self.balance_every = balance_every
        self.balance_due = INT64_MIN
        self.balance_owed = False
        self.source = None if source is None else iter(source)
        self.exhausted = source is None
        self.rows_base = 0
        self.acct.balance = balance
        self.now = time[0] if self.n_rows else 0
        self.next_id = 1
        self.cur_signal = -1
        self.trade_cache_hit = -1
        self.book = Table(ORDER_DTYPE, 16)
        self.orders = ColumnTable(ORDER_DTYPE, 1024)
        self.slots = Table(np.dtype(np.int64), 1024)
        self.scratch = Table(np.dtype(np.intp), 64)
        self.merged = Table(np.dtype(np.intp), 16)
        self.pending = Table(ACTION_DTYPE, 64)
        self.fills = ColumnTable(FILL_DTYPE, 1024)
        self.balances = ColumnTable(BALANCE_DTYPE, max(1024, 2 * self.n_sig + 16))
        self.positions = ColumnTable(POSITION_DTYPE, 1024)
        self.safe_marks()

    def __dealloc__(self):
        cdef int k
        for k in range(2):
            free(self.sides[k].entries)
            free(self.sides[k].follows)
        free(self.merge_buf)

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
        # (closed orders stay there until compacted), else its row of the orders table read
        # into ``spare`` (store() writes a change of it back). Without the table (record
        # "fills", "daily"), a closed order's type and side from its slot in a blank record:
        # what a cancel or an amend of it needs to be refused or counted as for a kept one,
        # never another order's record.
        cdef Order* o = self.find(order_id)
        cdef int64_t code
        if o != NULL:
            return o
        if self.keep_orders:
            self.orders.get(order_id - 1, &self.spare)
            return &self.spare
        code = -1 - (<int64_t*>self.slots.data)[order_id - 1]
        memset(&self.spare, 0, sizeof(Order))
        self.spare.order_id = order_id
        self.spare.type = code // 2
        self.spare.side = 1 if code % 2 else -1
        self.spare.status = S_CANCELLED
        self.spare.cancel_sent = self.now
        return &self.spare

    cdef void store(self, Order* o) noexcept nogil:
        # Keep a change made to what record() returned: a closed order read from the orders
        # table is written back to its row (a book entry is the record itself).
        if o == &self.spare and self.keep_orders:
            self.orders.put(o.order_id - 1, o)

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
        # Mark price: the data's mark_price of row r when it has one, else the mid of row r,
        # else the last trade at or before it (DESIGN "Account").
        cdef Py_ssize_t t
        if r < 0:
            return NAN
        if self.has_mark and not isnan(self.t_mark[r]):
            return self.t_mark[r]
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

    cdef double value(self, double amount, double mark) noexcept nogil:
        # DESIGN "Account": an amount valued at the mark in the settlement currency.
        return amount * self.cs / mark if self.inverse else amount * self.cs * mark

    cdef double exposure(self, double buys, double sells) noexcept nogil:
        # DESIGN "Account": the largest position the working orders could leave,
        # max(|q + B|, |q - S|).
        cdef double q = self.acct.position
        return max(fabs(q + buys), fabs(q - sells))

    cdef double available(self) noexcept nogil:
        # DESIGN "Account": balance + unrealised - initial margin on the exposure, at the
        # mark (before any mark, the balance).
        cdef double m = self.mark(self.i - 1)
        if isnan(m):
            return self.acct.balance
        return (self.acct.balance + self.unrealized(m)
                - self.initial_margin * self.value(self.exposure(self.work_buy, self.work_sell), m))

    cdef int apply_funding(self) except -1 nogil:
        """DESIGN "Account": at a funding time the position pays rate x its signed value at
        the mark (longs pay a positive rate), then margin is checked."""
        cdef double rate = self.f_rate[self.k_fund], q = self.acct.position
        cdef double m = self.mark(self.i - 1), payment = 0.0
        cdef FundingRow row
        self.now = self.f_time[self.k_fund]
        self.k_fund += 1
        if q != 0.0 and not isnan(m):
            # As DESIGN writes it, rate x q x cs / m (not rate x value(q, m), which rounds
            # in another order).
            payment = rate * q * self.cs / m if self.inverse else rate * q * self.cs * m
            self.acct.balance -= payment
            self.acct.funding -= payment
            self.safe_marks()
        row.time = self.now
        row.rate = rate
        row.mark = m
        row.position = q
        row.payment = payment
        self.funding.append(&row)
        self.record_balance()
        self.check_liquidation()
        self.maybe_compact()
        return 0

    cdef bint check_liquidation(self) except -1 nogil:
        """DESIGN "Account": when equity (balance + unrealised at the mark) falls below the
        maintenance margin of the position, cancel every working order and close the
        position at the bankruptcy price, where equity is zero. Returns True if it did."""
        cdef double q = self.acct.position, e = self.acct.entry_price, m, x
        cdef Order* book
        cdef Order* o
        cdef Py_ssize_t k
        if q == 0.0 or self.initial_margin == 0.0 or self.liquidated:
            return False
        m = self.mark(self.i - 1)
        if isnan(m) or (self.acct.balance + self.unrealized(m)
                        >= self.maintenance_margin * self.value(fabs(q), m)):
            return False
        self.liquidated = True
        self.safe_lo, self.safe_hi = -INFINITY, INFINITY     # nothing is left to liquidate
        book = <Order*>self.book.data
        for k in range(self.book.n):
            if book[k].status == S_LIVE:
                self.close(&book[k], S_CANCELLED, R_LIQUIDATION)
        # Bankruptcy price: inverse 1/X = 1/E + balance/(q cs); linear X = E - balance/(q cs).
        if self.inverse:
            x = 1.0 / (1.0 / e + self.acct.balance / (q * self.cs))
        else:
            x = e - self.acct.balance / (q * self.cs)
        o = self.new_order(T_MARKET, NAN, 0, -q, False, TIF_GTC, False)
        o.live = self.now
        o.status = S_LIVE
        self.fill(o, fabs(q), x, TAKER, C_LIQUIDATION, NAN)
        return True

    cdef void safe_marks(self) noexcept nogil:
        """Set (safe_lo, safe_hi), marks at which check_liquidation cannot liquidate the
        account as it stands, so that the row loop skips it there.

        Equity less maintenance, f(m) = balance + unrealised(m) - mm x value(|q|, m), is
        c1 + c2 m (linear: c1 = balance - q cs E, c2 = cs (q - mm |q|)) or c1 - c2 / m
        (inverse: c1 = balance + q cs / E, c2 = cs (q + mm |q|)), monotonic in m > 0; the
        mark m* where it is 0 bounds the safe marks. The band stops short of m* by 1e-9 of
        it, far more than the rounding of either form, and is empty (every row checked)
        where cancellation in c1 or c2 would make m* inexact."""
        cdef double q = self.acct.position, b = self.acct.balance, e = self.acct.entry_price
        cdef double mm = self.maintenance_margin, c1, c2, terms, edge
        self.safe_lo, self.safe_hi = INFINITY, -INFINITY          # empty: always check
        if q == 0.0 or self.initial_margin == 0.0 or self.liquidated:
            self.safe_lo, self.safe_hi = -INFINITY, INFINITY
            return
        if self.inverse:
            c1 = b + q * self.cs / e
            c2 = self.cs * (q + mm * fabs(q))
            terms = fabs(b) + fabs(q * self.cs / e)
        else:
            c1 = b - q * self.cs * e
            c2 = self.cs * (q - mm * fabs(q))
            terms = fabs(b) + fabs(q * self.cs * e)
        if not (fabs(c1) * 1e6 > terms and fabs(c2) * 1e6 > self.cs * fabs(q)):
            return
        if self.inverse:
            # f >= 0 <=> c1 m >= c2 for m > 0.
            if c1 <= 0.0:
                if q > 0.0:
                    return                      # no mark is safe
                edge = c2 / c1                  # short, m <= c2 / c1
                self.safe_lo, self.safe_hi = 0.0, edge * (1.0 - 1e-9)
            elif q > 0.0:
                edge = c2 / c1                  # long, m >= c2 / c1
                self.safe_lo, self.safe_hi = edge * (1.0 + 1e-9), INFINITY
            else:
                self.safe_lo, self.safe_hi = 0.0, INFINITY      # c2 <= 0 < c1 m
        else:
            # f >= 0 <=> c1 + c2 m >= 0: c2 > 0 for a long, < 0 for a short.
            edge = -c1 / c2
            if q > 0.0:
                self.safe_lo, self.safe_hi = edge + fabs(edge) * 1e-9, INFINITY
            else:
                self.safe_lo, self.safe_hi = -INFINITY, edge - fabs(edge) * 1e-9

    cdef bint margin_refuses(self, Order* o, double more) noexcept nogil:
        """Whether adding ``more`` to the working amount of ``o``'s side raises the exposure
        while leaving the available balance below 0 (DESIGN "Account"); reducing orders
        always pass."""
        cdef double m = self.mark(self.i - 1)
        cdef double before, after
        if self.initial_margin == 0.0 or isnan(m):
            return False
        before = self.exposure(self.work_buy, self.work_sell)
        if o.side > 0:
            after = self.exposure(self.work_buy + more, self.work_sell)
        else:
            after = self.exposure(self.work_buy, self.work_sell + more)
        if after <= before:
            return False
        return (self.acct.balance + self.unrealized(m)
                - self.initial_margin * self.value(after, m)) < 0.0

    cdef int64_t next_action_time(self) noexcept nogil:
        if self.pending.n == 0:
            return INT64_MAX
        return (<Action*>self.pending.data)[0].time

    # -- the latency queue: a binary heap of actions by (time, sending order) ------------------
    # Latencies drawn per action can reorder actions, so the queue is a heap rather than a
    # FIFO; its size is the number of actions in flight, so memory does not grow with every
    # action ever sent.

    cdef int push_action(self, int8_t kind, int64_t order_id, int64_t delay, double price,
                         double amount) except -1:
        cdef Action* heap
        cdef Action act
        cdef Py_ssize_t k, parent
        act.time = self.now + delay
        act.seq = self.next_seq
        act.order_id = order_id
        act.kind = kind
        act.price = price
        act.amount = amount
        self.next_seq += 1
        self.pending.push_raw()
        heap = <Action*>self.pending.data
        k = self.pending.n - 1
        while k > 0:
            parent = (k - 1) // 2
            if not action_before(&act, &heap[parent]):
                break
            heap[k] = heap[parent]
            k = parent
        heap[k] = act
        return 0

    cdef Action pop_action(self) noexcept nogil:
        cdef Action* heap = <Action*>self.pending.data
        cdef Action top = heap[0], last
        cdef Py_ssize_t k = 0, child, n
        self.pending.n -= 1
        n = self.pending.n
        if n > 0:
            last = heap[n]
            while True:
                child = 2 * k + 1
                if child >= n:
                    break
                if child + 1 < n and action_before(&heap[child + 1], &heap[child]):
                    child += 1
                if not action_before(&heap[child], &last):
                    break
                heap[k] = heap[child]
                k = child
            heap[k] = last
        return top

    cdef void sync_feed(self) noexcept nogil:
        # The strategy sees rows with time <= now - feed_latency (rule 1), never beyond
        # what the engine has replayed.
        cdef int64_t horizon = self.now - self.feed_latency.draw(self.now)
        cdef Py_ssize_t lo = self.feed_row, top = self.i
        if lo >= top:
            return
        # t_seen is non-decreasing (the times, or local_time, checked sorted): the rows
        # seen are those before the first one after the horizon. Usually every row
        # replayed is; else a bisection finds it, rather than a walk over the rows since
        # the last call.
        if self.t_seen[top - 1] <= horizon:
            self.feed_row = top
        else:
            self.feed_row = first_after(self.t_seen, lo, top - 1, horizon)

    # -- recording ---------------------------------------------------------------------

    cdef int record_balance(self) except -1 nogil:
        cdef BalanceRow b
        cdef double m
        if self.balance_every:
            # Sampled: the first row at or after each multiple of balance_every.
            if self.now < self.balance_due:
                self.balance_owed = True
                return 0
            self.balance_due = (self.now // self.balance_every + 1) * self.balance_every
            self.balance_owed = False
        m = self.mark(self.i - 1)
        b.time = self.now
        b.total = self.acct.balance
        b.available = self.available()
        b.mark = m
        b.position = self.acct.position
        if self.inverse:
            b.nav = (self.acct.balance + self.unrealized(m)) * m
        else:
            b.nav = self.acct.balance + self.unrealized(m)
        self.balances.append(&b)
        return 0

    cdef void update_working(self, Order* o) noexcept nogil:
        # Live orders count their remaining amount in their side's working total (B or S of
        # DESIGN "Account"); keeping each order's share lets a fill, a close or an amend
        # adjust the totals in O(1) instead of rescanning the book at every balance row.
        cdef double share = 0.0
        if o.status == S_LIVE:
            share = fabs(o.amount) - fabs(o.filled)
        if o.side > 0:
            self.work_buy += share - o.counted
        else:
            self.work_sell += share - o.counted
        o.counted = share
        if self.n_closed == self.book.n:
            self.work_buy = self.work_sell = 0.0    # nothing works: no rounding residue

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
        self.update_working(o)
        self.sides[0 if o.side > 0 else 1].dirty = 1    # its index entry may be stale

    cdef void compact(self) noexcept nogil:
        # Move closed orders out of the book into their row of the orders table, keeping
        # the working ones in sending order and their slots up to date.
        cdef Order* book = <Order*>self.book.data
        cdef int64_t* slot = <int64_t*>self.slots.data
        cdef Py_ssize_t k, kept = 0
        for k in range(self.book.n):
            if book[k].status >= S_FILLED:
                if self.keep_orders:
                    self.orders.put(book[k].order_id - 1, &book[k])
                slot[book[k].order_id - 1] = closed_slot(&book[k])
            else:
                if kept != k:
                    book[kept] = book[k]
                slot[book[kept].order_id - 1] = kept
                kept += 1
        self.book.n = kept
        self.n_closed = 0
        self.purge(&self.sides[0])
        self.purge(&self.sides[1])

    # -- each side's index of resting orders -------------------------------------------------
    # Fixed-price limits sit in an array sorted by priority, worst first and best last; orders
    # going live are appended unsorted and settled at the next row. A row walks from the best
    # end only as far as its quote or print can reach, so orders resting away from the touch
    # cost nothing per row. Follow orders are kept apart: any move of the quote reaches them.

    cdef bint valid(self, Entry* e) noexcept nogil:
        # An entry is stale once its order stopped working or rejoined elsewhere (new prio).
        cdef Order* o = self.find(e.order_id)
        return o != NULL and o.status == S_LIVE and o.prio == e.prio

    cdef int rest(self, Order* o) except -1 nogil:
        """Index a live order resting on the book (after join())."""
        cdef SideBook* s = &self.sides[0 if o.side > 0 else 1]
        cdef Entry* e
        cdef Py_ssize_t k
        if o.type == T_FOLLOW:
            # Kept in sending order (the order simultaneous re-pegs rejoin in); latency can
            # make a later-sent order arrive first.
            ensure(<void**>&s.follows, &s.follow_cap, s.n_follow + 1, sizeof(int64_t))
            k = s.n_follow
            while k > 0 and s.follows[k - 1] > o.order_id:
                s.follows[k] = s.follows[k - 1]
                k -= 1
            s.follows[k] = o.order_id
            s.n_follow += 1
            return 0
        ensure(<void**>&s.entries, &s.cap, s.n + 1, sizeof(Entry))
        e = &s.entries[s.n]
        e.key = o.price_tick * o.side
        e.prio = o.prio
        e.order_id = o.order_id
        s.n += 1
        return 0

    cdef int settle(self, SideBook* s) except -1 nogil:
        """Sort the entries appended since the last row into the index, then drop stale ones
        from the best end."""
        cdef Py_ssize_t k, lo, hi, mid, tail = s.n - s.n_sorted, i, j, m
        cdef Entry e
        if tail == 0 and not s.dirty:
            return 0                    # nothing went live, closed or rejoined since
        if tail > 8:
            # Many at once (a ladder sent in one call): sort them and merge, dropping stale
            # entries on the way: O(n + k log k).
            qsort(&s.entries[s.n_sorted], tail, sizeof(Entry), by_entry)
            ensure(<void**>&self.merge_buf, &self.merge_cap, s.n, sizeof(Entry))
            i, j, m = 0, s.n_sorted, 0
            while i < s.n_sorted or j < s.n:
                if j >= s.n or (i < s.n_sorted and by_entry(&s.entries[i], &s.entries[j]) < 0):
                    e = s.entries[i]
                    i += 1
                else:
                    e = s.entries[j]
                    j += 1
                if self.valid(&e):
                    self.merge_buf[m] = e
                    m += 1
            memcpy(s.entries, self.merge_buf, m * sizeof(Entry))
            s.n = m
        else:
            # A few (a requote): insert each by binary search; new orders usually sit near
            # the touch, so few entries move.
            for k in range(s.n_sorted, s.n):
                e = s.entries[k]
                lo, hi = 0, k
                while lo < hi:
                    mid = (lo + hi) // 2
                    if by_entry(&s.entries[mid], &e) < 0:
                        lo = mid + 1
                    else:
                        hi = mid
                memmove(&s.entries[lo + 1], &s.entries[lo], (k - lo) * sizeof(Entry))
                s.entries[lo] = e
        while s.n > 0 and not self.valid(&s.entries[s.n - 1]):
            s.n -= 1
        s.n_sorted = s.n
        s.dirty = 0
        return 0

    cdef void purge(self, SideBook* s) noexcept nogil:
        # Drop stale entries everywhere (with the book's compaction: amortised O(1) each).
        cdef Py_ssize_t k, kept = 0, kept_sorted = 0
        cdef Order* o
        for k in range(s.n):
            if self.valid(&s.entries[k]):
                s.entries[kept] = s.entries[k]
                kept += 1
                if k < s.n_sorted:
                    kept_sorted += 1
        s.n = kept
        s.n_sorted = kept_sorted
        kept = 0
        for k in range(s.n_follow):
            o = self.find(s.follows[k])
            if o != NULL and o.status == S_LIVE:
                s.follows[kept] = s.follows[k]
                kept += 1
        s.n_follow = kept

    cdef void maybe_compact(self) noexcept nogil:
        # Closed orders stay in the book (every pass skips them) until they are half of it,
        # so closing k of n working orders costs O(n + k), not O(n k).
        if self.n_closed > 0 and 2 * self.n_closed >= self.book.n:
            self.compact()

    cdef int finish(self) except -1:
        """Close the books: orders still working are written to the orders table."""
        cdef Order* book = <Order*>self.book.data
        cdef Order o
        cdef Py_ssize_t k
        if not self.keep_orders:
            return 0
        for k in range(self.book.n):
            o = book[k]
            if o.status <= S_LIVE:
                o.reason = R_END
            self.orders.put(o.order_id - 1, &o)
        return 0

    # -- fills and accounting ----------------------------------------------------------

    cdef double fill(self, Order* o, double qty, double price, int liquidity, int cause,
                     double print_volume) except -1.0 nogil:
        """Fill ``qty`` (> 0) of order ``o`` at ``price``; update the account and records.

        ``cause`` says what filled it (DESIGN "Fill bounds") and ``print_volume`` the volume
        of the print that did (NaN when no print did). Returns the amount filled: less than
        ``qty`` for a reduce-only order cut to the position."""
        cdef double q
        cdef double rate = self.maker_fee if liquidity == MAKER else self.taker_fee
        cdef double fee, realized = 0.0, pos = self.acct.position, e = self.acct.entry_price
        cdef double closing, new_pos, prev, reducible
        cdef bint cut = False
        cdef Fill f
        cdef PositionRow p
        if o.reduce_only:
            # DESIGN "reduce-only": a fill never increases |position|; it is cut to the
            # position at fill time and the rest of the order is cancelled.
            reducible = fabs(pos) if pos * o.side < 0.0 else 0.0
            if reducible <= 0.0:
                self.close(o, S_CANCELLED, R_REDUCE_ONLY)
                return 0.0
            if qty > reducible:
                qty = reducible
                cut = True
        q = qty * o.side
        # Rule 8: fees on notional in the settlement currency (none on a liquidation).
        if cause == C_LIQUIDATION:
            rate = 0.0
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
            if cause == C_LIQUIDATION:
                # At the bankruptcy price the position loses exactly the balance; taken as
                # such, the balance ends at exactly 0 (DESIGN "Account").
                realized = -self.acct.balance
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
        self.safe_marks()

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
        elif cut:
            self.close(o, S_CANCELLED, R_REDUCE_ONLY)
        else:
            self.update_working(o)

        f.time = self.now
        f.order_id = o.order_id
        f.price = price
        f.amount = q
        f.fee = fee
        f.liquidity = liquidity
        f.cause = cause
        f.print_volume = print_volume
        f.realized = realized
        f.position = new_pos
        f.mid = NAN
        if self.i > 0:
            f.mid = 0.5 * (self.t_bid[self.i - 1] + self.t_ask[self.i - 1])
        self.fills.append(&f)
        if self.keep_fills:
            p.time = self.now
            p.amount = new_pos
            p.weighted_price = e
            self.positions.append(&p)
        self.record_balance()
        return qty

    # -- queue model -------------------------------------------------------------------

    cdef void join(self, Order* o, Py_ssize_t r) noexcept nogil:
        # Rule 3, for an order that does not take liquidity: at the best price the queue
        # ahead is what the queue model says (queue_position x the displayed size); better
        # than the best it is 0; behind the best it is unknown until the best price reaches
        # it. ``amount_q`` keeps the displayed size at our level when the order first went
        # live (0 at a new best level, NaN behind the best). Joining takes the next time
        # priority (rule 7).
        cdef double best, size
        cdef int64_t best_t
        cdef bint first = isnan(o.amount_q) and o.prio == 0
        o.queue_ahead = NAN
        self.next_prio += 1
        o.prio = self.next_prio
        self.sides[0 if o.side > 0 else 1].dirty = 1    # a rejoin leaves a stale entry
        if r >= 0:
            best = self.t_bid[r] if o.side > 0 else self.t_ask[r]
            size = self.t_bid_amount[r] if o.side > 0 else self.t_ask_amount[r]
            if not isnan(best):
                best_t = to_grid(best, self.inv_tick)
                if best_t == o.price_tick:
                    o.queue_ahead = self.queue_model.on_join(size, self.queue_position)
                    if first:
                        o.amount_q = size
                elif (o.price_tick - best_t) * o.side > 0:
                    o.queue_ahead = 0.0
                    if first:
                        o.amount_q = 0.0
        o.volume_req = o.queue_ahead + fabs(o.amount)

    cdef int take(self, Order* o, double opp, double opp_size) except -1 nogil:
        """A limit reaching the opposite best when it goes live or is amended (rule 3):
        GTC fills whole at the best opposite price as taker; IOC and FOK at most the
        displayed size there (DESIGN "time in force")."""
        cdef double qty, want = self.remaining(o)
        o.status = S_LIVE
        if isnan(o.amount_q):
            o.amount_q = opp_size
        if o.tif == TIF_GTC:
            self.fill(o, want, opp, TAKER, C_TAKER, NAN)
            return 0
        qty = min(want, floor(opp_size * self.inv_lot + GRID_EPS) / self.inv_lot)
        if o.tif == TIF_FOK and qty < want:
            self.close(o, S_REJECTED, R_FOK)
            return 0
        if qty > 0.0:
            self.fill(o, qty, opp, TAKER, C_TAKER, NAN)
        if o.status == S_LIVE:
            self.close(o, S_CANCELLED, R_IOC)
        return 0

    cdef int go_live(self, Order* o) except -1 nogil:
        cdef Py_ssize_t r = self.i - 1
        cdef double opp = NAN, own = NAN, opp_size = NAN
        if r >= 0:
            opp = self.t_ask[r] if o.side > 0 else self.t_bid[r]
            own = self.t_bid[r] if o.side > 0 else self.t_ask[r]
            opp_size = self.t_ask_amount[r] if o.side > 0 else self.t_bid_amount[r]
        o.live = self.now
        if self.liquidated:
            # DESIGN "Account": after a liquidation every order is rejected.
            self.close(o, S_REJECTED, R_LIQUIDATED)
            return 0
        if self.margin_refuses(o, fabs(o.amount)):
            # DESIGN "Account": its margin exceeds the available balance.
            self.close(o, S_REJECTED, R_MARGIN)
            return 0
        if o.type == T_MARKET:
            # Rule 6: all of it at the best opposite price in force now, as taker.
            if isnan(opp):
                self.close(o, S_REJECTED, R_NO_QUOTE)
                return 0
            o.status = S_LIVE
            o.amount_q = opp_size
            self.fill(o, fabs(o.amount), opp, TAKER, C_TAKER, NAN)
            return 0
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
        elif not isnan(opp) and (o.price_tick - to_grid(opp, self.inv_tick)) * o.side >= 0:
            # Rule 3: a limit at or through the opposite best takes liquidity there.
            if o.post_only:
                self.close(o, S_REJECTED, R_POST_ONLY)
                return 0
            return self.take(o, opp, opp_size)
        if o.tif != TIF_GTC:
            # A non-marketable IOC or FOK is cancelled at once.
            o.status = S_LIVE
            self.close(o, S_CANCELLED, R_IOC if o.tif == TIF_IOC else R_FOK)
            return 0
        o.status = S_LIVE
        self.join(o, r)
        self.rest(o)
        self.update_working(o)
        return 0

    cdef int amend(self, Order* o, Action* act) except -1 nogil:
        """DESIGN "Amend": a smaller amount at the same price keeps the queue position; a new
        price or a larger amount rejoins by rule 3 behind everyone; an amount at or below
        what has filled closes the order."""
        cdef Py_ssize_t r = self.i - 1
        cdef double amount = o.amount if isnan(act.amount) else act.amount
        cdef int64_t tick = o.price_tick if isnan(act.price) else to_grid(act.price, self.inv_tick)
        cdef double opp = NAN, opp_size = NAN
        o.amends += 1
        if fabs(amount) > fabs(o.amount) and self.margin_refuses(o, fabs(amount) - fabs(o.amount)):
            # A larger amount beyond the margin: the exchange refuses the amend; the order
            # stays as it was.
            o.rejected += 1
            return 0
        if fabs(amount) <= fabs(o.filled):
            self.close(o, S_CANCELLED, R_AMENDED)
            return 0
        if tick == o.price_tick and fabs(amount) <= fabs(o.amount):
            o.amount = amount
            self.update_working(o)
            return 0
        o.amount = amount
        o.price_tick = tick
        o.price = grid_price(tick, self.inv_tick)
        if r >= 0:
            opp = self.t_ask[r] if o.side > 0 else self.t_bid[r]
            opp_size = self.t_ask_amount[r] if o.side > 0 else self.t_bid_amount[r]
        if not isnan(opp) and (tick - to_grid(opp, self.inv_tick)) * o.side >= 0:
            if o.post_only:
                self.close(o, S_REJECTED, R_POST_ONLY)      # earlier fills stand
                return 0
            return self.take(o, opp, opp_size)
        self.join(o, r)
        if o.type != T_FOLLOW:
            self.rest(o)                # the old entry is stale: its prio is not the order's
        self.update_working(o)
        return 0

    cdef inline int queue_update(self, Order* o, int64_t own_t, double own_size,
                                 double prev_size, double printed) except -1 nogil:
        # Rule 5 and "Queue models", for an order at or better than the best on its side.
        if own_t == o.price_tick:
            if isnan(o.queue_ahead):
                # Rule 3, deferred: the best price reached our level.
                o.queue_ahead = self.queue_model.on_join(own_size, self.queue_position)
                o.volume_req = o.queue_ahead + fabs(o.amount)
            else:
                o.queue_ahead = self.queue_model.on_size_change(o.queue_ahead, prev_size,
                                                                own_size, printed)
        elif (o.price_tick - own_t) * o.side > 0:
            # Rule 5: the best price moved away behind us: we are at the front.
            o.queue_ahead = 0.0
        return 0

    cdef int quote_follows(self, SideBook* s, Py_ssize_t r, int8_t sgn, bint has_own,
                           int64_t own_t, bint has_opp, int64_t opp_t, double own_size,
                           double prev_size, double printed) except -1 nogil:
        """quote_side's part for the follow orders of side ``s``: each re-pegs to row r's
        own best (rule 7) and is appended to ``scratch`` if the opposite best reached it,
        else its queue moves (rule 5). Apart, so that the common path of a side without
        follow orders stays a small function."""
        cdef Order* o
        cdef Py_ssize_t k, kept = 0
        cdef int64_t target
        # Follow orders in sending order: simultaneous re-pegs rejoin in the order the
        # exchange received them.
        for k in range(s.n_follow):
            o = self.find(s.follows[k])
            if o == NULL or o.status != S_LIVE:
                continue
            s.follows[kept] = s.follows[k]
            kept += 1
            if has_own:
                target = own_t - sgn * o.price_level
                if target != o.price_tick:
                    if target < 1:
                        # The peg would fall to zero or below: the order cannot follow.
                        self.close(o, S_CANCELLED, R_LEVEL)
                        continue
                    # Rule 7: the peg moved; rejoin at the back of the queue there.
                    o.price_tick = target
                    o.price = grid_price(target, self.inv_tick)
                    self.join(o, r)
                    self.update_working(o)
            if has_opp and (o.price_tick - opp_t) * sgn >= 0:
                (<Order**>self.scratch.push_raw())[0] = o
            elif has_own:
                self.queue_update(o, own_t, own_size, prev_size, printed)
        s.n_follow = kept
        return 0

    cdef Py_ssize_t quote_side(self, Py_ssize_t r, int8_t sgn, bint has_own, int64_t own_t,
                               bint has_opp, int64_t opp_t, int64_t reach) except -1 nogil:
        """Row r's quote on one side of our book: follow orders re-peg (rule 7) and the queue
        ahead of orders at or better than the best moves (rule 5, "Queue models"). The
        orders the opposite best reached are appended to ``scratch`` in price then time
        priority; returns how many. The row's own and opposite best in ticks (``has_*``:
        given) and ``reach``, the least key the quote reaches, are on_row's: worked out
        once for both sides."""
        cdef SideBook* s = &self.sides[0 if sgn > 0 else 1]
        cdef Order* o
        cdef Py_ssize_t k, start = self.scratch.n, n_follow_crossed, p = r - 1
        cdef double own_size, prev_size = NAN, printed = 0.0, prev, prev_trade
        if s.n == 0 and s.n_follow == 0:
            return 0
        if not settled(s):
            self.settle(s)
        if s.n_follow == 0 and (s.n == 0 or s.entries[s.n - 1].key < reach):
            # The common case: no follow order, and the quote reaches none of ours (the
            # best of them, at the end of the index, is below both touches).
            return 0
        # Read here, not above: the sizes are columns the row scan (skip) does not touch,
        # and a load that misses the cache holds up the common return above.
        own_size = self.t_bid_amount[r] if sgn > 0 else self.t_ask_amount[r]
        if has_own and p >= 0 and self.queue_model.uses_history:
            # "Queue models": the size at our price on the previous row, known only if it
            # was the best then, and the volume printed there since.
            prev = self.t_bid[p] if sgn > 0 else self.t_ask[p]
            if not isnan(prev) and to_grid(prev, self.inv_tick) == own_t:
                prev_size = self.t_bid_amount[p] if sgn > 0 else self.t_ask_amount[p]
            prev_trade = self.t_amount[p]
            if prev_trade * sgn < 0.0 and fabs(self.t_price[p] * self.inv_tick - own_t) <= GRID_EPS:
                printed = fabs(prev_trade)
        if s.n_follow:
            self.quote_follows(s, r, sgn, has_own, own_t, has_opp, opp_t, own_size, prev_size,
                               printed)
        n_follow_crossed = self.scratch.n - start
        # Walk from the best end only as far as this quote reaches.
        k = s.n - 1
        while k >= 0 and s.entries[k].key >= reach:
            if self.valid(&s.entries[k]):
                o = self.find(s.entries[k].order_id)
                if has_opp and s.entries[k].key >= sgn * opp_t:
                    (<Order**>self.scratch.push_raw())[0] = o
                elif has_own:
                    self.queue_update(o, own_t, own_size, prev_size, printed)
            k -= 1
        # The walk gives the fixed orders in price then time priority already; crossed
        # follow orders must be merged in.
        if n_follow_crossed and self.scratch.n - start > 1:
            qsort(&(<Order**>self.scratch.data)[start], self.scratch.n - start, sizeof(Order*),
                  by_priority)
        return self.scratch.n - start

    cdef int cross(self, Py_ssize_t n_buys, Py_ssize_t n_sells) except -1 nogil:
        """Fill (or, with fill_bound "prints", move to the front) the orders a quote crossed:
        ``scratch`` holds the buys then the sells, each in priority order. Both sides cross
        on one row only after orders rested through a time without quotes; the two are then
        merged in time priority, the earlier (re)joined order first."""
        cdef Order** buys = <Order**>self.scratch.data
        cdef Order** sells = buys + n_buys
        cdef Order** order = buys
        cdef Order** merged
        cdef Order* o
        cdef Py_ssize_t k, i = 0, j = 0
        if n_buys and n_sells:
            self.merged.n = 0
            while i < n_buys or j < n_sells:
                merged = <Order**>self.merged.push_raw()
                if j >= n_sells or (i < n_buys and buys[i].prio < sells[j].prio):
                    merged[0] = buys[i]
                    i += 1
                else:
                    merged[0] = sells[j]
                    j += 1
            order = <Order**>self.merged.data
        for k in range(n_buys + n_sells):
            o = order[k]
            if o.status != S_LIVE:
                continue
            if self.fill_bound == FB_NONE:
                # Rule 5: the opposite best reached our price: filled as maker at our price.
                self.fill(o, self.remaining(o), o.price, MAKER, C_CROSS, NAN)
            else:
                # "Fill bounds", prints: at the front of the queue, filled by prints only.
                o.queue_ahead = 0.0
        return 0

    cdef int on_row(self, Py_ssize_t r) except -1 nogil:
        """Apply row r's quote (rules 5 and 7, both sides) and then its trade (rule 4)."""
        cdef Py_ssize_t n_buys = 0, n_sells = 0
        cdef double bid = self.t_bid[r], ask = self.t_ask[r]
        cdef bint has_bid = not isnan(bid), has_ask = not isnan(ask)
        cdef int64_t bid_t = to_grid(bid, self.inv_tick) if has_bid else 0
        cdef int64_t ask_t = to_grid(ask, self.inv_tick) if has_ask else 0
        # Orders at or better than a side's touch, or at or through the opposite one, are
        # what a quote can reach: in price terms key >= sgn x min over the two touches.
        cdef int64_t buy_reach = INT64_MAX, sell_reach = INT64_MAX
        if has_bid:
            buy_reach = bid_t
            sell_reach = -bid_t
        if has_ask:
            buy_reach = min(buy_reach, ask_t)
            sell_reach = min(sell_reach, -ask_t)
        self.scratch.n = 0
        if may_reach(&self.sides[0], buy_reach):
            n_buys = self.quote_side(r, 1, has_bid, bid_t, has_ask, ask_t, buy_reach)
        if may_reach(&self.sides[1], sell_reach):
            n_sells = self.quote_side(r, -1, has_ask, ask_t, has_bid, bid_t, sell_reach)
        if n_buys or n_sells:
            self.cross(n_buys, n_sells)
        # DESIGN "Account": margin is checked after the row's quote and after its trade
        # (only a position can be liquidated); not where the row's mid is a safe mark.
        if self.acct.position != 0.0 and not self.safe_row(r):
            self.check_liquidation()
        if self.t_amount[r] != 0.0:
            self.on_trade(r, self.t_amount[r])
            if self.acct.position != 0.0 and not self.safe_row(r):
                self.check_liquidation()
        return 0

    cdef inline bint safe_row(self, Py_ssize_t r) noexcept nogil:
        # Whether row r's mark is one at which the account cannot be liquidated (see
        # safe_marks); a row whose mark is not its mid is always checked.
        cdef double m = 0.5 * (self.t_bid[r] + self.t_ask[r])
        return not self.has_mark and self.safe_lo < m < self.safe_hi

    cdef int on_trade(self, Py_ssize_t r, double size) except -1 nogil:
        """Rule 4: a print of |size| at t_price[r]; size < 0 hits bids, > 0 lifts asks."""
        cdef int8_t sgn = -1 if size > 0.0 else 1      # the side of the orders it can fill
        cdef SideBook* s = &self.sides[0 if sgn > 0 else 1]
        cdef Order* o
        cdef Order** reached
        cdef Py_ssize_t k, n_follow
        cdef double volume = fabs(size)
        cdef double x = self.t_price[r] * self.inv_tick   # print price in ticks, maybe off-grid
        cdef double d, avail, left, excess, qty
        cdef bint through
        if s.n == 0 and s.n_follow == 0:
            return 0
        if not settled(s):
            self.settle(s)
        if s.n_follow == 0 and (s.n == 0 or s.entries[s.n - 1].key - sgn * x < -GRID_EPS):
            return 0                    # the print reaches none of our orders
        # Pass 1: volume statistics, and the orders the print reaches: those it went through,
        # and those at its price with a known queue (a print is within GRID_EPS of at most
        # one tick).
        self.scratch.n = 0
        for k in range(s.n_follow):
            o = self.find(s.follows[k])
            if o == NULL or o.status != S_LIVE:
                continue
            d = (o.price_tick - x) * sgn                # > 0: the print went through our price
            if d >= -GRID_EPS:
                o.volume += volume
                if d > GRID_EPS or not isnan(o.queue_ahead):
                    (<Order**>self.scratch.push_raw())[0] = o
        n_follow = self.scratch.n
        k = s.n - 1
        while k >= 0 and s.entries[k].key - sgn * x >= -GRID_EPS:
            if self.valid(&s.entries[k]):
                o = self.find(s.entries[k].order_id)
                o.volume += volume
                if s.entries[k].key - sgn * x > GRID_EPS or not isnan(o.queue_ahead):
                    (<Order**>self.scratch.push_raw())[0] = o
            k -= 1
        if self.scratch.n == 0:
            return 0
        # Pass 2, in price then time priority: orders the print went through fill (wholly, or
        # with fill_bound "prints" out of its volume); at the print's price it consumes the
        # queue ahead of each order, what reaches an order fills it, and the print's volume
        # is shared so that all our fills there together never exceed it.
        reached = <Order**>self.scratch.data
        if n_follow and self.scratch.n > 1:
            qsort(reached, self.scratch.n, sizeof(Order*), by_priority)
        avail = volume
        for k in range(self.scratch.n):
            o = reached[k]
            if o.status != S_LIVE:
                continue
            through = (o.price_tick - x) * sgn > GRID_EPS
            if through and self.fill_bound == FB_NONE:
                self.fill(o, self.remaining(o), o.price, MAKER, C_THROUGH, volume)
                continue
            if avail <= 0.0:
                if through:
                    o.queue_ahead = 0.0
                    continue
                break
            if through:
                # The print emptied our price level: whatever is left of the order is at
                # the front of the queue there.
                o.queue_ahead = 0.0
                excess = avail
            else:
                left = self.queue_model.on_print(o.queue_ahead, avail)
                excess = avail - (o.queue_ahead - left)
                o.queue_ahead = left
            qty = min(self.remaining(o), floor(excess * self.inv_lot + GRID_EPS) / self.inv_lot)
            if qty > 0.0:
                avail -= self.fill(o, qty, o.price, MAKER, C_THROUGH if through else C_QUEUE,
                                   volume)
        return 0

    # -- the loop ----------------------------------------------------------------------

    cdef int replay(self, int64_t until, bint stop_on_fill) except -1 nogil:
        """Replay TAQ rows with time <= until. Returns 1 right after a row that filled one of
        our orders when ``stop_on_fill`` (so the strategy hears of it), 2 when the next row
        to replay is the section's ``row_budget`` (a later call goes on from it), else 0.

        Rows that can matter to nothing are passed over in a tight scan (``skip``): a row
        whose quote and print are outside the touch band of our book, with no position to
        check for liquidation, changes nothing, so only the rows that may are replayed."""
        cdef Py_ssize_t r, n_fills, n_closed, ahead
        cdef double lo = 0.0, hi = 0.0
        cdef int band = -1              # -1: to work out; 0: every row is replayed; 1: (lo, hi)
        while True:
            if self.i >= self.row_budget:
                return 2
            if self.i == self.n_rows:
                # Streaming: the rows held are done; the next chunk may still hold rows at
                # or before ``until`` (a chunk can end inside a group of one timestamp).
                if self.exhausted:
                    break
                with gil:
                    self.refill()
                continue
            if band < 0:
                band = self.touch_band(&lo, &hi)
            if band:
                self.i = self.skip(self.i, until, lo, hi)
                if self.i == self.n_rows or self.i == self.row_budget:
                    continue
            if self.t_time[self.i] > until:
                break
            r = self.i
            self.i += 1
            if self.book.n > self.n_closed:
                self.now = self.t_time[r]
                n_fills = self.fills.n
                n_closed = self.n_closed
                # The rows that reach our book come in runs, and each reads its sizes, which
                # the scan (skip) does not: fetch them a cache line ahead.
                ahead = min(r + 8, self.n_rows - 1)
                prefetch(&self.t_bid_amount[ahead])
                prefetch(&self.t_ask_amount[ahead])
                self.on_row(r)
                if self.fills.n != n_fills or self.n_closed != n_closed:
                    # The band moves only with our best orders (an order closed) or with
                    # the position (a fill, see touch_band); a row that moved a queue
                    # leaves it where it was.
                    band = -1
                self.maybe_compact()
                if stop_on_fill and self.fills.n != n_fills:
                    return 1
            elif self.acct.position != 0.0 and not self.safe_row(r):
                # No order works, but the position can still fall below its maintenance.
                self.now = self.t_time[r]
                band = -1
                if self.check_liquidation() and stop_on_fill:
                    return 1
        if self.i > 0 and self.t_time[self.i - 1] > self.now:
            self.now = self.t_time[self.i - 1]
        return 0

    cdef inline int touch_band(self, double* lo, double* hi) except -1 nogil:
        """Prices ``lo`` and ``hi`` such that a row whose bid, ask and print are all inside
        (lo, hi) reaches none of our resting orders: ``lo`` is our best buy and ``hi`` our
        best sell, each widened by three quarters of a tick towards the market, more than
        the rounding of on_row's whole ticks (to_grid) and of a print's GRID_EPS. Returns 0
        when rows cannot be passed over: a follow order moves with every quote, and a mark
        from the data is not the row's mid that safe_row tests."""
        cdef SideBook* buys = &self.sides[0]
        cdef SideBook* sells = &self.sides[1]
        if buys.n_follow or sells.n_follow or (self.has_mark and self.acct.position != 0.0):
            return 0
        if not settled(buys):       # the best entry of each side is then live
            self.settle(buys)
        if not settled(sells):
            self.settle(sells)
        lo[0] = (buys.entries[buys.n - 1].key + 0.75) * self.tick if buys.n else -INFINITY
        hi[0] = (-sells.entries[sells.n - 1].key - 0.75) * self.tick if sells.n else INFINITY
        return 1

    cdef Py_ssize_t skip(self, Py_ssize_t k, int64_t until, double lo, double hi) noexcept nogil:
        """The first row from ``k`` that may matter (see touch_band), at or before ``until``;
        else the first row after ``until``, or the end of the rows held or of the section's
        row budget. With a position, a row whose mid is not a safe mark (safe_row) matters
        too. NaN compares false: a missing quote reaches nothing, as in on_row."""
        cdef bint position = self.acct.position != 0.0
        cdef Py_ssize_t top, step
        cdef Py_ssize_t n = min(self.n_rows, self.row_budget)
        if not position and lo == -INFINITY and hi == INFINITY:
            # Nothing rests and nothing is held: no row matters; find the first after
            # ``until`` by galloping then bisection (times are in order), which reads a few
            # rows near ``k`` when the next event is near, as it usually is.
            step = 1
            top = k
            while top < n and self.t_time[top] <= until:
                k = top + 1
                top = k + step
                step *= 2
            return first_after(self.t_time, k, min(top, n), until)
        cdef const int64_t* t
        cdef const double* bid
        cdef const double* ask
        cdef const double* amount
        cdef const double* price
        cdef double safe_lo = self.safe_lo, safe_hi = self.safe_hi
        cdef Py_ssize_t head = min(k + SCAN_HEAD, n)
        if k >= n:
            return k
        t, bid, ask = &self.t_time[0], &self.t_bid[0], &self.t_ask[0]
        amount, price = &self.t_amount[0], &self.t_price[0]
        # Most calls stop at their first row (the touch is on our orders), and most rows
        # passed over come in long runs (the market away from them): the first rows are
        # tested one at a time, then a group of rows a test (scan_group) while the last row
        # of the group is by ``until`` (times are in order); a group that may hold a row
        # that matters is tested again one row at a time below.
        while k < head:
            if row_matters(t, bid, ask, amount, price, k, until, lo, hi, position, safe_lo,
                           safe_hi):
                return k
            k += 1
        if not position:
            safe_lo, safe_hi = -INFINITY, INFINITY
        while (k + SCAN_GROUP <= n and t[k + SCAN_GROUP - 1] <= until
               and not scan_group(bid, ask, amount, price, k, lo, hi, safe_lo, safe_hi)):
            k += SCAN_GROUP
            if k + SCAN_AHEAD + SCAN_GROUP <= n:
                prefetch_scan(t, bid, ask, price, amount, k + SCAN_AHEAD,
                              k + SCAN_AHEAD + SCAN_GROUP - 1)
        while k < n:
            if row_matters(t, bid, ask, amount, price, k, until, lo, hi, position, safe_lo,
                           safe_hi):
                return k
            k += 1
        return k

    cdef int refill(self) except -1:
        """Streaming: take the next chunk of rows from ``source`` (1), or mark the source done
        (0). The rows already replayed are dropped except those the engine may still read:

        * the current row (the mark, DESIGN "Account") and every row a later strategy call
          could see: from the last row received at least ``feed_latency.max_ns`` before now
          (every later call sees it or a later one, rule 1), or from the row the strategy
          sees now if that is later;
        * the row the strategy sees now (orders it sends take their decision price there),
          and the last trade at or before it and before the kept block (the last price).

        Indices into the rows (the next row, the feed row) move with them; the last-trade
        cache starts again."""
        cdef Py_ssize_t i = self.i, f = self.feed_row - 1, lo, b, t, k
        cdef int64_t horizon
        cdef list keep
        cdef object chunk = None
        while chunk is None:
            chunk = next(self.source, None)
            if chunk is None:
                self.exhausted = True
                self.source = None
                return 0
            if len(chunk[0]) == 0:
                chunk = None
        # b: the last replayed row received by now - max feed latency (t_seen is
        # non-decreasing, so a binary search finds it).
        horizon = self.now - self.feed_latency.max_ns
        b = first_after(self.t_seen, 0, i, horizon) - 1
        lo = max(b, f, 0)
        keep = []
        if 0 <= f < lo:
            t = f
            while t >= 0 and self.t_amount[t] == 0.0:
                t -= 1
            if 0 <= t < f:
                keep.append(t)
            keep.append(f)
        t = lo - 1
        while t >= 0 and self.t_amount[t] == 0.0:
            t -= 1
        if t >= 0 and (not keep or t > keep[len(keep) - 1]):
            keep.append(t)
        rows = np.concatenate([np.asarray(keep, dtype=np.intp),
                               np.arange(lo, i, dtype=np.intp)])
        columns = []
        for k, old in enumerate((self.t_time, self.t_price, self.t_amount, self.t_bid,
                                 self.t_bid_amount, self.t_ask, self.t_ask_amount)):
            columns.append(np.concatenate([np.asarray(old)[rows], chunk[k]]))
        self.t_time, self.t_price, self.t_amount = columns[0], columns[1], columns[2]
        self.t_bid, self.t_bid_amount = columns[3], columns[4]
        self.t_ask, self.t_ask_amount = columns[5], columns[6]
        if chunk[7] is not None:
            self.t_seen = np.concatenate([np.asarray(self.t_seen)[rows], chunk[7]])
        else:
            self.t_seen = self.t_time
        if self.has_mark:
            self.t_mark = np.concatenate([np.asarray(self.t_mark)[rows], chunk[8]])
        self.n_rows = self.t_time.shape[0]
        self.rows_base += i - rows.shape[0]
        self.i = rows.shape[0]
        if self.row_budget != PY_SSIZE_T_MAX:
            self.row_budget -= i - self.i
        if f < 0:
            self.feed_row = 0
        elif f < lo:
            self.feed_row = keep.index(f) + 1
        else:
            self.feed_row = len(keep) + f - lo + 1
        self.trade_cache_row = 0
        self.trade_cache_hit = -1
        return 1

    cdef int apply_next_action(self) except -1 nogil:
        """Rule 2: the earliest pending action takes effect (ties: in sending order). A cancel
        or amend that arrives before its order is live is rejected as unknown, as an
        exchange does (DESIGN "Latency models"); the order goes live when its add arrives."""
        cdef Action act = self.pop_action()
        cdef Order* o
        self.now = act.time
        o = self.find(act.order_id)
        if o != NULL:
            if act.kind == A_ADD:
                if o.status == S_PENDING:
                    self.go_live(o)
            else:
                if act.kind == A_CANCEL:
                    o.cancelling = 0
                if o.status == S_PENDING:
                    o.rejected += 1
                elif o.status == S_LIVE:
                    if act.kind == A_CANCEL:
                        # Fills before the cancel takes effect stand (rule 2).
                        self.close(o, S_CANCELLED, R_CANCELLED)
                    else:
                        self.amend(o, &act)
                elif act.kind == A_AMEND:
                    o.amends += 1                   # on a closed order: nothing, counted
        elif act.kind == A_AMEND:
            o = self.record(act.order_id)
            o.amends += 1
            self.store(o)
        self.check_liquidation()
        self.maybe_compact()
        return 0

    cdef int request_cancel(self, Order* o) except -1:
        """The strategy asks to cancel ``o``: a no-op when its cancel is on its way or it is
        closed (the first request is recorded), else a cancel action after the cancel
        latency."""
        if o.cancelling:
            return 0                                # already on its way
        if o.cancel_sent == NO_TIME:
            o.cancel_sent = self.now
            self.store(o)
        if o.status >= S_FILLED:
            return 0                                # closed: a no-op, recorded
        o.cancelling = 1
        self.push_action(A_CANCEL, o.order_id, self.cancel_latency.draw(self.now), NAN, NAN)
        return 0

    cdef int64_t send(self, int8_t type, double price, int64_t level, double amount,
                      bint post_only, int8_t tif, bint reduce_only) except -1:
        cdef Order* o = self.new_order(type, price, level, amount, post_only, tif, reduce_only)
        self.push_action(A_ADD, o.order_id, self.latency.draw(self.now), NAN, NAN)
        if self.i < self.n_rows:
            # The order goes live on a row near the next one (go_live): its sizes (the
            # queue it joins, the opposite size a take reads) are not read by the scan that
            # passes over the rows until then, so they are fetched now.
            prefetch(&self.t_bid_amount[self.i])
            prefetch(&self.t_ask_amount[self.i])
        return o.order_id

    cdef Order* new_order(self, int8_t type, double price, int64_t level, double amount,
                          bint post_only, int8_t tif, bint reduce_only) except NULL nogil:
        """Record a new order, pending, in the book and the orders table."""
        cdef Order* o = <Order*>self.book.push()
        cdef int64_t* slot = <int64_t*>self.slots.push_raw()
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
        o.tif = tif
        o.reduce_only = reduce_only
        o.decision_price = NAN
        if fr >= 0:
            o.decision_price = self.t_ask[fr] if amount > 0 else self.t_bid[fr]
        o.slippage = NAN if type == T_MARKET else 0.0
        self.update_working(o)
        if self.keep_orders:
            # The order's row of the orders table, written whole when it leaves the book
            # (compact, finish); until then record() reads the book, so the row is left
            # uncleared.
            self.orders.reserve()
        return o

    cdef int advance(self, bint stop) except -1 nogil:
        """Replay rows, apply actions and funding in time order (rules 1 and 2, DESIGN
        "Account": at one timestamp actions, then funding, then the strategy) until the
        strategy is due: its next call (EV_SIGNAL, not yet made), or, when ``stop``, fills to
        report to ``on_fill`` (EV_FILLS); EV_END past the last row; EV_MORE, before any of
        these, at the row ``row_budget`` (called again, it goes on from there). ``fills_from``
        is then the first fill not yet reported. Everything between two strategy callbacks
        runs here, in one section that needs no GIL (see run)."""
        cdef int64_t t_act, t_sig, t_fund, t_next
        cdef int rc
        while True:
            t_act = self.next_action_time()
            t_sig = self.s_time[self.j] if self.j < self.n_sig else INT64_MAX
            t_fund = self.f_time[self.k_fund] if self.k_fund < self.n_fund else INT64_MAX
            t_next = min(t_act, t_fund, t_sig)
            if not self.keep_fills:
                self.fills.n = 0        # every fill so far was handed to on_fill
            self.fills_from = self.fills.n
            rc = self.replay(t_next, stop)
            if rc == 2:
                return EV_MORE
            if rc == 0:
                # Past the last row of the data (replay has pulled every chunk).
                if self.exhausted and (self.n_rows == 0 or t_next > self.t_time[self.n_rows - 1]):
                    return EV_END
                if t_act == t_next:
                    self.apply_next_action()
                elif t_fund == t_next:
                    self.apply_funding()
                else:
                    return EV_SIGNAL
            if stop and self.fills.n != self.fills_from:
                return EV_FILLS

    cdef inline void prefetch_rows(self) noexcept nogil:
        # The next section's scan (skip) starts at row i on columns nothing has read yet:
        # fetch its first group while the strategy runs, rather than wait on each at once.
        cdef Py_ssize_t k = self.i, last = min(self.i + SCAN_GROUP, self.n_rows) - 1
        if k <= last:
            prefetch_scan(&self.t_time[0], &self.t_bid[0], &self.t_ask[0], &self.t_price[0],
                          &self.t_amount[0], k, last)

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
        cdef bint stop = on_fill is not None
        cdef Py_ssize_t n_fills, step = max(self.n_sig // 100, 1)
        cdef int event
        if self.handed_over:
            # The records were handed over by tables() without copying: running on would
            # write into the arrays a Result holds.
            raise RuntimeError("the engine's tables were handed over by tables(); it cannot "
                               "run again")
        try:
            while True:
                # The first HOLD_ROWS rows of a section are replayed holding the GIL: giving
                # it up and taking it back costs more than most sections between two calls.
                # A section that goes on gives it up for the rest.
                self.row_budget = self.i + HOLD_ROWS
                event = self.advance(stop)
                if event == EV_MORE:
                    self.row_budget = PY_SSIZE_T_MAX
                    with nogil:
                        event = self.advance(stop)
                if event == EV_END:
                    break
                n_fills = self.fills_from
                if event == EV_SIGNAL:
                    self.now = self.s_time[self.j]
                    self.sync_feed()
                    self.record_balance()
                    self.cur_signal = self.j
                    if self.n_closed:
                        self.compact()          # ctx.orders shows working orders only
                    self.acting = True
                    if on_start is not None and self.j == 0:
                        on_start(ctx)
                    self.j += 1
                    self.prefetch_rows()
                    on_signal(ctx)
                    self.acting = False
                    if progress is not None and self.j % step == 0:
                        progress(self.rows_base + self.i)
                if stop and self.fills.n != n_fills:
                    if self.n_closed:
                        self.compact()
                    self.acting = True
                    while n_fills < self.fills.n:
                        # A read-only record: the callback cannot change what was recorded.
                        fill = self.fills.record(n_fills)
                        self.now = fill["time"]
                        self.sync_feed()
                        on_fill(ctx, fill)
                        n_fills += 1
                    self.acting = False
        finally:
            # A ctx kept after the run (or after a failing callback) can no longer act.
            self.acting = False
        if self.balance_owed:
            # Sampled balances end with the state at the end of the run.
            self.balance_due = INT64_MIN
            self.record_balance()
        if progress is not None:
            progress(self.rows_base + self.i)

    def tables(self):
        """Return the recorded tables as columns, handing over the buffers.

        Each column is an array over the engine's own record buffer (no copy), writeable:
        after this call the engine must not run again, and :meth:`run` refuses to, so the
        records belong to whoever holds the arrays (a result wraps them as its DataFrames'
        columns). Calling it twice returns arrays over the same records.

        Returns
        -------
        dict
            ``orders, fills, balances, positions, funding``: each a dict of one array per
            field of its C struct (``ORDER_DTYPE``, ``FILL_DTYPE``, ...), of its rows in use.
        """
        if self.book.n:
            # Orders still working are written to the orders table; doing it again writes
            # the same records.
            self.finish()
        if not self.keep_fills:
            self.fills.n = 0
        self.handed_over = True
        return {
            "orders": self.orders.columns(),
            "fills": self.fills.columns(),
            "balances": self.balances.columns(),
            "positions": self.positions.columns(),
            "funding": self.funding.columns(),
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
        """Current time, int64 nanoseconds since the epoch (UTC); the fast form to compare
        and subtract. :attr:`timestamp` is the same instant as a ``pandas.Timestamp``."""
        return self.engine.now

    @property
    def timestamp(self):
        """Current time as a UTC ``pandas.Timestamp`` (:attr:`time` in int64 ns is cheaper
        where only arithmetic is needed)."""
        import pandas as pd
        return pd.Timestamp(self.engine.now, tz="UTC")

    def __repr__(self):
        # One line a user can read in a debugger or a notebook: when, the quote seen, the
        # account and how many orders work.
        import pandas as pd
        when = pd.Timestamp(self.engine.now, tz="UTC").isoformat()
        return (f"<Context {when} bid {self.bid_price:g} x {self.bid_amount:g} / ask "
                f"{self.ask_price:g} x {self.ask_amount:g}; position {self.position:g}, "
                f"balance {self.balance:g}, nav {self.nav:g}, "
                f"{len(self.orders)} working order{'' if len(self.orders) == 1 else 's'}>")

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
        """Balance + unrealised PnL - the initial margin of the exposure (DESIGN "Account"):
        what an order may still commit. Equal to balance + unrealised with margin off."""
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
    def funding(self):
        """Cumulative funding received, settlement currency (negative: net paid)."""
        return self.engine.acct.funding

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
        cdef double a
        self.check_acting(action)
        try:
            a = amount
        except TypeError:
            raise TypeError(f"{action}: amount must be a number, got {type(amount).__name__}") from None
        return self.lots(action, a, amount)

    cdef double lots(self, str action, double a, shown) except? -1:
        # check_amount of a number already in C; ``shown`` is what the strategy passed, for
        # the messages (None: ``a`` itself, so that no float is built unless one is raised).
        cdef double lot = self.engine.lot
        cdef double snapped
        if not isfinite(a) or a == 0.0:
            raise ValueError(f"{action}: amount must be a non-zero finite number "
                             f"(> 0 buy, < 0 sell), got {a if shown is None else shown!r}")
        if fabs(a) * self.engine.inv_lot > MAX_UNITS:
            raise ValueError(f"{action}: amount {a!r} is too large; at most "
                             f"{MAX_UNITS * lot:.17g} (2**53 lots of {lot!r})")
        if not on_grid(a, self.engine.inv_lot):
            raise ValueError(f"{action}: amount {a!r} is off the lot grid "
                             f"(lot_size {lot!r})")
        snapped = snap(a, lot, self.engine.inv_lot)
        if snapped == 0.0:
            raise ValueError(f"{action}: amount {a if shown is None else shown!r} rounds to 0 "
                             f"lots (lot_size {lot!r}); the smallest order is one lot")
        return snapped

    cdef double check_price(self, str action, price) except? -1:
        # A limit price: a positive finite number on the tick grid, at most 2**53 ticks.
        cdef double p
        try:
            p = price
        except TypeError:
            raise TypeError(f"{action}: price must be a number, got {type(price).__name__}") from None
        return self.ticks(action, p, price)

    cdef double ticks(self, str action, double p, shown) except? -1:
        # check_price of a number already in C; ``shown`` as for lots.
        cdef double tick = self.engine.tick
        if not isfinite(p) or p <= 0.0:
            raise ValueError(f"{action}: price must be a positive finite number, got "
                             f"{p if shown is None else shown!r}")
        if p * self.engine.inv_tick > MAX_UNITS:
            raise ValueError(f"{action}: price {p!r} is too large; at most "
                             f"{MAX_UNITS * tick:.17g} (2**53 ticks of {tick!r})")
        if not on_grid(p, self.engine.inv_tick):
            raise ValueError(f"{action}: price {p!r} is off the tick grid (tick_size "
                             f"{tick!r}); nearest on-grid price is "
                             f"{to_grid(p, self.engine.inv_tick) * tick!r}")
        if to_grid(p, self.engine.inv_tick) < 1:
            raise ValueError(f"{action}: price {p!r} rounds to 0 ticks (tick_size "
                             f"{tick!r}); the lowest price is one tick")
        return p

    def limit(self, price, amount, post_only=False, tif="gtc", reduce_only=False):
        """Send a limit order.

        Parameters
        ----------
        price : float
            Limit price, on the contract's tick grid.
        amount : float
            Signed amount on the lot grid: > 0 buy, < 0 sell.
        post_only : bool, default False
            Reject the order instead of letting it take liquidity when it goes live.
        tif : {"gtc", "ioc", "fok"}, default "gtc"
            Time in force. ``"ioc"`` (immediate or cancel) and ``"fok"`` (fill or kill)
            take at most the displayed size at the best opposite price when the order goes
            live, as taker; IOC cancels the rest, FOK fills all of it or is rejected. Either
            is cancelled at once if it cannot take liquidity.
        reduce_only : bool, default False
            A fill never increases the absolute position: it is cut to the position at fill
            time and the rest of the order is cancelled (reason ``reduce_only``).

        Returns
        -------
        int
            The order id.

        Raises
        ------
        ValueError
            If the amount is zero, NaN, infinite or off the lot grid, the price is not a
            positive finite number on the tick grid, ``tif`` is not one of the three, or a
            post-only order is IOC or FOK.
        """
        cdef double a = self.check_amount("limit", amount)
        cdef double p = self.check_price("limit", price)
        cdef int8_t t = TIF_GTC
        if tif != "gtc":
            if tif not in TIF_NAMES:
                raise ValueError(f"limit: tif must be one of {TIF_NAMES}, got {tif!r}")
            t = TIF_NAMES.index(tif)
        if post_only and t != TIF_GTC:
            raise ValueError(f"limit: a post-only order never takes liquidity, so it cannot "
                             f"be {tif!r}, which only takes; use tif='gtc'")
        return self.engine.send(T_LIMIT, p, 0, a, bool(post_only), t, bool(reduce_only))

    def market(self, amount, reduce_only=False):
        """Send a market order: it fills completely at the best opposite price in force
        when it goes live, as taker.

        Parameters
        ----------
        amount : float
            Signed amount on the lot grid: > 0 buy, < 0 sell.
        reduce_only : bool, default False
            Cut the fill to the position held when it goes live (cancelled when there is
            nothing to reduce).

        Returns
        -------
        int
            The order id.
        """
        cdef double a = self.check_amount("market", amount)
        return self.engine.send(T_MARKET, NAN, 0, a, False, TIF_GTC, bool(reduce_only))

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
        return self.engine.send(T_FOLLOW, NAN, <int64_t>lv, a, False, TIF_GTC, False)

    cdef int64_t check_id(self, str action, order_id) except -1:
        # An id this run has issued.
        cdef Engine e = self.engine
        self.check_acting(action)
        # type() first: the ABC check costs microseconds, and plain ints are the common case.
        if type(order_id) is not int and (isinstance(order_id, bool)
                                          or not isinstance(order_id, numbers.Integral)):
            raise TypeError(f"{action}: order_id must be an int, got {order_id!r}")
        if not 1 <= order_id < e.next_id:
            raise ValueError(f"{action}: unknown order id {order_id!r}; ids sent so far are "
                             + (f"1..{e.next_id - 1}" if e.next_id > 1 else "none"))
        return order_id

    def cancel(self, order_id):
        """Cancel an order; it takes effect after the cancel latency.

        Cancelling an order that is already filled, cancelled or rejected (or whose cancel
        is already on its way) is a no-op; the orders table shows the first request in
        ``cancel_sent``. A cancel that arrives before its order is live is rejected as
        unknown, as an exchange does (the orders table counts it in ``rejected``); the
        order then goes live, and may be cancelled again.

        Parameters
        ----------
        order_id : int
            An id returned by :meth:`limit`, :meth:`market` or :meth:`follow`.

        Raises
        ------
        ValueError
            If no order with this id was ever sent.
        """
        cdef int64_t oid = self.check_id("cancel", order_id)
        self.engine.request_cancel(self.engine.record(oid))

    def cancel_all(self, side=0):
        """Cancel every working order (pending or live), or every one of one side.

        The same as :meth:`cancel` of each id in :attr:`orders` (of that side), in one call:
        orders whose cancel is already on its way are left as they are.

        Parameters
        ----------
        side : {0, 1, -1}, default 0
            0: both sides; 1: the buy orders; -1: the sell orders.

        Returns
        -------
        int
            How many cancels were sent.

        Raises
        ------
        ValueError
            If ``side`` is not 0, 1 or -1.
        """
        cdef Engine e = self.engine
        cdef Order* o
        cdef Py_ssize_t k, sent = 0
        cdef int which
        self.check_acting("cancel_all")
        if type(side) is not int and (isinstance(side, bool)
                                      or not isinstance(side, numbers.Integral)):
            raise TypeError(f"cancel_all: side must be an int (0, 1 or -1), got {side!r}")
        if side not in (0, 1, -1):
            raise ValueError(f"cancel_all: side must be 0 (both), 1 (buys) or -1 (sells), "
                             f"got {side!r}")
        which = side
        for k in range(e.book.n):
            o = &(<Order*>e.book.data)[k]
            if o.status >= S_FILLED or o.cancelling or (which and o.side != which):
                continue
            # request_cancel adds to the action heap, not the book: ``o`` stays valid.
            e.request_cancel(o)
            sent += 1
        return sent

    cdef int quote_args(self, int side, price, size, double* p, double* a, int64_t* tick,
                        int64_t* kept) except -1:
        # One side of a quote call checked into p, a and tick (side 0 the bid, 1 the ask; a
        # is signed and 0 for no order on the side).
        cdef str name = "bid" if side == 0 else "ask"
        try:
            a[side] = size
            p[side] = price
        except TypeError:
            raise TypeError(f"quote: {name} price and amount must be numbers, got "
                            f"{price!r} and {size!r}") from None
        if not a[side] >= 0.0:
            raise ValueError(f"quote: {name}_amount must be a size >= 0 (the side is "
                             f"given by its place), got {size!r}")
        kept[side] = 0
        if isnan(p[side]) or a[side] == 0.0:
            a[side] = 0.0                   # nothing on this side
            return 0
        p[side] = self.ticks("quote", p[side], None)
        a[side] = self.lots("quote", a[side] if side == 0 else -a[side], None)
        tick[side] = to_grid(p[side], self.engine.inv_tick)
        return 0

    def quote(self, bid_price, bid_amount, ask_price, ask_amount, post_only=False):
        """Hold one bid and one ask: keep the working limit order that already matches each
        side, cancel the other limit orders of that side, and send what is missing.

        One call does what a strategy otherwise does with :attr:`orders`, :meth:`cancel`
        and :meth:`limit`, in one crossing into the engine. On each side the first working
        limit order (in sending order) at the price, with the amount as sent and the same
        ``post_only``, and without a cancel on its way, is kept (the notebook's keep-order
        rule with zero tolerance); every other working limit order of the side is
        cancelled. Follow and market orders are left alone.

        Parameters
        ----------
        bid_price, ask_price : float
            Prices on the tick grid; NaN for no order on that side.
        bid_amount, ask_amount : float
            Sizes on the lot grid, >= 0 (0: no order on that side).
        post_only : bool, default False
            For the orders sent (and kept).

        Returns
        -------
        tuple of int
            ``(bid_id, ask_id)``: the order kept or sent on each side, 0 for none.

        Raises
        ------
        ValueError
            If a price is not NaN or a positive number on the tick grid, or a size is
            negative or off the lot grid.
        """
        cdef Engine e = self.engine
        cdef double p[2]
        cdef double a[2]
        cdef int64_t tick[2]
        cdef int64_t kept[2]
        cdef Order* o
        cdef Py_ssize_t k, n
        cdef int side
        cdef bint po = post_only is True or (post_only is not False and bool(post_only))
        self.check_acting("quote")
        # One side at a time in C: a loop over Python tuples would cost more than the rest
        # of the call.
        self.quote_args(0, bid_price, bid_amount, p, a, tick, kept)
        self.quote_args(1, ask_price, ask_amount, p, a, tick, kept)
        n = e.book.n
        for k in range(n):
            o = &(<Order*>e.book.data)[k]
            if o.type != T_LIMIT or o.status >= S_FILLED or o.cancelling:
                continue
            side = 0 if o.side > 0 else 1
            if (kept[side] == 0 and a[side] != 0.0 and o.price_tick == tick[side]
                    and o.amount == a[side] and o.post_only == po and o.tif == TIF_GTC
                    and not o.reduce_only):
                kept[side] = o.order_id
            else:
                e.request_cancel(o)
        # New orders last: sending may move the book's memory.
        for side in range(2):
            if a[side] != 0.0 and kept[side] == 0:
                kept[side] = e.send(T_LIMIT, p[side], 0, a[side], po, TIF_GTC, False)
        return kept[0], kept[1]

    def amend(self, order_id, price=None, amount=None):
        """Change an order's price or amount; it takes effect after the amend latency.

        A smaller amount at the same price keeps the order's place in the queue; a new price
        or a larger amount rejoins the queue at the (new) price, behind everyone (rule 3),
        and a new price at or through the opposite best takes liquidity (a post-only order
        is rejected instead; earlier fills stand). An amount at or below what has already filled closes the
        order (status cancelled, reason ``amended``). Amending a closed order does nothing
        but is counted in the orders table's ``amends``; an amend that arrives before the
        order is live is rejected as unknown (counted in ``rejected``).

        Parameters
        ----------
        order_id : int
            The order.
        price : float, optional
            New limit price on the tick grid; not for follow or market orders.
        amount : float, optional
            New signed total amount (filled part included), same side as the order.

        Raises
        ------
        ValueError
            If neither price nor amount is given, the id is unknown, the price is invalid or
            given for a follow or market order, or the amount is invalid or on the other side.
        """
        cdef Engine e = self.engine
        cdef int64_t oid = self.check_id("amend", order_id)
        cdef Order* o = e.record(oid)
        cdef double p = NAN, a = NAN
        if price is None and amount is None:
            raise ValueError("amend: give a new price, a new amount or both")
        if price is not None:
            if o.type != T_LIMIT:
                raise ValueError(f"amend: order {oid} is a {TYPE_NAMES[o.type]} order; only a "
                                 f"limit order's price can be amended")
            p = self.check_price("amend", price)
        if amount is not None:
            a = self.check_amount("amend", amount)
            if (a > 0) != (o.side > 0):
                raise ValueError(f"amend: amount {amount!r} is on the other side of order "
                                 f"{oid} ({'buy' if o.side > 0 else 'sell'}); amounts keep "
                                 f"their sign")
        e.push_action(A_AMEND, oid, e.amend_latency.draw(e.now), p, a)
