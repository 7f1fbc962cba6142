"""The Generator's way onto its loop thread (``generator._bridge``); Ctrl-C itself is in test_interrupt."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from sora2_widgets._sync import LoopThread
from sora2_widgets.generator import Progress
from sora2_widgets.generator._bridge import callback_on_caller, run_on, run_with_grace, stop_leaving_loop_open


@pytest.fixture
def lt() -> Iterator[LoopThread]:
    loop_thread = LoopThread("test-generator-loop")
    yield loop_thread
    loop_thread.close()


async def _thread_name() -> str:
    await asyncio.sleep(0)
    return threading.current_thread().name


def test_run_with_grace_runs_on_the_loop_thread_and_refuses_a_call_from_it(lt: LoopThread) -> None:
    assert run_with_grace(lt, _thread_name()) == "test-generator-loop"

    async def nested() -> str:
        return run_with_grace(lt, _thread_name())

    with pytest.raises(RuntimeError, match="use the async methods"):
        run_with_grace(lt, nested())


def test_run_on_awaits_from_any_loop_and_directly_on_its_own(lt: LoopThread) -> None:
    assert asyncio.run(run_on(lt, _thread_name())) == "test-generator-loop"

    async def on_own_loop() -> str:
        return await run_on(lt, _thread_name())

    assert run_with_grace(lt, on_own_loop()) == "test-generator-loop"


def test_callbacks_hop_to_the_loop_that_called(lt: LoopThread) -> None:
    seen: list[tuple[str, str]] = []

    def cb(p: Progress) -> None:
        seen.append((p.stage, threading.current_thread().name))

    assert callback_on_caller(cb) is cb  # no running loop: nothing to hop to
    assert callback_on_caller(None) is None

    async def caller() -> None:
        hop = callback_on_caller(cb)
        assert hop is not None and hop is not cb
        hop(Progress(0, "m", "here"))  # on the caller's loop already: called at once

        async def from_loop_thread() -> None:
            hop(Progress(0, "m", "there"))

        await run_on(lt, from_loop_thread())
        await asyncio.sleep(0.05)

    asyncio.run(caller())
    me = threading.current_thread().name
    assert seen == [("here", me), ("there", me)]


def test_stop_leaving_loop_open_ends_the_thread_but_not_the_loop(lt: LoopThread) -> None:
    loop = lt.loop
    stop_leaving_loop_open(lt)
    assert not lt.started and not loop.is_running() and not loop.is_closed()
    loop.call_soon(print)  # what closing a lent client's connection does later: still accepted
    stop_leaving_loop_open(lt)  # stopped already: nothing to do
