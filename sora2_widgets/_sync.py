"""The one bridge from synchronous code (a notebook cell, the CLI) to coroutines on a loop thread.

The client's sync facade, the generator and the panel each own a :class:`LoopThread`: a private
asyncio loop on a daemon thread. Jupyter's own loop belongs to the kernel; blocking or nesting into
it would freeze other cells, so work is handed over with ``run_coroutine_threadsafe`` instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def wait_interruptibly(fut: concurrent.futures.Future[T]) -> T:
    """``fut.result()``, but Ctrl-C (a notebook's interrupt) always gets through.

    CPython runs signal handlers in the main thread only, and when the OS hands SIGINT to another
    thread (the event loop's, a render worker's) a lock wait without a timeout is never woken to
    notice it: the cell, or the CLI, would hang. Short timed waits give the interpreter its chance."""
    while True:
        try:
            return fut.result(timeout=0.2)
        except concurrent.futures.TimeoutError:
            continue


def _stop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    if loop.is_closed():
        return
    loop.call_soon_threadsafe(loop.stop)
    if thread is not threading.current_thread():
        thread.join(timeout=5)
    if not loop.is_running():
        loop.close()


class LoopThread:
    """A private event loop on a daemon thread, started on first use.

    After :meth:`close` the next use starts a fresh loop; an owner that must refuse work once closed
    keeps that rule itself. A thread left running by an owner that was dropped without ``close()`` is
    stopped by a finalizer (and, being a daemon, never blocks interpreter exit).
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._finalizer: weakref.finalize[Any, LoopThread] | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._thread is None or not self._thread.is_alive():
                ready = threading.Event()
                loop = asyncio.new_event_loop()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    ready.set()
                    loop.run_forever()

                thread = threading.Thread(target=run, name=self._name, daemon=True)
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
                self._finalizer = weakref.finalize(self, _stop, loop, thread)
            return self._loop

    @property
    def started(self) -> bool:
        with self._lock:
            return self._thread is not None and self._thread.is_alive()

    def in_thread(self) -> bool:
        """True when called from the loop's own thread (where blocking on it would deadlock)."""
        return self._thread is threading.current_thread()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call_soon(self, fn: Callable[[], None]) -> None:
        self.loop.call_soon_threadsafe(fn)

    def run(self, coro: Coroutine[Any, Any, T], *, owner: str = "this object") -> T:
        """Run ``coro`` on the loop and wait for it; Ctrl-C stops the wait and cancels the task."""
        if self.in_thread():
            coro.close()  # never started: without this Python warns "coroutine was never awaited"
            raise RuntimeError(
                f"{owner} cannot be called synchronously from its own loop thread (callbacks run there); "
                "use the async API there"
            )
        future = self.submit(coro)
        try:
            return wait_interruptibly(future)
        except KeyboardInterrupt:
            future.cancel()
            raise

    def close(self) -> None:
        """Stop the loop and join its thread (not when called from that thread itself)."""
        with self._lock:
            loop, thread, finalizer = self._loop, self._thread, self._finalizer
            self._loop = self._thread = self._finalizer = None
        if finalizer is not None:
            finalizer.detach()
        if loop is not None and thread is not None:
            _stop(loop, thread)
