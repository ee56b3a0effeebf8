"""Where a sweep's runs execute: in-process, local worker processes, or a Dask cluster.

Every executor takes the market data once and then only the parameters of each run::

    job = make_job(taq, signals, Strategy, fixed={...}, stats_freq="1h", keep="stats",
                   **backtest_kwargs)           # checks the shared keys, aligns the data once
    job.check(combos)                           # ValueError for an unknown or ambiguous key
    with open_runner(executor, job) as runner:  # ships the data to the workers once
        for index, outcome in runner.run(combos, keep=None):
            ...                                 # in completion order

``executor`` is ``"serial"`` (this process: no pickling, breakpoints in the strategy work),
``None`` or an int (that many local worker processes, default ``os.cpu_count()``), or a
``dask.distributed.Client``. ``runner.run(combos)`` takes a list of parameter dicts and yields
``(index into combos, outcome)`` as runs finish; ``runner.n_workers`` says how many run at
once (batch that many, e.g. Optuna trials). A runner may be given many ``run`` calls (walk-forward
windows through ``start``/``end`` keys) while the data stays on the workers. The outcome dict
(see :func:`mmsim.sweep.job.run_combination`) holds ``params``, ``stats`` (flat dict),
``status`` ("ok"/"error"), ``error`` (text, "" when ok), ``wall_time`` (seconds), ``peak_rss``
and, with ``keep="results"``, ``result``; the store key of a combination is ``job.key(params)``.

Local processes: the aligned arrays are copied once into shared memory
(:mod:`mmsim.sweep.shared`); ``spawn``-started workers map it in their initializer, get the
:class:`~mmsim.sweep.job.Spec` there too, and each task carries only ``(index, params, keep)``.
Workers ignore SIGINT, so Ctrl-C reaches only the parent, which then terminates the workers
(a running backtest cannot stop half-way) and unlinks the block; the block is unlinked on
every exit path.

Dask: the data and the spec are scattered once to every worker (``broadcast=True``); each task
refers to that future and carries its parameters; results stream back with
``distributed.as_completed``. ``dask`` is imported only when a Client is passed.
"""
from __future__ import annotations

import os
import signal
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from mmsim.sweep.job import Job, run_combination

__all__ = ["open_runner", "SerialRunner", "ProcessRunner", "DaskRunner", "EXECUTORS"]

#: The string and numeric forms ``executor=`` accepts (besides a dask Client).
EXECUTORS = ("serial", "None or a number of local processes", "a dask.distributed.Client")


class _Runner:
    """Base: a context manager with ``run(combos, keep=None)`` and ``n_workers``."""

    n_workers = 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self) -> None:
        """Release the workers and the data; safe to call twice."""


class SerialRunner(_Runner):
    """Runs in this process, one after the other (no pickling; breakpoints work).

    Parameters
    ----------
    job : Job
    """

    def __init__(self, job: Job):
        self.job = job

    def run(self, combos, keep=None):
        """Yield ``(index, outcome)`` for each combination, in order."""
        for index, params in enumerate(combos):
            yield index, run_combination(self.job.data, self.job.spec, params, keep)


# State of a local worker process, set by its initializer.
_WORKER = {}


def _init_worker(name, layout, spec):
    from mmsim.sweep.shared import attach

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _WORKER["block"], _WORKER["data"] = attach(name, layout)
    _WORKER["spec"] = spec


def _run_in_worker(index, params, keep):
    return index, run_combination(_WORKER["data"], _WORKER["spec"], params, keep)


class ProcessRunner(_Runner):
    """Local worker processes mapping the data from shared memory.

    Parameters
    ----------
    job : Job
    workers : int, optional
        Number of processes; default ``os.cpu_count()``.
    """

    def __init__(self, job: Job, workers: int | None = None):
        import multiprocessing

        from mmsim.sweep.shared import share

        self.job = job
        self.n_workers = int(workers or os.cpu_count() or 1)
        self._block, layout = share(job.data)
        try:
            self._pool = ProcessPoolExecutor(
                self.n_workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker, initargs=(self._block.name, layout, job.spec))
        except BaseException:
            self._release_block()
            raise

    @staticmethod
    def task(index: int, params: dict, keep=None) -> tuple:
        """The callable and arguments one task sends to a worker (what gets pickled)."""
        return _run_in_worker, index, params, keep

    def run(self, combos, keep=None):
        """Yield ``(index, outcome)`` as runs finish."""
        pending = {self._pool.submit(*self.task(i, p, keep)) for i, p in enumerate(combos)}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        except KeyboardInterrupt:
            self._terminate()
            raise
        finally:
            for future in pending:
                future.cancel()

    def _terminate(self):
        # concurrent.futures has no public way to stop running tasks: end the processes.
        for process in list(getattr(self._pool, "_processes", {}).values()):
            if process.is_alive():
                process.terminate()

    def _release_block(self):
        block, self._block = self._block, None
        if block is not None:
            block.close()
            block.unlink()

    def close(self):
        pool = getattr(self, "_pool", None)
        try:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        except KeyboardInterrupt:  # a second Ctrl-C while waiting: stop the workers now
            self._terminate()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            self._release_block()


class _Shipment:
    """The data and spec of a sweep, scattered to each Dask worker once."""

    def __init__(self, job: Job):
        self.data = job.data
        self.spec = job.spec


def _run_on_dask(shipment, index, params, keep):
    return index, run_combination(shipment.data, shipment.spec, params, keep)


class DaskRunner(_Runner):
    """Runs on a Dask cluster; the data goes to each worker once.

    Parameters
    ----------
    job : Job
    client : distributed.Client
    """

    def __init__(self, job: Job, client):
        self.job = job
        self.client = client
        workers = client.scheduler_info().get("workers", {})
        self.n_workers = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
        self._shipment = client.scatter(_Shipment(job), broadcast=True, hash=False)

    def task(self, index: int, params: dict, keep=None) -> tuple:
        """The callable and arguments of one task (the shipment is a future: a reference)."""
        return _run_on_dask, self._shipment, index, params, keep

    def run(self, combos, keep=None):
        """Yield ``(index, outcome)`` as runs finish."""
        from distributed import as_completed

        futures = [self.client.submit(*self.task(i, p, keep), pure=False)
                   for i, p in enumerate(combos)]
        try:
            for _, value in as_completed(futures, with_results=True):
                yield value
        finally:
            self.client.cancel(futures)

    def close(self):
        shipment, self._shipment = getattr(self, "_shipment", None), None
        if shipment is not None:
            self.client.cancel([shipment])


def _is_dask_client(executor) -> bool:
    # A Client can only exist once distributed is imported: no import here.
    distributed = sys.modules.get("distributed")
    return distributed is not None and isinstance(executor, distributed.Client)


def open_runner(executor, job: Job) -> _Runner:
    """The runner for an ``executor=`` value (see the module notes).

    Parameters
    ----------
    executor : None, int, "serial" or distributed.Client
    job : Job

    Returns
    -------
    runner
        A context manager; ``runner.run(combos, keep=None)`` yields ``(index, outcome)``.

    Raises
    ------
    ValueError, TypeError
        If ``executor`` is none of these.
    """
    if isinstance(executor, str):
        if executor != "serial":
            raise ValueError(f"executor must be 'serial', None, a number of processes or a "
                             f"dask.distributed.Client, got {executor!r}")
        return SerialRunner(job)
    if executor is None:
        return ProcessRunner(job)
    if isinstance(executor, int) and not isinstance(executor, bool):
        if executor < 1:
            raise ValueError(f"executor must be a positive number of processes, got {executor}")
        return ProcessRunner(job, executor)
    if _is_dask_client(executor):
        return DaskRunner(job, executor)
    raise TypeError(f"executor must be 'serial', None, a number of processes or a "
                    f"dask.distributed.Client, got {executor!r}")
