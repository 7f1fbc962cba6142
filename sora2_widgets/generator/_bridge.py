"""How the Generator's sync and async methods reach its loop thread, and how Ctrl-C ends a call.

Everything async runs on one :class:`~sora2_widgets._sync.LoopThread` per Generator, so the sync API
works inside Jupyter's running loop and the async API can be awaited from any loop; callbacks given
to the async API run on the caller's loop.

Ctrl-C on a sync call cancels its jobs: each is cancelled on the service and its row told so. The
call waits up to :data:`INTERRUPT_GRACE` seconds for that clean-up before the interrupt goes on to
the caller (a second Ctrl-C stops waiting), so the process does not exit with the jobs still running
and paid for.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from .._sync import LoopThread, wait_interruptibly
from ._generation import OnUpdate, Progress

T = TypeVar("T")

#: Seconds an interrupted call waits for its jobs' clean-up (a cancel on the service is one request).
INTERRUPT_GRACE = 20.0


def run_with_grace(lt: LoopThread, coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on ``lt`` and wait for it; on Ctrl-C cancel it and give its clean-up its time."""
    if lt.in_thread():
        coro.close()  # never started: without this Python warns "coroutine was never awaited"
        raise RuntimeError("use the async methods (agenerate, …) from inside the generator's own loop")
    started, finished = threading.Event(), threading.Event()

    async def tracked() -> T:
        started.set()
        try:
            return await coro
        finally:
            finished.set()

    fut = lt.submit(tracked())
    try:
        return wait_interruptibly(fut)
    except KeyboardInterrupt:
        # A stopped cell cancels its jobs (best effort on the service; see _run.follow). Give that
        # clean-up its time (cancel on the service, ledger row) before the caller goes on or
        # the process exits; a second Ctrl-C stops waiting for it. A call cancelled before it
        # ever ran has nothing to clean up.
        fut.cancel()
        now = time.monotonic()
        deadline, never_ran = now + INTERRUPT_GRACE, now + 1.0
        while not finished.wait(0.05):
            now = time.monotonic()
            if now > deadline or (now > never_ran and not started.is_set()):
                break
        raise


def stop_leaving_loop_open(lt: LoopThread, *, timeout: float = 5.0) -> None:
    """Stop ``lt``'s thread but do not close its loop.

    A client lent to the generator keeps the connections it opened on this loop, and its owner may
    close it later from another loop (``asyncio.run(client.aclose())``): closing those connections
    schedules a callback on this loop, which a closed loop refuses with "Event loop is closed".
    ``LoopThread.close`` always closes the loop, so this stops it the way a generator always has.
    """
    if not lt.started:
        return
    loop = lt.loop
    loop.call_soon_threadsafe(loop.stop)
    if lt.in_thread():
        return
    deadline = time.monotonic() + timeout
    while lt.started and time.monotonic() < deadline:
        time.sleep(0.01)


async def run_on(lt: LoopThread, coro: Coroutine[Any, Any, T]) -> T:
    """Await ``coro`` on ``lt``'s loop from any loop (directly when already there)."""
    if lt.in_thread():
        return await coro
    return await asyncio.wrap_future(lt.submit(coro))


def callback_on_caller(on_update: OnUpdate | None) -> OnUpdate | None:
    """Make ``on_update`` run on the loop that called the async API (the notebook's)."""
    if on_update is None:
        return None
    try:
        caller = asyncio.get_running_loop()
    except RuntimeError:
        return on_update

    def hop(p: Progress) -> None:
        if caller.is_closed():
            return
        try:
            if asyncio.get_running_loop() is caller:
                on_update(p)
                return
        except RuntimeError:
            pass
        caller.call_soon_threadsafe(on_update, p)

    return hop
