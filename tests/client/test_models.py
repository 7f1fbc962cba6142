"""The public values: the retry policy's backoff, QueueUpdate, callbacks sync or async."""

from __future__ import annotations

import sora2_widgets as sw


def test_backoff_is_capped_exponential_with_jitter() -> None:
    policy = sw.RetryPolicy(base=1.0, cap=8.0, random=lambda: 1.0)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    low = sw.RetryPolicy(base=1.0, cap=8.0, random=lambda: 0.0)
    assert [low.delay(n) for n in range(1, 5)] == [0.5, 1.0, 2.0, 4.0]
