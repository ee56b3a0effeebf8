"""``backtest``: validate the inputs, run the compiled engine, wrap its records as a Result."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from mmsim.checks import number
from mmsim.contracts import BITMEX_XBTUSD, Contract
from mmsim.data.align import (
    Aligned, align, check_aligned, cut, is_checked, taq_arrays, with_signals,
)
from mmsim.data.schema import (
    TAQ_COLUMNS, SchemaError, bound_ns, check_prices, funding_rates, index_ns, time_index_ns,
    validate_signals,
)
from mmsim.results import Result
from mmsim.strategy import Strategy

__all__ = ["backtest", "RunError", "StrategyError", "ProgressError", "StreamError",
           "EmptyResultWarning"]

# Engine times are int64 ns that pandas must turn back into Timestamps.
_LAST_NS = pd.Timestamp.max.value


class EmptyResultWarning(UserWarning):
    """A run recorded no balance rows: no signal fell within the replayed data, so every
    statistic of its equity is n/a."""


class RunError(RuntimeError):
    """A run stopped early; what it recorded until then is kept.

    Attributes
    ----------
    result : Result
        Everything recorded up to the failure.
    time : pandas.Timestamp
        Simulation time of the failure.
    """

    def __init__(self, message: str, result: Result, time):
        super().__init__(message)
        self.result = result
        self.time = time


class StrategyError(RunError):
    """The strategy raised during a run (in ``on_start``, ``on_signal`` or ``on_fill``)."""


class ProgressError(RunError):
    """The ``progress`` callback raised during a run."""


class StreamError(RunError):
    """A streamed TAQ source failed during a run: a chunk broke the schema, came out of time
    order, or the source itself raised. ``err.result`` holds everything recorded until then
    and ``err.__cause__`` the original exception."""


class _SourceFailed(Exception):
    # Carries an exception out of a streamed source, so that it is not taken for the
    # strategy's.
    pass


class _ProgressFailed(Exception):
    # Carries an exception out of the progress callback, so that it is not taken for the
    # strategy's.
    pass


def _guarded(progress):
    if progress is None:
        return None

    def call(rows):
        try:
            progress(rows)
        except Exception as exc:
            raise _ProgressFailed() from exc
    return call


def _funding(frame):
    # A funding frame as the engine's arrays: times in ns (increasing), finite rates.
    if frame is None:
        return None, None
    if not isinstance(frame, pd.DataFrame) or "rate" not in frame.columns:
        raise TypeError(f"funding must be a DataFrame with a time index and a 'rate' column, "
                        f"got {type(frame).__name__}"
                        + (f" with columns {list(frame.columns)}" if isinstance(frame, pd.DataFrame) else ""))
    times = time_index_ns(frame, "funding")
    return np.ascontiguousarray(times), np.ascontiguousarray(funding_rates(frame, "rate"))


def _initial_margin(leverage, contract: Contract) -> float:
    # The margin rate a run uses: 1 / leverage, at most the contract's highest leverage.
    top = contract.initial_margin
    if leverage is None:
        return 0.0
    if isinstance(leverage, str) and leverage == "max":
        return 0.0 if top is None else top
    value = number(leverage, "leverage", minimum=1)
    if top is not None and 1.0 / value < top:
        raise ValueError(f"leverage {value:g} is above {contract.name or 'the contract'}'s "
                         f"highest, {1.0 / top:g} (initial_margin {top!r})")
    return 1.0 / value


#: The ``record`` levels of :func:`backtest` by name: keep the orders, keep the fills, ns
#: between balance rows.
RECORD_LEVELS = {"all": (True, True, 0), "fills": (False, True, 0),
                 "daily": (False, False, 86_400_000_000_000)}


def _record(record) -> tuple[bool, bool, int]:
    # backtest(record=): whether to keep the orders and the fills tables, and ns between
    # balance rows.
    from mmsim.checks import duration

    if isinstance(record, str) and record in RECORD_LEVELS:
        return RECORD_LEVELS[record]
    try:
        span = duration(record, "record")
    except ValueError:
        raise ValueError(f"record must be one of {list(RECORD_LEVELS)} or a duration between "
                         f"balance rows such as '1h' (a bare number is seconds), got "
                         f"{record!r}") from None
    if span <= pd.Timedelta(0):
        raise ValueError(f"record must be a positive duration, got {record!r}")
    return False, False, int(span.value)


def _plain(value):
    # A run parameter as the result's metadata keeps it: numbers and None as they are, a
    # model (latency or queue) by its repr, which names it exactly.
    return value if value is None or isinstance(value, (int, float, str)) else repr(value)


def _check_horizon(ns: int, name: str, value, time: np.ndarray) -> None:
    # An action sent at the last row takes effect at last + latency: that time must still be
    # a pandas Timestamp, or the result cannot be built.
    if len(time) and int(time[-1]) + ns > _LAST_NS:
        what = f"{value!r} s" if isinstance(value, (int, float)) else f"up to {ns / 1e9:g} s"
        raise ValueError(f"{name} of {what} puts actions sent at the end of the data "
                         f"({pd.Timestamp(int(time[-1]), tz='UTC')}) past "
                         f"{pd.Timestamp(_LAST_NS, tz='UTC')}, the last time pandas can hold")


def _streamed(source, signals, start, end, contract: Contract, models):
    """A streamed TAQ source as the first chunk's arrays (with the signals in
    ``[start, end)``), the engine's source of the chunks after it, and a dict the source
    fills in as it goes (``rows``, ``last``: rows and the time of the last row so far)."""
    if signals is None or isinstance(signals, Aligned):
        raise TypeError("a streamed taq needs a signals DataFrame (one row per strategy call)")
    # The signals in [start, end), cut as the chunks are (this also checks the bounds).
    signals = cut(validate_signals(signals), start, end)
    hi = bound_ns(end, "end")
    seen = {"rows": 0, "last": None}
    from mmsim.data.io import TAQStream

    # A TAQStream's chunks are validated as it reads them: they are not checked twice.
    chunks = _chunks(iter(source), start, end, hi, contract, models, seen,
                     checked=isinstance(source, TAQStream))
    first = next(chunks, None)
    empty = taq_arrays(pd.DataFrame(
        {c: np.zeros(0) for c in TAQ_COLUMNS},
        index=pd.DatetimeIndex([], tz="UTC", name="time")))
    data = with_signals(empty if first is None else first, signals, checked=True)
    rest = (tuple(getattr(d, c) for c in ("time",) + TAQ_COLUMNS + ("local_time", "mark_price"))
            for d in chunks)
    return data, (None if first is None else _guarded_source(rest)), seen


def _chunks(source, start, end, hi, contract: Contract, models, seen: dict,
            checked: bool = False):
    # The source's frames, checked one by one and against the rows before them, cut to
    # [start, end); empty ones are skipped. ``seen`` counts rows and keeps the last time.
    last_seen, has_local, has_mark = None, None, None
    for k, frame in enumerate(source):
        where = f"taq chunk {k} (from row {seen['rows']})"
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{where} is a {type(frame).__name__}; a streamed taq yields TAQ "
                            f"DataFrames")
        try:
            # A naive index is said once, at the first chunk. The prices are checked against
            # the contract with the rows (alone when the stream validated them).
            data = cut(taq_arrays(frame, checked, name="taq" if k == 0 else None,
                                  contract=contract), start, end)
        except SchemaError as exc:
            raise SchemaError(f"{where}: {exc}") from None
        if has_local is None:
            has_local, has_mark = data.local_time is not None, data.mark_price is not None
        for name, had, has in (("local_time", has_local, data.local_time is not None),
                               ("mark_price", has_mark, data.mark_price is not None)):
            if had != has:
                raise SchemaError(f"{where} {'has' if has else 'lacks'} the column {name!r} "
                                  f"the first chunk {'lacked' if has else 'had'}; every chunk "
                                  f"needs the same columns")
        if not len(data.time):
            if hi is not None and len(frame) and index_ns(frame.index)[0] >= hi:
                return                          # past end: the rest is not read
            continue
        if seen["last"] is not None and data.time[0] < seen["last"]:
            raise SchemaError(
                f"{where} starts at {pd.Timestamp(int(data.time[0]), tz='UTC')}, before the "
                f"last row of the chunk before it ({pd.Timestamp(seen['last'], tz='UTC')}); "
                f"chunks must come in time order")
        if has_local:
            # The running maximum of local_time goes on across chunks (schema.local_time_ns).
            if last_seen is not None:
                data = data._replace(local_time=np.maximum(data.local_time, last_seen))
            last_seen = int(data.local_time[-1])
        for model, name, value in models:
            _check_horizon(model.max_ns, name, value, data.time)
        seen["rows"] += len(data.time)
        seen["last"] = int(data.time[-1])
        yield data


def _guarded_source(chunks):
    # What the engine pulls: an error of the source reaches backtest as _SourceFailed.
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        except Exception as exc:
            raise _SourceFailed() from exc
        yield chunk


def _stream_params(params: dict, seen, data: Aligned) -> dict:
    # A streamed run's row count, and its signals up to the last row (the in-memory run
    # drops the later ones up front), as far as the stream has been read.
    if seen is None:
        return params
    last = np.iinfo(np.int64).min if seen["last"] is None else seen["last"]
    return {**params, "rows": int(seen["rows"]),
            "signals": int(np.searchsorted(data.signal_time, last, "right"))}


def _overrides(strategy, name: str) -> bool:
    method = getattr(type(strategy), name, None)
    return method is not None and method is not getattr(Strategy, name, None)


def backtest(
    taq,
    signals,
    strategy,
    contract: Contract = BITMEX_XBTUSD,
    balance: float = 1.0,
    latency: float = 0.5,
    cancel_latency: float | None = None,
    queue_position: float = 1.0,
    seed: int | None = 42,
    start=None,
    end=None,
    feed_latency: float = 0.0,
    progress=None,
    queue_model=None,
    fill_bound: str = "none",
    amend_latency: float | None = None,
    leverage="max",
    funding=None,
    record="all",
) -> Result:
    """Replay tick data and fill a strategy's orders; return what happened.

    The fill semantics are those of the design notes: actions are stamped at the signal
    time and take effect after ``latency`` (adds) or ``cancel_latency`` (cancels); a limit
    joins the queue behind ``queue_position`` x the displayed size at its level; prints at
    its price consume that queue and then fill it (partial fills); prints through its price
    and quotes crossing it fill it completely as maker; market orders fill at the best
    opposite price as taker. Our fills never change the replayed data (no market impact).

    Parameters
    ----------
    taq : pandas.DataFrame, Aligned or iterable of pandas.DataFrame
        Tick data in the TAQ schema, arrays from :func:`mmsim.align`, or a stream of TAQ
        frames in time order (``mmsim.read_taq(path, stream=True)``, or any iterable of
        chunks): the engine reads a chunk when it needs it and keeps only the rows it may
        still read, so memory stays flat with the length of the data, and the result is
        that of the in-memory run on the same rows, bit for bit.
    signals : pandas.DataFrame or None
        One row per strategy call (``time`` index, float64 columns). Ignored when ``taq``
        is an :class:`Aligned`; held in memory when ``taq`` is streamed.
    strategy : Strategy
        The strategy; ``on_signal(ctx)`` is called once per signal row.
    contract : Contract, default BITMEX_XBTUSD
    balance : float, default 1.0
        Starting balance in the settlement currency (BTC for inverse contracts).
    latency : float, str or mmsim.latency.LatencyModel, default 0.5
        Seconds (or a duration such as ``"5ms"``) from an add being sent to it going live,
        or a model drawn once per order: ``Constant``, ``Sampled(values, seed)``,
        ``Lognormal(median, sigma, seed)``, ``Series(times, values)``. Latency can reorder
        actions: a cancel or amend that arrives before its order is live is rejected.
    cancel_latency : float, str or LatencyModel, optional
        From a cancel being sent to it taking effect; defaults to ``latency`` (the same
        model, drawing from one stream).
    queue_position : float, default 1.0
        Share of the displayed size ahead of an order joining a level (1.0: the back of
        the queue, 0.0: the front). Plays the role of the notebook's volume threshold.
    seed : int, optional
        Seeds ``ctx.rng``; the same inputs and seed give identical results.
    start, end : timestamp-like, optional
        Replay only ``[start, end)`` (of a DataFrame or of an :class:`Aligned`, without copying).
    feed_latency : float, str or LatencyModel, default 0.0
        By how much the market data the strategy sees lags the engine (one draw per
        strategy call; what the strategy has seen is never taken back). With a
        ``local_time`` column in ``taq``, the lag is counted from each row's local time.
    progress : callable, optional
        ``progress(rows_replayed)``, called about 100 times during the run.
    queue_model : mmsim.queue.QueueModel or callable, optional
        How the queue ahead of a resting order moves when the displayed size at its price
        changes: :class:`~mmsim.queue.RiskAverse` (the default), ``PowerProb(n)``,
        ``LogProb()``, a Cython subclass of :class:`~mmsim.queue.QueueModel`, or a Python
        function ``front_share(ahead, behind) -> share`` (slow: it takes the GIL per call).
    fill_bound : {"none", "prints"}, default "none"
        ``"none"``: a print through an order's price or the quote crossing it fills the
        whole order (rules 4-5). ``"prints"``: every maker fill is covered by printed
        volume; a crossing quote only moves the order to the front of the queue.
    amend_latency : float, str or LatencyModel, optional
        From an amend being sent to it taking effect; defaults to ``cancel_latency``.
    leverage : float, "max" or None, default "max"
        Cross margin on the whole balance at this leverage (initial margin rate
        1 / leverage, DESIGN "Account"): an order going live that raises the exposure
        beyond what the available balance covers is rejected (reason ``margin``).
        ``"max"``: the contract's highest, 1 / ``contract.initial_margin`` (margin off for a
        contract without one). None: margin off.
    funding : pandas.DataFrame, optional
        Funding of a perpetual: a ``time`` index and a ``rate`` column (per interval,
        positive: longs pay shorts). At each time the position pays rate x its signed value
        at the mark, in the settlement currency (after that time's rows and actions, before
        the strategy call); recorded in ``result.funding`` and the balances.

    record : {"all", "fills", "daily"} or duration, default "all"
        What the result keeps, for runs too long to keep everything. ``"all"``: every
        order, fill, position change and funding payment, and a balance row at every
        strategy call, fill and funding time. ``"fills"``: the same without the orders
        table (statistics of orders read n/a). ``"daily"``, or a duration such as ``"1h"``
        (a bare number is seconds): no orders, fills or position changes, and at most one
        balance row per UTC day (or per multiple of the duration: the first call, fill or
        funding time at or after it) and one for the state at the end; memory then stays
        flat however long the run (statistics of the equity curve and funding remain,
        those of fills read n/a). ``on_fill`` hears of every fill whatever is recorded.

    Returns
    -------
    Result

    Warns
    -----
    EmptyResultWarning
        If the run recorded no balance rows (no signal within the data, or ``start`` and
        ``end`` outside it); the result's statistics are then n/a.

    Raises
    ------
    SchemaError
        If the TAQ or signals frame breaks its schema.
    StrategyError
        If the strategy raises; ``err.result`` holds everything recorded until then and
        ``err.__cause__`` the original exception.
    ProgressError
        If the ``progress`` callback raises; ``err.result`` as for StrategyError.
    StreamError
        If a streamed ``taq`` fails after its first chunk (a chunk breaks the schema or
        comes out of time order, or the source raises); ``err.result`` as for
        StrategyError. The first chunk is checked before the run, as a frame is.
    TypeError, ValueError
        If a parameter is of the wrong type or out of range (the message names it), or
        ``strategy`` is a class rather than an instance.
    """
    # The compiled modules load on first use, so that importing mmsim needs no build.
    from mmsim import _core
    from mmsim.latency import as_model
    from mmsim.queue import as_queue_model

    if not isinstance(contract, Contract):
        raise TypeError(f"contract must be a mmsim.Contract, got {type(contract).__name__}")
    if isinstance(strategy, type):
        raise TypeError(f"strategy must be an instance, got the class {strategy.__name__}; "
                        f"pass {strategy.__name__}(...)")
    if not callable(getattr(strategy, "on_signal", None)):
        raise TypeError(f"strategy must have an on_signal(ctx) method, got {type(strategy).__name__}")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable as progress(rows_done), got {progress!r}")
    balance = number(balance, "balance")
    queue_position = number(queue_position, "queue_position", nonnegative=True)
    lat = as_model(latency, "latency")
    clat = lat if cancel_latency is None else as_model(cancel_latency, "cancel_latency")
    alat = clat if amend_latency is None else as_model(amend_latency, "amend_latency")
    flat = as_model(feed_latency, "feed_latency")
    if fill_bound not in _core.FILL_BOUNDS:
        raise ValueError(f"fill_bound must be one of {_core.FILL_BOUNDS}, got {fill_bound!r}")
    queue_model = as_queue_model(queue_model)
    keep_orders, keep_fills, balance_every = _record(record)
    initial_margin = _initial_margin(leverage, contract)
    funding_time, funding_rate = _funding(funding)
    # Liquidation goes with margin: at the contract's maintenance rate (no higher than the
    # initial rate the leverage sets), or when equity goes negative for a contract without one.
    maintenance_margin = min(contract.maintenance_margin or 0.0, initial_margin)

    models = ((lat, "latency", latency), (clat, "cancel_latency", cancel_latency),
              (alat, "amend_latency", amend_latency), (flat, "feed_latency", feed_latency))
    source = seen = None
    if isinstance(taq, Aligned):
        data = cut(check_aligned(taq), start, end)
    elif isinstance(taq, pd.DataFrame):
        # align checks the prices against the contract in the pass that validates the frame.
        data = align(taq, signals, start, end, contract=contract)
    elif hasattr(taq, "__iter__") and not isinstance(taq, (str, bytes)):
        data, source, seen = _streamed(taq, signals, start, end, contract, models)
    else:
        raise TypeError(f"taq must be a TAQ DataFrame, an Aligned or an iterable of TAQ "
                        f"DataFrames (e.g. mmsim.read_taq(path, stream=True)), got "
                        f"{type(taq).__name__}")
    if source is None:
        if not (is_checked(data) and data.checked.tick_size == contract.tick_size):
            # The engine compares prices in whole ticks held in int64: each must stay exact.
            # align(..., contract=) checked them (for a frame, in the pass that validates it).
            check_prices(data.price, data.bid_price, data.ask_price, contract)
        for model, name, value in models:
            _check_horizon(model.max_ns, name, value, data.time)
    engine = _core.Engine(
        time=data.time, price=data.price, amount=data.amount, bid_price=data.bid_price,
        bid_amount=data.bid_amount, ask_price=data.ask_price, ask_amount=data.ask_amount,
        signal_time=data.signal_time, signals=data.signals, inverse=contract.inverse,
        tick_size=contract.tick_size, lot_size=contract.lot_size,
        contract_size=contract.contract_size, maker_fee=contract.maker_fee,
        taker_fee=contract.taker_fee, balance=balance, latency=lat, cancel_latency=clat,
        amend_latency=alat, feed_latency=flat, queue_position=queue_position,
        queue_model=queue_model, fill_bound=_core.FILL_BOUNDS.index(fill_bound),
        initial_margin=initial_margin, maintenance_margin=maintenance_margin,
        local_time=data.local_time, funding_time=funding_time, funding_rate=funding_rate,
        mark_price=data.mark_price, source=source, keep_orders=keep_orders,
        keep_fills=keep_fills, balance_every=balance_every,
    )
    ctx = _core.Context(engine, data.signals, data.columns, contract, np.random.default_rng(seed))
    params = {
        "balance": balance, "latency": _plain(latency),
        "cancel_latency": _plain(cancel_latency), "feed_latency": _plain(feed_latency),
        "queue_position": queue_position, "seed": seed,
        "amend_latency": _plain(amend_latency), "queue_model": repr(queue_model),
        "fill_bound": fill_bound, "leverage": leverage, "record": _plain(record),
        "start": None if start is None else str(start), "end": None if end is None else str(end),
        "strategy": type(strategy).__name__,
        "strategy_params": strategy.params() if hasattr(strategy, "params") else {},
        "signal_columns": list(data.columns), "rows": int(len(data.time)),
        "signals": int(len(data.signal_time)),
    }
    if seen is not None:
        params["rows"] = None       # known at the end of the stream (below)
    try:
        engine.run(
            ctx,
            strategy.on_signal,
            strategy.on_fill if _overrides(strategy, "on_fill") else None,
            strategy.on_start if _overrides(strategy, "on_start") else None,
            _guarded(progress),
        )
    except _SourceFailed as failed:
        exc = failed.__cause__
        when = pd.Timestamp(ctx.time, tz="UTC")
        partial = Result.from_tables(engine.tables(), contract, _stream_params(params, seen, data))
        raise StreamError(
            f"the streamed taq failed at {when}: {type(exc).__name__}: {exc}", partial, when,
        ) from exc
    except _ProgressFailed as failed:
        exc = failed.__cause__
        when = pd.Timestamp(ctx.time, tz="UTC")
        partial = Result.from_tables(engine.tables(), contract, _stream_params(params, seen, data))
        raise ProgressError(
            f"the progress callback raised at {when}: {type(exc).__name__}: {exc}",
            partial, when,
        ) from exc
    except Exception as exc:
        when = pd.Timestamp(ctx.time, tz="UTC")
        partial = Result.from_tables(engine.tables(), contract, _stream_params(params, seen, data))
        raise StrategyError(
            f"strategy {type(strategy).__name__} raised at {when}: "
            f"{type(exc).__name__}: {exc}", partial, when,
        ) from exc
    tables = engine.tables()
    result = Result.from_tables(tables, contract, _stream_params(params, seen, data))
    if not len(tables["balances"]["time"]):     # the result builds its tables when read
        window = "" if start is None and end is None else f" between start={start} and end={end}"
        warnings.warn(
            f"the run recorded no balance rows: {len(data.signal_time)} signal row(s) and "
            f"{len(data.time)} data row(s){window}; its statistics are n/a",
            EmptyResultWarning, stacklevel=2)
    return result
