"""The ledger under several writer processes, and the media folder under disk errors."""

from __future__ import annotations

import asyncio
import errno
import multiprocessing
import os
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import sora2_widgets as sw

WRITERS = 4
ROWS = 150


@pytest.fixture(scope="module")
def forkserver() -> multiprocessing.context.ForkServerContext:
    ctx = multiprocessing.get_context("forkserver")
    here = str(Path(__file__).parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    ctx.set_forkserver_preload(["sora2_widgets", "crash_worker"])
    return ctx


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_concurrent_writer_processes_lose_and_duplicate_nothing(tmp_path: Path, forkserver) -> None:
    import crash_worker

    procs = [forkserver.Process(target=crash_worker.append_rows, args=(str(tmp_path), w, ROWS)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    hist = sw.History(tmp_path)
    rows = hist.records()
    assert len(rows) == WRITERS * ROWS
    assert len({r.prompt for r in rows}) == WRITERS * ROWS
    assert len({r.id for r in rows}) == WRITERS * ROWS
    assert all(r.status == "completed" and r.cost == Decimal("0.40") for r in rows)
    assert hist.total_spent() == Decimal("0.40") * WRITERS * ROWS
    assert len(hist.df) == WRITERS * ROWS
    hist.close()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_budget_holds_across_processes(tmp_path: Path, forkserver) -> None:
    """4 processes race 40 tries each at $0.40 against a $10 budget: exactly 25 get through."""
    import crash_worker

    with forkserver.Pool(WRITERS) as pool:
        accepted = pool.starmap(
            crash_worker.reserve_with_budget, [(str(tmp_path), w, 40, "10") for w in range(WRITERS)]
        )
    assert sum(accepted) == 25
    hist = sw.History(tmp_path)
    assert hist.total_spent() == Decimal("10.00")
    hist.close()


def _generator(loopback, tmp_path: Path) -> tuple[sw.Generator, sw.AsyncFalClient, sw.History]:
    client = sw.AsyncFalClient(
        "test-key",
        queue_url=loopback.base_url,
        retry=sw.RetryPolicy(attempts=3, base=0.01, cap=0.02),
        poll_interval=0.02,
    )
    history = sw.History(tmp_path / "ledger")
    return sw.Generator(client=client, history=history, resume=False), client, history


def _no_secret_or_partial(history: sw.History) -> None:
    media = history.media_dir
    if media.is_dir():
        assert not list(media.glob("*.part")), "a partial download was left behind"


@pytest.mark.timeout(120)
def test_disk_full_while_saving_keeps_the_remote_url_and_resumes_later(loopback, tmp_path: Path, monkeypatch) -> None:
    gen, client, history = _generator(loopback, tmp_path)
    real_replace = os.replace

    def full(src: object, dst: object) -> None:
        if str(dst).startswith(str(history.media_dir)) and str(dst).endswith(".mp4"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", full)
    with gen:
        g = gen.generate("sora2_text_to_video", prompt="disk full", duration=4)
    rec = history.get(g.history_id)
    # Paid for, so completed with its cost; the video is still reachable by its URL.
    assert rec.status == "completed" and rec.cost == Decimal("0.40")
    assert rec.video_url and rec.video_url.startswith(loopback.base_url)
    assert rec.local_path is None
    assert rec.error is not None and "No space left on device" in rec.error, rec.error
    assert g.error is not None and "No space left on device" in g.error
    _no_secret_or_partial(history)

    monkeypatch.setattr(os, "replace", real_replace)  # space freed
    gen2, client2, _ = _generator(loopback, tmp_path)
    with gen2:
        resumed = gen2.resume()
    assert [r.history_id for r in resumed] == [g.history_id]
    rec = history.get(g.history_id)
    assert rec.local_path is not None and rec.local_path.is_file() and rec.error is None
    assert history.total_spent() == Decimal("0.40")  # cost counted once, across both
    asyncio.run(client.aclose())
    asyncio.run(client2.aclose())
    history.close()


@pytest.mark.timeout(120)
def test_media_folder_unusable_gives_a_clear_error_and_keeps_the_url(loopback, tmp_path: Path) -> None:
    """A path under a *file* cannot be written even by root (chmod would not stop root)."""
    gen, client, history = _generator(loopback, tmp_path)
    history.media_dir.parent.mkdir(parents=True, exist_ok=True)
    history.media_dir.write_text("I am a file where the media folder should be")
    with gen:
        g = gen.generate("sora2_text_to_video", prompt="media folder is a file", duration=4)
    rec = history.get(g.history_id)
    assert rec.status == "completed" and rec.cost == Decimal("0.40")
    assert rec.video_url and rec.local_path is None
    assert rec.error is not None and "download failed" in rec.error, rec.error
    assert "cannot write to the media folder" in rec.error
    assert g.status == "completed" and g.url == rec.video_url
    assert g.error is not None
    asyncio.run(client.aclose())
    history.close()
