"""The public values: the retry policy's backoff, QueueUpdate, callbacks sync or async."""

from __future__ import annotations

import asyncio

import sora2_widgets as sw
from sora2_widgets.client._models import call_back


def test_backoff_is_capped_exponential_with_jitter() -> None:
    policy = sw.RetryPolicy(base=1.0, cap=8.0, random=lambda: 1.0)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    low = sw.RetryPolicy(base=1.0, cap=8.0, random=lambda: 0.0)
    assert [low.delay(n) for n in range(1, 5)] == [0.5, 1.0, 2.0, 4.0]


def test_done_and_failed() -> None:
    running = sw.QueueUpdate("r1", "IN_PROGRESS")
    ok = sw.QueueUpdate("r1", "COMPLETED")
    failed = sw.QueueUpdate("r1", "COMPLETED", error="the model crashed")
    assert (running.done, running.failed) == (False, False)
    assert (ok.done, ok.failed) == (True, False)
    assert (failed.done, failed.failed) == (True, True)


def test_a_retry_after_from_the_service_wins_over_the_backoff() -> None:
    policy = sw.RetryPolicy(base=1.0, cap=8.0, random=lambda: 1.0)
    assert policy.delay(3, retry_after=0.25) == 0.25
    assert policy.delay(1, retry_after=-5) == 0.0


def test_callbacks_may_be_plain_functions_or_coroutines() -> None:
    seen: list[str] = []

    async def later(value: str) -> None:
        await asyncio.sleep(0)
        seen.append(f"async {value}")

    async def main() -> None:
        await call_back(lambda value: seen.append(f"sync {value}"), "a")
        await call_back(later, "b")

    asyncio.run(main())
    assert seen == ["sync a", "async b"]
