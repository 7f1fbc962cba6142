"""Running a sweep against the in-process emulator: all jobs, one failure, re-runs that send nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator
from sora2_widgets.experiments._progress import make_progress

SORA = "sora2_text_to_video"
KLING = "kling25_turbo_pro_text_to_video"


def jobs_on_the_service(home: Path) -> int:
    return len(list((home / "emulator" / "jobs").glob("*.json")))


def test_a_sweep_runs_every_job_and_a_rerun_sends_nothing(home: Path) -> None:
    emu = Emulator(state_dir=home / "emulator", queue_delay=0.0, progress_time=0.05)
    s = sw.sweep(["a kite", "a lighthouse"], [SORA, KLING], name="first", aspect_ratio=["16:9", "9:16"])
    try:
        with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=sw.History(home), resume=False) as gen:
            out = io.StringIO()
            results = _run(s, gen, out)
            assert jobs_on_the_service(home) == 8
            assert list(results["status"]) == ["completed"] * 8
            assert results["history_id"].notna().all() and results["local_path"].map(lambda p: Path(p).is_file()).all()
            assert (results["cost_usd"] > 0).all() and (results["seconds"] >= 0).all()
            assert list(results.index) == list(s.plan.index)
            assert [c for c in s.plan.columns if c not in results.columns] == []
            rows = gen.history.df.loc[list(results["history_id"])]
            assert set(rows["sweep"]) == {"first"} and list(rows["sweep_key"]) == list(s.plan["sweep_key"])
            assert out.getvalue().count("completed") == 8

            # Again: everything is done, nothing is sent, the bar starts full.
            again = io.StringIO()
            assert _run(s, gen, again)["history_id"].tolist() == results["history_id"].tolist()
            assert jobs_on_the_service(home) == 8
            assert "8 job(s) (8 done before)" in again.getvalue()

            spend = gen.history.spend(by="sweep")
            assert spend.loc["first", "count"] == 8
            assert spend.loc["first", "total"] == gen.history.total_spent()
    finally:
        emu.close()


def _run(s: sw.Sweep, gen: sw.Generator, out: io.StringIO) -> object:
    """``s.run(generator=gen)`` with its progress lines captured."""
    import sora2_widgets.experiments._sweep as sweep_module

    original = sweep_module.make_progress
    sweep_module.make_progress = lambda kind="auto", stream=None: make_progress("plain", out)  # type: ignore[assignment]
    try:
        return s.run(generator=gen)
    finally:
        sweep_module.make_progress = original


def test_one_failure_does_not_sink_the_rest_and_the_failed_ones_run_again(home: Path) -> None:
    emu = Emulator(state_dir=home / "emulator", queue_delay=0.0, progress_time=0.05, retired=[KLING])
    s = sw.sweep(["a kite", "a lighthouse"], [SORA, KLING], name="partly")
    try:
        with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=sw.History(home), resume=False) as gen:
            first = s.run(generator=gen, progress="none")
            kling = first[first.model_id == KLING]
            assert (first[first.model_id == SORA]["status"] == "completed").all()
            assert kling["status"].isin(["failed", "unavailable"]).all() and (kling["cost_usd"] == 0).all()
            sent = jobs_on_the_service(home)
            emu.faults.retired = frozenset()
            second = s.run(generator=gen, progress="none")
            assert list(second["status"]) == ["completed"] * 4
            # Only Kling's two were sent again; Sora's were not paid for twice.
            assert jobs_on_the_service(home) == sent + 2
            sora_ids = first[first.model_id == SORA]["history_id"].tolist()
            assert second[second.model_id == SORA]["history_id"].tolist() == sora_ids
    finally:
        emu.close()


def test_the_sweeps_own_generator_takes_budget_and_concurrency(home: Path) -> None:
    s = sw.sweep(["a kite", "a lighthouse", "a harbour"], SORA, name="own", duration=4)
    with pytest.raises(sw.BudgetExceededError):
        s.run(budget="0.50", progress="none")  # three 4 s Sora jobs are $1.20: nothing is sent
    assert list(s.results["status"]) == ["not run"] * 3
    with pytest.raises(sw.ConfigError, match=r"^max_concurrency= must be a whole number"):
        s.run(max_concurrency=True, progress="none")  # type: ignore[arg-type]
    results = s.run(budget="5", max_concurrency=3, progress="none")
    assert list(results["status"]) == ["completed"] * 3
    s.history.close()


def test_budget_and_concurrency_belong_to_a_given_generator(home: Path) -> None:
    s = sw.sweep("a kite", SORA, duration=4)
    with sw.Generator(history=sw.History(home), resume=False) as gen, pytest.raises(sw.ConfigError, match=r"^budget= "):
        s.run(budget=5, generator=gen, progress="none")
    assert len(sw.History(home)) == 0


def test_what_a_rerun_sends_follows_each_combinations_row(home: Path) -> None:
    """completed → kept; unknown (maybe charged) → never sent again; failed or not_created → sent."""
    s = sw.sweep(["one", "two", "three", "four", "five"], SORA, name="rules", duration=4)
    keys = list(s.plan["sweep_key"])
    history = sw.History(home)
    base = {"model_id": SORA, "endpoint": "fal-ai/sora-2/text-to-video", "mode": "text", "provider": "emulator"}
    earlier = {}
    for key, prompt, status in zip(
        keys, ["one", "two", "three", "four"], ["completed", "unknown", "failed", "not_created"]
    ):
        earlier[prompt] = history.add(**base, prompt=prompt, status=status, sweep="rules", sweep_key=key, cost_micros=0)
    emu = Emulator(state_dir=home / "emulator", queue_delay=0.0, progress_time=0.05)
    try:
        with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=history, resume=False) as gen:
            results = s.run(generator=gen, progress="none")
    finally:
        emu.close()
    sent = sorted(json.loads(p.read_text())["params"]["prompt"] for p in (home / "emulator" / "jobs").glob("*.json"))
    assert sent == ["five", "four", "three"]
    assert list(results["status"]) == ["completed", "unknown", "completed", "completed", "completed"]
    assert results["history_id"].tolist()[:2] == [earlier["one"], earlier["two"]]
    history.close()
