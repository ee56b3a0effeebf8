# Latency models: how long an action takes from being sent to taking effect (DESIGN.md,
# "Latency models"). The engine holds one model per latency kind (latency, cancel_latency,
# amend_latency, feed_latency), calls reset() at the start of every run and draw() once per
# action, inside its nogil loop. Every value is int64 nanoseconds.
#
# Randomness comes from splitmix64 on ``state`` alone (64 bits, period 2**64): the same seed
# gives the same draws, bit for bit, on every platform (latency.pyx says how).
from libc.stdint cimport int64_t, uint64_t


cdef class LatencyModel:
    # queries
    cdef readonly int64_t max_ns        # largest latency draw() can ever return, ns (<= MAX_NS)
    # random stream
    cdef uint64_t state                 # splitmix64 state: the stream's position
    cdef uint64_t seed                  # state after reset(); 0 for the models without randomness

    # commands
    cdef void reset(self) noexcept nogil                # restart the stream from seed (each run)
    cdef int64_t draw(self, int64_t t) noexcept nogil   # latency (ns) of an action sent at t (ns)


cdef class Constant(LatencyModel):
    pass                                # the latency is max_ns


cdef class Sampled(LatencyModel):
    cdef int64_t[::1] values            # recorded latencies, ns, each drawn with probability 1/n
    cdef uint64_t n                     # len(values), >= 1
    cdef uint64_t threshold             # 2**64 mod n: raw draws below it are redrawn (no bias)


cdef class Lognormal(LatencyModel):
    cdef double median                  # median, ns (a whole number held as a double)
    cdef double sigma                   # standard deviation of ln(latency), >= 0


cdef class Series(LatencyModel):
    cdef int64_t[::1] times             # ns since the epoch (UTC) where the value changes, increasing
    cdef int64_t[::1] values            # latency from times[i] until times[i + 1], ns
    cdef Py_ssize_t cursor              # segment of the last draw: where the next search starts
