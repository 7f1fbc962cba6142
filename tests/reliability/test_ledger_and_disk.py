"""The ledger under several writer processes, and the media folder under disk errors."""

from __future__ import annotations

import asyncio
import errno
import multiprocessing
import os
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

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
        # os.listdir, not glob: the temp files are hidden (".name.XXXX.part").
        leftovers = [n for n in os.listdir(media) if n.endswith(".part")]
        assert not leftovers, f"a partial download was left behind: {leftovers}"


def _resume_saves_it(loopback, tmp_path: Path, history: sw.History, hid: int) -> None:
    """The folder is usable again: resume() downloads the paid video once, no second charge."""
    gen2, client2, _ = _generator(loopback, tmp_path)
    with gen2:
        resumed = gen2.resume()
    assert [r.history_id for r in resumed] == [hid]
    rec = history.get(hid)
    assert rec.local_path is not None and rec.local_path.is_file() and rec.error is None
    assert rec.local_path.read_bytes()[4:8] == b"ftyp"
    assert history.total_spent() == Decimal("0.40")  # cost counted once, across both
    asyncio.run(client2.aclose())


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
def test_disk_full_half_way_through_the_video_removes_the_part_and_keeps_the_url(
    loopback, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC in the middle of writing the MP4 (not at the rename): some bytes are on disk."""
    gen, client, history = _generator(loopback, tmp_path)
    real_mkstemp, real_fdopen = tempfile.mkstemp, os.fdopen
    media_fds: dict[int, str] = {}
    hit: list[tuple[str, int]] = []  # (partial file, bytes on disk when the disk "filled")

    def mkstemp(*args: Any, **kw: Any) -> tuple[int, str]:
        fd, name = real_mkstemp(*args, **kw)
        if name.startswith(str(history.media_dir)) and ".mp4." in name:
            media_fds[fd] = name
        return fd, name

    class FillsUp:
        """The download's unbuffered file: takes 32 KiB, then the disk is full."""

        def __init__(self, raw: Any, name: str) -> None:
            self._raw, self._name, self._left = raw, name, 32 * 1024

        def write(self, data: Any) -> int:
            if self._left <= 0:
                hit.append((self._name, os.path.getsize(self._name)))
                raise OSError(errno.ENOSPC, "No space left on device")
            n = int(self._raw.write(data[: self._left]))
            self._left -= n
            return n

        def __getattr__(self, name: str) -> Any:
            return getattr(self._raw, name)

        def __enter__(self) -> FillsUp:
            return self

        def __exit__(self, *exc: object) -> None:
            self._raw.close()

    def fdopen(fd: int, *args: Any, **kw: Any) -> Any:
        raw = real_fdopen(fd, *args, **kw)
        name = media_fds.pop(fd, None)
        return raw if name is None else FillsUp(raw, name)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(os, "fdopen", fdopen)
    with gen:
        g = gen.generate("sora2_text_to_video", prompt="disk full half-way", duration=4)
    assert hit, "the disk never filled: the test did not exercise the write"
    full_size = len(next((loopback.state_dir / "media").glob(f"{g.request_id}/*.mp4")).read_bytes())
    assert all(0 < on_disk < full_size for _, on_disk in hit), (hit, full_size)
    assert all(not os.path.exists(name) for name, _ in hit), "the half-written .part is still there"
    _no_secret_or_partial(history)
    rec = history.get(g.history_id)
    assert rec.status == "completed" and rec.cost == Decimal("0.40")
    assert rec.video_url and rec.video_url.startswith(loopback.base_url) and rec.local_path is None
    assert rec.error is not None and "No space left on device" in rec.error and "resume()" in rec.error, rec.error
    assert g.error is not None and "No space left on device" in g.error
    asyncio.run(client.aclose())

    monkeypatch.setattr(tempfile, "mkstemp", real_mkstemp)
    monkeypatch.setattr(os, "fdopen", real_fdopen)
    _resume_saves_it(loopback, tmp_path, history, g.history_id)
    history.close()


@pytest.mark.timeout(120)
def test_read_only_media_folder_gives_a_clear_error_and_keeps_the_url(
    loopback, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder on a read-only mount (EROFS). root ignores chmod, so the refusal is simulated at
    the system calls a download makes: creating a file, or a folder, under media/."""
    gen, client, history = _generator(loopback, tmp_path)
    history.media_dir.mkdir(parents=True)
    real_open, real_mkdir = os.open, os.mkdir
    refused: list[str] = []

    def read_only(path: Any) -> bool:
        return str(path).startswith(str(history.media_dir))

    def ro_open(path: Any, flags: int, *args: Any, **kw: Any) -> int:
        if read_only(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            refused.append(str(path))
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kw)

    def ro_mkdir(path: Any, *args: Any, **kw: Any) -> None:
        if read_only(path):
            if os.path.isdir(path):
                raise FileExistsError(errno.EEXIST, "File exists", str(path))
            refused.append(str(path))
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        real_mkdir(path, *args, **kw)

    monkeypatch.setattr(os, "open", ro_open)
    monkeypatch.setattr(os, "mkdir", ro_mkdir)
    with gen:
        g = gen.generate("sora2_text_to_video", prompt="read-only media folder", duration=4)
    assert refused, "nothing tried to write under media/: the test did not exercise the download"
    rec = history.get(g.history_id)
    assert rec.status == "completed" and rec.cost == Decimal("0.40")  # paid: recorded as such
    assert rec.video_url and rec.video_url.startswith(loopback.base_url) and rec.local_path is None
    assert rec.error is not None and "download failed" in rec.error, rec.error
    assert "Read-only file system" in rec.error and str(history.media_dir) in rec.error, rec.error
    assert g.status == "completed" and g.url == rec.video_url and g.error == rec.error
    _no_secret_or_partial(history)
    asyncio.run(client.aclose())

    monkeypatch.setattr(os, "open", real_open)
    monkeypatch.setattr(os, "mkdir", real_mkdir)
    _resume_saves_it(loopback, tmp_path, history, g.history_id)
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
