"""Queue models: how the queue ahead of a resting order moves (DESIGN.md, "Queue models").

Prints at an order's price consume the queue ahead A first (rule 4); a drop in the displayed
size there that prints do not explain is split between the volume in front of the order and
behind it by ``front_share``. The engine calls every model from its row loop without the GIL.
"""
from libc.math cimport fmax, fmin, isfinite, isnan, log1p, pow


cdef class QueueModel:
    """How the queue ahead of a resting order moves: the base of every queue model.

    The engine calls three events for an order whose queue ahead is known: it joins the
    best level (:meth:`join`), a print at its price (:meth:`after_print`), and a change of
    the displayed size at its price while that price is the best (:meth:`update`). The
    default events follow DESIGN.md "Queue models": a subclass usually overrides only the
    share of an unexplained size drop taken from in front of the order.

    Subclass in Cython (``from mmsim.queue cimport QueueModel``) and override
    ``cdef double front_share(self, double ahead, double behind) except -1.0 nogil``; or
    pass a Python function to :class:`FrontShare` (slower: it takes the GIL on every call).
    """

    def __cinit__(self, *args, **kwargs):
        self.uses_history = True

    cdef double front_share(self, double ahead, double behind) except -1.0 nogil:
        with gil:
            raise NotImplementedError(f"{type(self).__name__} does not define front_share")

    cdef double on_join(self, double size, double position) noexcept nogil:
        # Rule 3: queue_position x the displayed size at the level.
        return position * size

    cdef double on_print(self, double ahead, double volume) noexcept nogil:
        # Rule 4: a print at our price consumes the queue ahead first.
        return fmax(ahead - volume, 0.0)

    cdef double on_size_change(self, double ahead, double prev_size, double new_size,
                               double printed) except -1.0 nogil:
        cdef double chg, behind, s, a
        if isnan(prev_size):
            # The price was not the best on the previous row: only the cap by what is shown.
            return fmin(ahead, new_size)
        chg = prev_size - new_size - printed          # the drop that prints do not explain
        if chg <= 0.0:
            return fmin(ahead, new_size)              # new orders join behind us
        behind = fmax(prev_size - ahead, 0.0)
        s = self.front_share(ahead, behind)
        if not 0.0 <= s <= 1.0:
            with gil:
                raise ValueError(f"{type(self).__name__}.front_share({ahead!r}, {behind!r}) "
                                 f"returned {s!r}; a share must be in [0, 1]")
        # What exceeds the volume behind us must have come from the front.
        a = ahead - s * chg + fmin(behind - (1.0 - s) * chg, 0.0)
        return fmin(fmax(a, 0.0), new_size)

    def update(self, ahead, prev_size, new_size, printed=0.0):
        """The queue ahead after the displayed size at the order's price changed.

        Parameters
        ----------
        ahead : float
            Queue ahead A before the change (prints since the previous row already taken
            off).
        prev_size : float
            Displayed size at the price on the previous row; NaN when the price was not the
            best then.
        new_size : float
            Displayed size now.
        printed : float, default 0.0
            Volume printed at the price since the previous row.

        Returns
        -------
        float
            The new queue ahead, in [0, new_size].

        Examples
        --------
        DESIGN.md's worked example: PowerProb(2), A = 300, size 400 -> 300, no print.

        >>> PowerProb(2).update(300.0, 400.0, 300.0)
        210.0
        """
        return self.on_size_change(ahead, prev_size, new_size, printed)

    def share(self, ahead, behind):
        """Share of an unexplained size drop taken from in front of the order.

        Parameters
        ----------
        ahead, behind : float
            Displayed volume in front of and behind the order.

        Returns
        -------
        float
            s in [0, 1].
        """
        return self.front_share(ahead, behind)

    def join(self, size, position):
        """Queue ahead of an order joining the best level (rule 3).

        Parameters
        ----------
        size : float
            Displayed size at the level.
        position : float
            The run's ``queue_position``.

        Returns
        -------
        float
        """
        return self.on_join(size, position)

    def after_print(self, ahead, volume):
        """Queue ahead after a print of ``volume`` at the order's price (rule 4).

        Parameters
        ----------
        ahead, volume : float

        Returns
        -------
        float
        """
        return self.on_print(ahead, volume)

    def __eq__(self, other):
        return type(self) is type(other) and self.__reduce__() == other.__reduce__()

    def __hash__(self):
        return hash(self.__reduce__())


cdef class RiskAverse(QueueModel):
    """The risk-averse queue model, the default: cancellations are never in front of us.

    The queue ahead only shrinks by prints at our price and by the displayed size falling
    below it (A = min(A, size)); DESIGN.md rule 5.
    """

    def __cinit__(self):
        self.uses_history = False       # A = min(A, S_new) needs only the size shown now

    cdef double front_share(self, double ahead, double behind) except -1.0 nogil:
        return 0.0

    cdef double on_size_change(self, double ahead, double prev_size, double new_size,
                               double printed) except -1.0 nogil:
        # s = 0 in the general rule reduces to this (the excess over B is A - S_new - T).
        return fmin(ahead, new_size)

    def __reduce__(self):
        return (RiskAverse, ())

    def __repr__(self):
        return "RiskAverse()"


cdef class PowerProb(QueueModel):
    """A probabilistic queue model: f(x) = x ** n, s = f(A) / (f(A) + f(B)).

    The larger ``n``, the more a cancellation is taken to come from the longer side of the
    queue around us.

    Parameters
    ----------
    n : float
        Exponent, > 0.
    """

    def __init__(self, n):
        from mmsim.checks import number
        self.n = number(n, "PowerProb n", positive=True)

    cdef double front_share(self, double ahead, double behind) except -1.0 nogil:
        cdef double fa = pow(ahead, self.n), fb = pow(behind, self.n)
        if fa + fb == 0.0:
            return 1.0
        if isfinite(fa + fb):
            return fa / (fa + fb)
        # x ** n overflowed: the same share from the ratio of the two sides.
        if ahead == 0.0:
            return 0.0
        return 1.0 / (1.0 + pow(behind / ahead, self.n))

    def __reduce__(self):
        return (PowerProb, (self.n,))

    def __repr__(self):
        return f"PowerProb({self.n!r})"


cdef class LogProb(QueueModel):
    """A probabilistic queue model: f(x) = ln(1 + x), s = f(A) / (f(A) + f(B))."""

    cdef double front_share(self, double ahead, double behind) except -1.0 nogil:
        cdef double fa = log1p(ahead), fb = log1p(behind)
        if fa + fb == 0.0:
            return 1.0
        return fa / (fa + fb)

    def __reduce__(self):
        return (LogProb, ())

    def __repr__(self):
        return "LogProb()"


cdef class FrontShare(QueueModel):
    """A queue model from a plain Python function ``front_share(ahead, behind) -> s``.

    The slow path: the engine takes the GIL and calls the function each time the displayed
    size at an order's price drops by more than the prints there explain. Write a Cython
    subclass of :class:`QueueModel` where speed matters.

    Parameters
    ----------
    function : callable
        ``function(ahead, behind)`` returning the share s in [0, 1] of the drop taken from
        in front of the order (A: volume ahead, B: volume behind).
    """

    def __init__(self, function):
        if not callable(function):
            raise TypeError(f"queue_model must be a QueueModel or a callable "
                            f"front_share(ahead, behind) -> share, got {function!r}")
        self.function = function

    cdef double front_share(self, double ahead, double behind) except -1.0 nogil:
        with gil:
            s = self.function(ahead, behind)
            try:
                return float(s)
            except (TypeError, ValueError):
                raise TypeError(f"queue model {self.function!r} returned {s!r}; "
                                f"front_share must return a number in [0, 1]") from None

    def __reduce__(self):
        return (FrontShare, (self.function,))

    def __repr__(self):
        return f"FrontShare({self.function!r})"


def as_queue_model(value):
    """The queue model a ``backtest(queue_model=...)`` argument names.

    Parameters
    ----------
    value : QueueModel, callable or None
        A model; a Python ``front_share(ahead, behind) -> s`` function; None for
        :class:`RiskAverse`.

    Returns
    -------
    QueueModel
    """
    if value is None:
        return RiskAverse()
    if isinstance(value, QueueModel):
        if type(value) is QueueModel:
            raise TypeError("queue_model: QueueModel is the base class; pass RiskAverse(), "
                            "PowerProb(n), LogProb(), a subclass or a function")
        return value
    if isinstance(value, type) and issubclass(value, QueueModel):
        raise TypeError(f"queue_model must be an instance, got the class {value.__name__}; "
                        f"pass {value.__name__}(...)")
    return FrontShare(value)
