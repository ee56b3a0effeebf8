# Queue models: how the queue ahead of a resting order moves (DESIGN.md, "Queue models").
# The engine calls these from its row loop without the GIL. A custom model subclasses
# QueueModel in Cython (``from mmsim.queue cimport QueueModel``) and overrides front_share,
# or any of the three events.


cdef class QueueModel:
    # False when on_size_change needs neither prev_size nor printed (the engine then passes
    # NaN and 0 without looking them up).
    cdef readonly bint uses_history
    # Share s in [0, 1] of a decrease in displayed size that is taken from in front of the
    # order, given the volume ahead A and behind B. -1.0 signals a raised exception.
    cdef double front_share(self, double ahead, double behind) except -1.0 nogil
    # Queue ahead of an order joining the best level of displayed ``size`` (DESIGN rule 3);
    # ``position`` is the run's queue_position.
    cdef double on_join(self, double size, double position) noexcept nogil
    # Queue ahead after a print of ``volume`` at the order's price (rule 4: prints consume
    # the queue ahead first).
    cdef double on_print(self, double ahead, double volume) noexcept nogil
    # Queue ahead after the displayed size at the order's price went from ``prev_size``
    # (NaN: the price was not the best on the previous row) to ``new_size``, with
    # ``printed`` traded there in between. -1.0 signals a raised exception.
    cdef double on_size_change(self, double ahead, double prev_size, double new_size,
                               double printed) except -1.0 nogil


cdef class RiskAverse(QueueModel):
    pass


cdef class PowerProb(QueueModel):
    cdef readonly double n              # exponent of f(x) = x ** n


cdef class LogProb(QueueModel):
    pass


cdef class FrontShare(QueueModel):
    cdef readonly object function       # Python callable front_share(ahead, behind) -> s
