"""A replay's decisions in worker processes: both engines sent once to each worker, chunks of stored
routes compared there (replay.compare, the same code as in the service), the results taken back in
the order the chunks were sent.

Only a replay uses these processes (routing's consumer decides in the service, untouched). They are
started with `spawn` (a fresh interpreter: no copy of the service's event loop, sockets or locks),
once per job, and stopped when it ends however it ends: at its end they finish and are joined; when
the job is cancelled (the service stops) the chunks not started are dropped and the workers are
terminated, so no process outlives the job.

The engines are pickled (about 1 MB for the demo county, 0.1 s to load) rather than rebuilt from the
package files: a worker then decides with exactly the engines the job has, the package in use as it
is in memory with what it learned from corrections, even if the folder on disk has changed since.
"""

import asyncio
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

from services.routing.engine import RoutingEngine

if TYPE_CHECKING:
    from services.routing.replay import Tally

Chunk = list[dict[str, Any]]

_engines: tuple[RoutingEngine, RoutingEngine] | None = None  # in a worker: (baseline, candidate)


def _start(engines: bytes) -> None:
    """A worker's start: load the two engines it decides with."""
    global _engines
    _engines = pickle.loads(engines)


def _compare(routes: Chunk) -> "tuple[list[dict[str, Any]], Tally]":
    """In a worker: one chunk's differences and its tally."""
    from services.routing.replay import compare_chunk  # replay imports this module

    assert _engines is not None, "the worker was started without its engines"
    return compare_chunk(*_engines, routes)


class InThread:
    """Chunks decided one at a time in a thread of the service (no worker processes)."""

    ahead = 0  # chunks sent beyond the one being decided

    def __init__(self, baseline: RoutingEngine, candidate: RoutingEngine) -> None:
        self.baseline, self.candidate = baseline, candidate

    def submit(self, routes: Chunk) -> "asyncio.Future[tuple[list[dict[str, Any]], Tally]]":
        """Decide a chunk in a thread; its (differences, tally) when done."""
        from services.routing.replay import compare_chunk

        return asyncio.ensure_future(asyncio.to_thread(compare_chunk, self.baseline, self.candidate, routes))

    async def close(self, *, cancelled: bool) -> None:
        """Nothing to stop (a chunk's thread ends with its chunk)."""


class DecidePool:
    """`workers` processes deciding chunks of routes with a baseline and a candidate engine."""

    def __init__(self, workers: int, baseline: RoutingEngine, candidate: RoutingEngine) -> None:
        self.ahead = 2 * workers - 1  # a chunk queued for each worker while the service reads on
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(pickle.dumps((baseline, candidate), protocol=pickle.HIGHEST_PROTOCOL),),
        )

    def submit(self, routes: Chunk) -> "asyncio.Future[tuple[list[dict[str, Any]], Tally]]":
        """Send a chunk to the next free worker; its (differences, tally) when done."""
        return asyncio.wrap_future(self._pool.submit(_compare, routes))

    async def close(self, *, cancelled: bool) -> None:
        """Stop the workers: let them finish and join them, or (cancelled, or the job failed) drop the
        chunks waiting, terminate the workers and reap them before returning."""
        if not cancelled:
            await asyncio.to_thread(self._pool.shutdown, wait=True)
            return
        # ProcessPoolExecutor has no public way to stop a busy worker before Python 3.14
        # (terminate_workers); its own table of processes is the only handle on them. Joined here,
        # not in a thread: the stopping runtime cancels a job's task again while it waits, and a
        # terminated worker ends within milliseconds.
        processes = list((self._pool._processes or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
