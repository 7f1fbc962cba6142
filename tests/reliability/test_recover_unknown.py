"""Lost submits recovered through fal's request list (issue 17), on the emulator.

Submits whose answers are cut after the body was sent end ``unknown``; recovery then finds every
job the service made (and finishes it once: result, cost, media), marks the refused ones
``not_created`` at $0 once the window has passed, and sends no second submit. Until then an
``unknown`` row holds back budget.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from rel_support import caching_renderer

import sora2_widgets as sw
from sora2_widgets.client._platform import AsyncPlatformClient
from sora2_widgets.emulator import _emulator as emulator_module
from sora2_widgets.emulator._emulator import Emulator, Retention
from sora2_widgets.emulator._platform_data import billed, ran_jobs
from sora2_widgets.generator._marker import body_marker

SORA = "sora2_text_to_video"
VEO = "veo31_fast_text_to_video"
LONG = dt.timedelta(hours=1)


@pytest.fixture()
def emu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    monkeypatch.setattr(
        emulator_module, "render_video", caching_renderer(emulator_module.render_video, tmp_path / "cache")
    )
    emulator = Emulator(state_dir=tmp_path / "state", queue_delay=0.0, progress_time=0.05, seed=3)
    try:
        yield emulator
    finally:
        emulator.close()


def _jobs() -> list[dict[str, object]]:
    # Eight Sora jobs with one and the same body (no free field: the pairing must still be one to
    # one), twelve Veo jobs (a seed is chosen for each, so every body differs).
    same = [{"model_id": SORA, "prompt": "the same harbour at dawn", "duration": 4} for _ in range(8)]
    veo = [{"model_id": VEO, "prompt": f"a kite over dunes, take {i}", "duration": "4s"} for i in range(12)]
    return same + veo


def _generator(emu: Emulator, home: Path, **kw: object) -> sw.Generator:
    client = sw.AsyncFalClient(emulator=emu)
    platform = AsyncPlatformClient(emulator=emu)
    return sw.Generator(client=client, history=sw.History(home), resume=False, platform=platform, **kw)  # type: ignore[arg-type]


def test_twenty_lost_submits_are_found_or_marked_not_created(emu: Emulator, tmp_path: Path) -> None:
    home = tmp_path / "home"
    emu.faults.drop_submit_answers = 20
    emu.faults.fail_submits = 7  # refused at the door (429): no job, and the refusal is lost too
    with _generator(emu, home) as gen:
        lost = gen.generate_many(_jobs())
        assert [g.status for g in lost] == ["unknown"] * 20
        made = {job.record.request_id for job in ran_jobs(emu)}
        assert len(made) == 13 and emu.stats["submits"] == 20
        rows = gen.history.records("status = 'unknown'")
        assert all(r.submit_marker and r.submit_marker.startswith("sha256:") for r in rows)
        # Veo rows were sent a seed of their own (stored with the row): their bodies all differ.
        veo_seeds = {r.params["seed"] for r in rows if r.model_id == VEO}
        assert len(veo_seeds) == 12

        first = gen.recover_unknown(window=LONG)
        # Every job the emulator made is found and finished; the refused ones are not listed, and a
        # first look inside the window does not call them "not created".
        assert len(first.found) == 13 and len(first.still_unknown) == 7 and not first.not_created
        assert {r.request_id for r in first.found} == made
        for found in first.found:
            assert found.generation is not None and found.generation.status == "completed"
        assert all("not listed by fal yet" in r.reason for r in first.still_unknown)

        later = gen.recover_unknown(window=dt.timedelta(0))
        assert len(later.not_created) == 7 and not later.found and not later.still_unknown
        again = gen.recover_unknown(window=dt.timedelta(0))
        assert not again.rows

        recs = gen.history.records()
        done = [r for r in recs if r.status == "completed"]
        gone = [r for r in recs if r.status == "not_created"]
    assert len(done) == 13 and len(gone) == 7 and len(recs) == 20
    # Once each: one row per job the service made, and no second submit.
    assert sorted(r.request_id for r in done) == sorted(made)  # type: ignore[type-var]
    assert emu.stats["submits"] == 20 and len(list(ran_jobs(emu))) == 13
    for rec in done:
        assert rec.local_path is not None and rec.sha256 == hashlib.sha256(rec.local_path.read_bytes()).hexdigest()
        assert rec.cost is not None and rec.cost > 0
    for rec in gone:
        assert rec.cost == Decimal(0) and rec.request_id is None and "never created" in (rec.error or "")
    # Each found job was matched to the body its row sent.
    by_id = {job.record.request_id: job.record.params for job in ran_jobs(emu)}
    for rec in done:
        assert body_marker(by_id[rec.request_id]) == rec.submit_marker  # type: ignore[index]


def test_unknown_rows_hold_back_budget_until_resolved(emu: Emulator, tmp_path: Path) -> None:
    home = tmp_path / "home"
    emu.faults.drop_submit_answers = 1
    emu.faults.fail_submits = 1
    with _generator(emu, home) as gen:
        g = gen.generate_many([{"model_id": SORA, "prompt": "a lost one", "duration": 4}])[0]
        assert g.status == "unknown"
        high = gen.history.get(g.history_id).estimate_high  # type: ignore[arg-type]
        assert high is not None and gen.history.committed() == high
        # A job that would fit beside it is refused while the lost submit may still be billed.
        gen.budget = high + Decimal("0.1")
        with pytest.raises(sw.BudgetExceededError):
            gen.generate(SORA, prompt="one more", duration=4)
        assert emu.stats["submits"] == 1
        gen.recover_unknown(window=dt.timedelta(0))
        assert gen.history.get(g.history_id).status == "not_created"  # type: ignore[arg-type]
        assert gen.history.committed() == Decimal(0)
        ok = gen.generate(SORA, prompt="one more", duration=4)
    assert ok.status == "completed"


def test_first_look_not_listed_keeps_it_unknown(emu: Emulator, tmp_path: Path) -> None:
    home = tmp_path / "home"
    emu.faults.drop_submit_answers = 1
    emu.faults.fail_submits = 1
    with _generator(emu, home) as gen:
        g = gen.generate_many([{"model_id": SORA, "prompt": "not listed", "duration": 4}])[0]
        report = gen.recover_unknown()  # the documented window: an hour from the attempt
        rec = gen.history.get(g.history_id)  # type: ignore[arg-type]
    assert [r.outcome for r in report.rows] == ["still_unknown"]
    assert rec.status == "unknown" and rec.cost is None


def test_a_new_generator_recovers_on_start(emu: Emulator, tmp_path: Path) -> None:
    home = tmp_path / "home"
    emu.faults.drop_submit_answers = 1
    with _generator(emu, home) as gen:
        g = gen.generate_many([{"model_id": VEO, "prompt": "found at start-up", "duration": "4s"}])[0]
    assert g.status == "unknown"
    client = sw.AsyncFalClient(emulator=emu)
    platform = AsyncPlatformClient(emulator=emu)
    with sw.Generator(client=client, history=sw.History(home), platform=platform) as gen:
        resumed = gen.resume()
        rec = gen.history.get(g.history_id)  # type: ignore[arg-type]
    assert [x.history_id for x in resumed] == [g.history_id]
    assert rec.status == "completed" and rec.local_path is not None and rec.request_id is not None
    assert emu.stats["submits"] == 1


def test_reconcile_recovers_lost_submits_before_it_reads_the_bills(emu: Emulator, tmp_path: Path) -> None:
    from sora2_widgets.client._platform_sync import PlatformClient

    home = tmp_path / "home"
    emu.faults.drop_submit_answers = 3
    with _generator(emu, home) as gen:
        lost = gen.generate_many(_jobs()[8:11])  # three Veo jobs, each answer lost
    assert [g.status for g in lost] == ["unknown"] * 3
    made = {job.record.request_id for job in ran_jobs(emu)}
    with sw.History(home) as hist, PlatformClient(emulator=emu) as platform:
        report = hist.reconcile(platform, settle=dt.timedelta(0))
        recs = hist.records()
        assert report.recovered and "3 found on fal and finished" in report.recovered[0]
        assert [r.status for r in recs] == ["completed"] * 3 and {r.request_id for r in recs} == made
        assert emu.stats["submits"] == 3  # found, never sent again
        # Opting out leaves unknown rows alone.
        assert not hist.reconcile(platform, settle=dt.timedelta(0), recover=False).recovered
        with pytest.raises(TypeError, match="recover must be True or False"):
            hist.reconcile(platform, recover=None)  # type: ignore[arg-type]


# -- a found job whose result the queue no longer keeps (issue 17) ----------------------------------
def _lose_one(emu: Emulator, home: Path, model_id: str = VEO) -> sw.Generation:
    emu.faults.drop_submit_answers = 1
    with _generator(emu, home) as gen:
        lost = gen.generate_many([{"model_id": model_id, "prompt": "found after its result expired", "duration": "4s"}])
    assert lost[0].status == "unknown"
    return lost[0]


def _billed_cost(emu: Emulator, request_id: str | None) -> Decimal:
    (job,) = [j for j in ran_jobs(emu) if j.record.request_id == request_id]
    event = billed(emu, job)
    assert event is not None
    return event.cost_total


def test_an_expired_result_is_taken_from_the_request_list(emu: Emulator, tmp_path: Path) -> None:
    home = tmp_path / "home"
    lost = _lose_one(emu, home)
    emu.retention = Retention(result=0, large_result=0)  # the queue forgets each result as it completes
    with _generator(emu, home) as gen:
        report = gen.recover_unknown(window=LONG)
        rec = gen.history.get(lost.history_id)  # type: ignore[arg-type]
    assert [r.outcome for r in report.rows] == ["found"]
    assert emu.stats["result"] >= 1, "the queue was asked for the result first"
    # Completed once, with the cost fal billed for it and the saved video: never failed at $0.
    assert rec.status == "completed" and rec.error is None
    assert rec.cost is not None and rec.cost > 0 and rec.cost == _billed_cost(emu, rec.request_id)
    assert rec.video_url is not None and rec.local_path is not None
    assert rec.sha256 == hashlib.sha256(rec.local_path.read_bytes()).hexdigest()
    assert emu.stats["submits"] == 1


def test_media_gone_too_keeps_the_cost_and_says_why(emu: Emulator, tmp_path: Path) -> None:
    home = tmp_path / "home"
    lost = _lose_one(emu, home)
    # A millionth of a second: gone before any download, which only starts once the job completed.
    emu.retention = Retention(result=0, large_result=0, media=1e-6)
    with _generator(emu, home) as gen:
        (found,) = gen.recover_unknown(window=LONG).rows
        rec = gen.history.get(lost.history_id)  # type: ignore[arg-type]
    assert found.outcome == "found" and found.generation is not None
    assert rec.status == "completed" and rec.local_path is None
    assert rec.cost is not None and rec.cost > 0 and rec.cost == _billed_cost(emu, rec.request_id)
    assert "could no longer be downloaded" in (rec.error or "") and "404" in (rec.error or "")
    assert found.generation.cost == rec.cost and found.generation.error == rec.error


def test_a_job_listed_while_running_is_read_again_once_its_result_expired(emu: Emulator, tmp_path: Path) -> None:
    home = tmp_path / "home"
    # Long enough that the first look lists it running, without an output (as fal lists a running request).
    emu.progress_time = 5.0
    lost = _lose_one(emu, home)
    emu.retention = Retention(result=0, large_result=0)
    with _generator(emu, home) as gen:
        listings = emu.stats["platform"]
        (found,) = gen.recover_unknown(window=LONG).rows
        rec = gen.history.get(lost.history_id)  # type: ignore[arg-type]
    assert found.outcome == "found"
    assert emu.stats["platform"] - listings == 2, "the match, then this one request once it had ended"
    assert rec.status == "completed" and rec.local_path is not None
    assert rec.cost == _billed_cost(emu, rec.request_id)
