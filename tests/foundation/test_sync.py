"""The one sync bridge: a loop thread that sync code (a cell, the CLI) hands coroutines to."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import threading
import time

import pytest

from sora2_widgets import _sync as sync_mod
from sora2_widgets._sync import LoopThread, wait_interruptibly


def test_run_returns_the_coroutines_value_from_the_loop_thread() -> None:
    lt = LoopThread("test-loop")
    try:

        async def where() -> str:
            await asyncio.sleep(0)
            return threading.current_thread().name

        assert lt.run(where()) == "test-loop"
    finally:
        lt.close()


def test_an_exception_in_the_coroutine_reaches_the_caller() -> None:
    lt = LoopThread("test-loop")
    try:

        async def boom() -> None:
            raise ValueError("from the loop")

        with pytest.raises(ValueError, match="from the loop"):
            lt.run(boom())
    finally:
        lt.close()


def test_a_sync_call_from_the_loops_own_thread_is_refused_not_deadlocked() -> None:
    lt = LoopThread("test-loop")
    try:

        async def inner() -> int:
            return 1

        async def outer() -> str:
            with pytest.raises(RuntimeError, match="own loop thread") as info:
                lt.run(inner(), owner="Thing")
            return str(info.value)

        assert lt.run(outer()).startswith("Thing cannot be called")
    finally:
        lt.close()


def test_close_joins_the_thread_and_the_next_use_starts_a_fresh_loop() -> None:
    lt = LoopThread("test-loop")

    async def running_loop() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    # The loops themselves, not their id(): a freed loop's id can be reused by the next one.
    first = lt.run(running_loop())
    thread = lt._thread
    lt.close()
    assert thread is not None and not thread.is_alive()
    assert not lt.started
    second = lt.run(running_loop())
    assert lt.started
    lt.close()
    assert first is not second and first.is_closed()


def test_a_dropped_owner_does_not_leave_its_thread_running() -> None:
    lt = LoopThread("test-dropped")
    lt.run(asyncio.sleep(0))
    thread = lt._thread
    assert thread is not None and thread.is_alive()
    del lt
    gc.collect()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_ctrl_c_during_run_cancels_the_task_on_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    lt = LoopThread("test-loop")
    started, cancelled = threading.Event(), threading.Event()

    async def long() -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def interrupted_wait(fut: concurrent.futures.Future[None]) -> None:
        assert started.wait(5)
        raise KeyboardInterrupt  # what Ctrl-C does to the waiting cell

    monkeypatch.setattr(sync_mod, "wait_interruptibly", interrupted_wait)
    try:
        with pytest.raises(KeyboardInterrupt):
            lt.run(long())
        assert cancelled.wait(5)
    finally:
        lt.close()


def test_wait_interruptibly_waits_in_short_timed_steps() -> None:
    fut: concurrent.futures.Future[int] = concurrent.futures.Future()
    threading.Timer(0.5, fut.set_result, args=(7,)).start()
    t0 = time.monotonic()
    assert wait_interruptibly(fut) == 7
    assert time.monotonic() - t0 >= 0.4
