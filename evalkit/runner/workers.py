"""Running tasks side by side in worker processes, or on a Dask cluster, crash-proof.

A ``concurrent.futures`` process pool gives up on every task when one worker
dies (``BrokenProcessPool``). Here the tasks that had started when a worker
died are run again one at a time, each in a pool of its own, so the task that
crashes its worker is the only one reported as lost; tasks that had not
started go on in a fresh pool.

Workers are started with "spawn": a clean interpreter, not a copy of a
command line that may hold a progress bar's thread or open files. A worker
ends with the process that started it, even one killed with SIGKILL, so it
never finishes a pilot and publishes its report after the run has gone.
multiprocessing's resource tracker, the other process a pool starts, ends by
itself once the run and its workers have (it reads a pipe only they hold).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures import as_completed as futures_as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.queues import SimpleQueue
from typing import Any, TypeVar

from evalkit.errors import ConfigError
from evalkit.notebooks.kernel_factory import ORPHAN_EXIT, end_with_parent

T = TypeVar("T")
R = TypeVar("R")

#: In a worker: where to say which task has started (set by the pool's initializer).
_started: SimpleQueue[int] | None = None
#: In a worker: the process id of the run that started it (set by the pool's initializer).
_parent: int | None = None
#: Where the system cannot end a worker with its parent, how often the worker looks.
_PARENT_POLL_SECONDS = 0.5


def default_jobs() -> int:
    """Return how many pilots to run at once by default: the cores this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


def run_in_processes(
    task: Callable[[T], R],
    items: Sequence[T],
    *,
    jobs: int,
    lost: Callable[[T, str], R],
    on_start: Callable[[int], None] | None = None,
    on_done: Callable[[int, R], None] | None = None,
) -> dict[int, R]:
    """Return ``task(item)`` for each item by index, run in up to ``jobs`` worker processes.

    ``task`` must be importable by name (a module-level function). A task whose
    worker died twice gets ``lost(item, reason)`` instead of a result.
    """
    context = multiprocessing.get_context("spawn")
    results: dict[int, R] = {}

    def finish(index: int, result: R) -> None:
        results[index] = result
        if on_done is not None:
            on_done(index, result)

    waiting = list(range(len(items)))
    while waiting:
        started, broken = _run_pool(task, items, waiting, jobs, context, finish, lost, on_start)
        if not broken:
            break
        suspects = [i for i in sorted(started) if i not in results]
        if not suspects:  # the pool broke before any task began: workers cannot start
            for i in waiting:
                if i not in results:
                    finish(i, lost(items[i], "the worker processes could not start"))
            break
        for index in suspects:
            _, broken = _run_pool(task, items, [index], 1, context, finish, lost, None)
            if broken and index not in results:
                finish(
                    index,
                    lost(
                        items[index],
                        "the process running this pilot stopped unexpectedly (it may have run "
                        "out of memory or crashed)",
                    ),
                )
        waiting = [i for i in waiting if i not in results]
    return results


def parent_gone() -> bool:
    """Return whether this is a worker whose run has ended (nothing it makes is wanted now)."""
    return _parent is not None and os.getppid() != _parent


def run_on_executor(
    executor: Executor,
    task: Callable[[T], R],
    items: Sequence[T],
    *,
    lost: Callable[[T, str], R],
    on_done: Callable[[int, R], None] | None = None,
) -> dict[int, R]:
    """Return ``task(item)`` for each item by index, run by a given executor (e.g. Dask's)."""
    futures = {executor.submit(task, item): index for index, item in enumerate(items)}
    results: dict[int, R] = {}
    try:
        for future in futures_as_completed(futures):
            index = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # a lost worker, a cluster error: this task only
                result = lost(items[index], f"{type(exc).__name__}: {exc}")
            results[index] = result
            if on_done is not None:
                on_done(index, result)
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return results


@contextlib.contextmanager
def dask_executor(address: str) -> Iterator[Executor]:
    """Yield an executor that runs tasks on the Dask cluster whose scheduler is at ``address``."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError(
            "--dask-scheduler needs Dask's distributed package, which is not installed",
            hint="pip install 'evalkit[dask]'",
        ) from None
    try:
        client = Client(address, timeout="20s")  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(
            f"cannot reach the Dask scheduler at {address}: {exc}",
            hint="check the address (e.g. tcp://scheduler:8786) and that the scheduler is running",
        ) from None
    try:
        yield client.get_executor(pure=False)  # type: ignore[no-untyped-call]
    finally:
        client.close()  # type: ignore[no-untyped-call]


def _run_pool(
    task: Callable[[T], R],
    items: Sequence[T],
    indices: list[int],
    jobs: int,
    context: Any,
    finish: Callable[[int, R], None],
    lost: Callable[[T, str], R],
    on_start: Callable[[int], None] | None,
) -> tuple[set[int], bool]:
    """Run some tasks in one pool; return which started and whether the pool broke."""
    queue: SimpleQueue[int] = context.SimpleQueue()
    started: set[int] = set()
    broken = False

    def note_started() -> None:
        while not queue.empty():
            index = queue.get()
            started.add(index)
            if on_start is not None:
                on_start(index)

    pool = ProcessPoolExecutor(
        max_workers=max(1, min(jobs, len(indices))),
        mp_context=context,
        initializer=_start_worker,
        initargs=(queue, os.getpid()),
    )
    interrupted = False
    try:
        futures: dict[Future[R], int] = {
            pool.submit(_announce_and_run, task, i, items[i]): i for i in indices
        }
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            note_started()
            for future in done:
                index = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool:
                    broken = True
                    continue
                except Exception as exc:  # the task itself should not raise; if it does
                    result = lost(items[index], f"{type(exc).__name__}: {exc}")
                finish(index, result)
        note_started()
    except BaseException:
        interrupted = True
        # stop now: shutdown() alone would wait for every running pilot to finish
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        raise
    finally:
        pool.shutdown(wait=not interrupted, cancel_futures=True)
    return started, broken


def _start_worker(queue: SimpleQueue[int], parent: int) -> None:
    global _started, _parent
    _started, _parent = queue, parent
    # the pool starts its workers from the thread that runs _run_pool, which outlives them,
    # so the parent's death that the system signals is that of the whole run
    if not end_with_parent(parent):
        threading.Thread(target=_watch_parent, name="evalkit-parent-watch", daemon=True).start()


def _watch_parent() -> None:
    while not parent_gone():
        time.sleep(_PARENT_POLL_SECONDS)
    os._exit(ORPHAN_EXIT)


def _announce_and_run(task: Callable[[T], R], index: int, item: T) -> R:
    if _started is not None:
        _started.put(index)
    return task(item)
