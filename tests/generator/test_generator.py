"""The Generator itself (``generator._generator``): its sync API inside a running loop, its async API
with callbacks on the caller's loop, and a closed generator's refusal."""

from __future__ import annotations

import asyncio
import gc
import warnings
from decimal import Decimal
from pathlib import Path

import pytest

import sora2_widgets as sw
from tests.history.conftest import FakeClient
from tests.team.backends import open_history

from .gen_helpers import make


def test_sync_api_works_inside_a_running_loop(home: Path, fake: FakeClient) -> None:
    async def cell() -> sw.Generation:
        with make(fake, home) as gen:
            return gen.generate("sora2_text_to_video", prompt="in a notebook")

    assert asyncio.run(cell()).ok


def test_async_api_and_callbacks_on_callers_loop(home: Path, fake: FakeClient) -> None:
    async def main() -> tuple[list[sw.Generation], set[int]]:
        loop_thread: set[int] = set()
        import threading

        def cb(p: sw.Progress) -> None:
            loop_thread.add(threading.get_ident())

        with make(fake, home) as gen:
            outs = await gen.agenerate_many(
                [
                    {"model_id": "sora2_text_to_video", "prompt": "a"},
                    ("kling25_turbo_pro_text_to_video", {"prompt": "b"}),
                ],
                on_update=cb,
            )
        return outs, loop_thread

    import threading

    outs, threads = asyncio.run(main())
    assert [o.status for o in outs] == ["completed", "completed"]
    assert [o.cost for o in outs] == [Decimal("0.4"), Decimal("0.35")]
    assert threads == {threading.get_ident()}


def test_a_closed_generator_refuses_plainly_and_leaves_no_coroutine_behind(home: Path, fake: FakeClient) -> None:
    gen = make(fake, home)
    gen.close()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(RuntimeError, match="closed"):
            gen.generate("sora2_text_to_video", prompt="after close")
        gc.collect()  # an abandoned coroutine warns "was never awaited" when it is collected
    assert not [w for w in caught if "never awaited" in str(w.message)]
    assert fake.calls["submit"] == 0


def test_closing_leaves_a_lent_clients_loop_open_and_closes_its_own(home: Path, fake: FakeClient) -> None:
    # A lent client may still hold connections opened on the generator's loop; its owner closes
    # it later from another loop, which needs that loop not closed.
    lent = make(fake, home)
    assert lent.generate("sora2_text_to_video", prompt="x").ok
    loop = lent._loop().loop
    lent.close()
    assert not loop.is_running() and not loop.is_closed()
    own = sw.Generator(history=open_history(home), resume=False)
    loop = own._loop().loop
    own.close()
    assert loop.is_closed()
