"""End to end: the generator with the real client and the in-process emulator, and real processes."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from pathlib import Path

import av
import pytest

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator
from tests._kill import kill_once_running
from tests.team.backends import Backend, open_history

ROOT = Path(__file__).resolve().parents[2]


def emulator(home: Path, **kw: float) -> Emulator:
    kw.setdefault("queue_delay", 0.05)
    kw.setdefault("progress_time", 0.1)
    return Emulator(state_dir=home / "emulator", **kw)  # type: ignore[arg-type]


def test_generation_against_the_emulator(home: Path) -> None:
    emu = emulator(home)
    try:
        with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=open_history(home), resume=False) as gen:
            g = gen.generate("sora2_text_to_video", prompt="a lighthouse at dusk", duration=4, delete_video=False)
            rec = gen.history.get(g.history_id)  # type: ignore[arg-type]
            remix = gen.generate("sora2_video_to_video_remix", prompt="in winter", source=g.history_id)
    finally:
        emu.close()
    assert rec.status == "completed" and rec.provider == "emulator" and rec.cost == Decimal("0.4")
    assert rec.local_path is not None and rec.sha256 == hashlib.sha256(rec.local_path.read_bytes()).hexdigest()
    with av.open(str(rec.local_path)) as box:
        stream = box.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1280, 720)
        assert sum(1 for _ in box.decode(stream)) > 0
    assert rec.thumbnail_path is not None and rec.thumbnail_path.stat().st_size > 0
    assert rec.video_id and rec.kept_for_remix and rec.duration == pytest.approx(4, abs=0.2)
    assert remix.ok and remix.cost == Decimal("0.4") and remix.local_path is not None
    assert emu.stats["submits"] == 2


def test_budget_refusal_sends_no_request(home: Path) -> None:
    emu = emulator(home)
    try:
        client = sw.AsyncFalClient(emulator=emu)
        with sw.Generator(client=client, history=open_history(home), budget=1, resume=False) as gen:
            with pytest.raises(sw.BudgetExceededError):
                gen.generate("sora2_text_to_video", prompt="too long", duration=12)
            outs = None
            with pytest.raises(sw.BudgetExceededError):
                outs = gen.generate_many([("sora2_text_to_video", {"prompt": "x", "duration": 8})] * 2)
        assert outs is None and sum(emu.stats.values()) == 0 and len(open_history(home)) == 0
    finally:
        emu.close()


CHILD = """
import sys
import sora2_widgets as sw
from sora2_widgets.emulator import Emulator
home = sys.argv[1]
emu = Emulator(state_dir=home + "/emulator", queue_delay=1.0, progress_time=5.0)
gen = sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=sw.History(), resume=False)
gen.generate("sora2_text_to_video", prompt="slow job", duration=8)
print("finished?!")
"""


def _status(backend: Backend, home: Path) -> tuple[str, str | None] | None:
    """Row 1's status and request id as another reader sees them (None before the child made it)."""
    query = "SELECT status, request_id FROM generations WHERE id = 1"
    if backend.name == "postgresql":
        import psycopg

        with psycopg.connect(backend.url_for(home)) as pg:
            try:
                found = pg.execute(query).fetchone()
            except psycopg.errors.UndefinedTable:
                return None
        return None if found is None else (str(found[0]), found[1])
    db = home / "history.sqlite3"
    if not db.exists():
        return None
    with sqlite3.connect(db, timeout=5) as conn:
        try:
            row = conn.execute(query).fetchone()
        except sqlite3.OperationalError:
            return None
    return row


@pytest.mark.slow
def test_kill_9_then_a_new_process_resumes_exactly_once(home: Path, tmp_path: Path, ledger_backend: Backend) -> None:
    home.mkdir(parents=True, exist_ok=True)
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD))
    env = {**ledger_backend.env_for(home), "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, str(script), str(home)], env=env, cwd=ROOT)
    kill_once_running(child, lambda: _status(ledger_backend, home), who="the child", timeout=60)
    hist = open_history(home)
    left = hist.get(1)
    assert left.status in ("submitted", "in_queue", "in_progress") and left.request_id
    # The job must finish quickly now: a new emulator with short timings on the same state.
    emu = Emulator(state_dir=home / "emulator", queue_delay=0.05, progress_time=0.1)
    try:
        client = sw.AsyncFalClient(emulator=emu)
        with sw.Generator(client=client, history=hist, resume=False) as gen:
            done = gen.resume()
            again = gen.resume()
    finally:
        emu.close()
    assert [g.history_id for g in done] == [1] and done[0].ok and again == []
    rec = hist.get(1)
    assert rec.status == "completed" and rec.cost == Decimal("0.8") and rec.request_id == left.request_id
    assert rec.local_path is not None and hashlib.sha256(rec.local_path.read_bytes()).hexdigest() == rec.sha256
    assert len(hist) == 1 and emu.stats["submits"] == 0 and emu.stats["result"] == 1


APPENDER = """
import sys
from sora2_widgets import History

h = History()  # the test's ledger, on either backend
for i in range({n}):
    h.add(model_id="sora2_text_to_video", endpoint="fal-ai/sora-2/text-to-video", mode="text",
          prompt=f"{{sys.argv[1]}} {{i}}", provider="emulator", status="completed", cost_micros=100000)
"""


@pytest.mark.slow
def test_two_processes_append_concurrently_and_lose_nothing(tmp_path: Path, ledger_backend: Backend) -> None:
    script = tmp_path / "append.py"
    script.write_text(textwrap.dedent(APPENDER.format(n=2000)))
    db = tmp_path / "h"
    env = {**ledger_backend.env_for(db), "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, str(script), name], env=env) for name in ("a", "b")]
    assert [p.wait(timeout=240) for p in procs] == [0, 0]
    hist = open_history(db)
    assert len(hist) == 4000
    df = hist.df
    assert df["prompt"].str.startswith("a ").sum() == 2000 and df["prompt"].str.startswith("b ").sum() == 2000
    assert hist.total_spent() == Decimal("400")


def test_cancel_while_the_submit_is_in_flight_ends_cancelled(home: Path) -> None:
    # The emulator answers every request slowly, so the Cancel lands while the submit is on the wire.
    emu = emulator(home, latency=0.6, queue_delay=2.0)
    try:
        with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=open_history(home), resume=False) as gen:
            pending = gen._loop().submit(gen._one(0, "sora2_text_to_video", {"prompt": "slow"}, None))
            deadline = time.monotonic() + 10
            while not gen.history.records() and time.monotonic() < deadline:
                time.sleep(0.01)
            (row,) = gen.history.records()
            assert row.request_id is None  # the submit has not answered yet
            assert gen.cancel(row.id) is True
            outcome = pending.result(timeout=30)
            final = gen.history.get(row.id)
    finally:
        emu.close()
    assert outcome.status == "cancelled"
    assert final.status == "cancelled" and final.cost == 0
    assert final.request_id  # the job the service created is on record
    assert emu.stats["cancel"] == 1 and emu.stats["submits"] == 1


def test_resume_never_takes_over_a_job_this_generator_is_still_submitting(home: Path) -> None:
    # A new Generator resumes in the background while the first generate() may already be
    # submitting (a busy machine, a notebook's first cell). That resume used to claim the fresh
    # row, decide "the process ended while submitting" and mark a paid job failed, with no cost.
    emu = emulator(home, latency=0.5)
    try:
        with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=open_history(home), resume=False) as gen:
            pending = gen._loop().submit(gen._one(0, "sora2_text_to_video", {"prompt": "busy machine"}, None))
            deadline = time.monotonic() + 10
            while not gen.history.records() and time.monotonic() < deadline:
                time.sleep(0.01)
            (row,) = gen.history.records()
            assert row.request_id is None and row.status == "submitted"  # the submit is on the wire
            assert gen.resume() == []  # ours, alive: not a job to resume
            outcome = pending.result(timeout=60)
            final = gen.history.get(row.id)
    finally:
        emu.close()
    assert outcome.status == "completed" and outcome.error is None
    assert final.status == "completed" and final.cost == Decimal("0.4") and final.video_url
    assert final.local_path is not None and final.local_path.exists()
    assert emu.stats["submits"] == 1


def test_a_job_that_completes_is_recorded_with_its_cost_whatever_the_row_was_told(home: Path) -> None:
    # Belt and braces for the money: if anything marks the row failed while its job is still
    # running (the bug above did), the result that arrives afterwards still lands in the ledger.
    emu = emulator(home, queue_delay=1.0)
    try:
        with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=open_history(home), resume=False) as gen:
            pending = gen._loop().submit(gen._one(0, "sora2_text_to_video", {"prompt": "paid anyway"}, None))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                rows = gen.history.records()
                if rows and rows[0].request_id:
                    break
                time.sleep(0.01)
            (row,) = gen.history.records()
            assert gen.history.update(row.id, status="failed", error="guessed too early", cost_micros=None)
            outcome = pending.result(timeout=60)
            final = gen.history.get(row.id)
    finally:
        emu.close()
    assert outcome.status == "completed"
    assert final.status == "completed" and final.cost == Decimal("0.4") and final.error is None
    assert final.video_url and final.local_path is not None and final.local_path.exists()


def test_resume_sweeps_downloads_a_killed_process_left_half_written(home: Path) -> None:
    emu = emulator(home)
    try:
        with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=open_history(home), resume=False) as gen:
            g = gen.generate("sora2_text_to_video", prompt="a harbour at night", duration=4)
        video = gen.history.get(g.history_id).local_path  # type: ignore[arg-type]
        assert video is not None
        media = gen.history.media_dir
        # What a kill -9 in the middle of a download leaves: the hidden temporary file, and a
        # thumbnail being written. One is old (its writer is long dead), one is being written now.
        stale = media / f".{video.name}.k3y9.part"
        stale_thumb = media / "000002_sora2_text_to_video.jpg.part"
        live = media / f".{video.name}.a1b2.part"
        for p in (stale, stale_thumb, live):
            p.write_bytes(b"\x00" * 4096)
        two_hours_ago = time.time() - 7200
        os.utime(stale, (two_hours_ago, two_hours_ago))
        os.utime(stale_thumb, (two_hours_ago, two_hours_ago))
        with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=open_history(home)) as gen2:
            assert gen2.resume() == []
    finally:
        emu.close()
    assert not stale.exists() and not stale_thumb.exists()
    assert live.exists(), "a download still being written must be left alone"
    assert video.exists() and hashlib.sha256(video.read_bytes()).hexdigest() == gen.history.get(g.history_id).sha256  # type: ignore[arg-type]
