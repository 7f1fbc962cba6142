"""Waiting from synchronous code (a notebook cell, the CLI) on work running in a loop thread."""

from __future__ import annotations

import concurrent.futures
from typing import TypeVar

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
