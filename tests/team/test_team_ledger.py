"""One ledger for a team, on a real PostgreSQL server: many processes, one budget, one resume."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from pathlib import Path

import pytest

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator
from tests._kill import kill_once_running

from ._server import PgServer
from .conftest import client

T2T = "sora2_text_to_video"


def test_eight_processes_appending_500_rows_each_lose_nothing(url: str, tmp_path: Path) -> None:
    procs = [client("append", f"p{i}", "500", home=tmp_path / f"m{i}", user=f"user{i % 2}") for i in range(8)]
    for p in procs:
        _out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    with sw.History() as hist:
        assert len(hist) == 4000
        df = hist.df
        assert df.index.is_unique and len(df) == 4000
        for i in range(8):
            assert df["prompt"].str.startswith(f"p{i} ").sum() == 500
        assert hist.total_spent() == Decimal("400")
        by_user = hist.spend(by="user")
        assert list(by_user.index) == ["user0", "user1"] and list(by_user["count"]) == [2000, 2000]
        assert list(by_user["total"]) == [Decimal(200), Decimal(200)]


def test_forty_jobs_from_four_processes_never_pass_the_team_budget(url: str, tmp_path: Path) -> None:
    with sw.History() as hist:
        hist.set_budget("4.00")  # ten 4-second jobs at $0.40 each
    state = tmp_path / "fal"
    procs = [client("jobs", str(state), "10", home=tmp_path / f"m{i}", user=f"u{i}") for i in range(4)]
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert sum(r["submits"] for r in reports) == 10  # what the emulators were sent
    assert sum(r["ok"] for r in reports) == 10 and sum(r["refused"] for r in reports) == 30
    with sw.History() as hist:
        assert hist.total_spent() == Decimal("4") and len(hist) == 10
        team = hist.budget()
        assert team is not None and team.committed == Decimal("4") and team.left == 0


def _row(url: str) -> tuple[str, str | None] | None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        try:
            return conn.execute("SELECT status, request_id FROM generations WHERE id = 1").fetchone()  # type: ignore[return-value]
        except psycopg.errors.UndefinedTable:
            return None


def test_a_job_killed_on_machine_a_is_resumed_once_on_machine_b(url: str, tmp_path: Path) -> None:
    state = tmp_path / "fal"
    a = client("slow", str(state), home=tmp_path / "machine-a")
    kill_once_running(a, lambda: _row(url), who="machine A", timeout=120)
    # Machines B and C (their own homes, the same ledger and "fal") start at once: one resumes it.
    emu = Emulator(state_dir=state, queue_delay=0.05, progress_time=0.1)
    results: dict[str, list[sw.Generation]] = {}
    ready = threading.Barrier(2)

    def machine(name: str) -> None:
        with sw.History(url) as hist:
            hist.media_dir = tmp_path / name / "media"
            with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=hist, resume=False) as gen:
                ready.wait(timeout=60)
                results[name] = gen.resume() + gen.resume()

    try:
        threads = [threading.Thread(target=machine, args=(n,)) for n in ("machine-b", "machine-c")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    finally:
        emu.close()
    resumed = [g for gens in results.values() for g in gens]
    assert len(results) == 2 and [g.history_id for g in resumed] == [1] and resumed[0].ok
    assert emu.stats["submits"] == 0 and emu.stats["result"] == 1
    with sw.History() as hist:
        rec = hist.get(1)
        assert rec.status == "completed" and rec.cost == Decimal("0.8") and len(hist) == 1


def test_a_server_restart_with_ten_jobs_in_flight_loses_and_repeats_nothing(
    url: str, server: PgServer, tmp_path: Path
) -> None:
    # Long enough that all ten are still running when the server restarts, even on a loaded box.
    emu = Emulator(state_dir=tmp_path / "fal", queue_delay=0.2, progress_time=8.0)
    seen_running = threading.Event()
    running: set[int] = set()

    def on_update(p: sw.Progress) -> None:
        if p.stage == "in_progress" and p.history_id is not None:
            running.add(p.history_id)
            if len(running) == 10:
                seen_running.set()

    try:
        with sw.Generator(client=sw.AsyncFalClient(emulator=emu, max_concurrency=10), resume=False) as gen:
            jobs = [(T2T, {"prompt": f"job {i}", "duration": 4}) for i in range(10)]
            box: dict[str, list[sw.Generation]] = {}
            runner = threading.Thread(
                target=lambda: box.setdefault("outs", gen.generate_many(jobs, on_update=on_update))
            )
            runner.start()
            assert seen_running.wait(timeout=120), "the ten jobs never all ran"
            server.restart()
            runner.join(timeout=300)
    finally:
        emu.close()
    outs = box["outs"]
    assert [g.ok for g in outs] == [True] * 10, [(g.status, g.error) for g in outs if not g.ok]
    assert emu.stats["submits"] == 10
    with sw.History() as hist:
        recs = hist.records()
        assert len(recs) == 10 and all(r.status == "completed" for r in recs)
        assert len({r.request_id for r in recs}) == 10 and all(r.request_id for r in recs)
        assert hist.total_spent() == Decimal("4")


def test_a_ledger_that_is_down_before_submit_refuses_the_job_and_sends_nothing(
    url: str, server: PgServer, tmp_path: Path
) -> None:
    emu = Emulator(state_dir=tmp_path / "fal", queue_delay=0.05, progress_time=0.1)
    hist = sw.History(url, busy_timeout=2.0)
    try:
        with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=hist, resume=False) as gen:
            server.stop()
            try:
                with pytest.raises(sw.LedgerError, match="cannot be reached") as caught:
                    gen.generate(T2T, prompt="nobody records this", duration=4)
            finally:
                server.start()
        assert "Traceback" not in str(caught.value)
        assert emu.stats["submits"] == 0
    finally:
        emu.close()
    assert len(sw.History(url)) == 0
