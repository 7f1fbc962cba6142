"""The panel's budget is the generator's, counts jobs in flight, and survives a key change."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sora2_widgets import AsyncFalClient, Emulator, Generator, History
from sora2_widgets.panel import JobStatus, PanelController, Sora2Panel


def emulator_generator(tmp_path: Path, history: History, **kwargs: Any) -> Generator:
    # Slow enough that the first jobs are still running when the later clicks come.
    emulator = Emulator(state_dir=tmp_path / "emu", queue_delay=0.05, progress_time=2.0, seed=3)
    return Generator(client=AsyncFalClient(emulator=emulator), history=history, resume=False, **kwargs)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[History]:
    history = History(tmp_path / "history.sqlite3")
    yield history
    history.close()


def wait_until(check: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_quick_clicks_cannot_overspend_the_panels_budget(tmp_path: Path, ledger: History) -> None:
    generator = emulator_generator(tmp_path, ledger)
    ctl = PanelController(generator, ledger, budget="1", generator_factory=lambda key: None)
    panel = Sora2Panel(ctl)
    try:
        assert generator.budget == Decimal(1)  # the one enforcing it, atomically with the ledger row
        panel.prompt.value = "a kite over the dunes"  # Sora 2, 4 s: $0.40
        for _ in range(4):
            panel.generate.click()
        assert len(ctl.jobs) == 2
        assert panel.generate.disabled and "of your budget is left" in panel.status.value
        wait_until(lambda: all(j.history_id is not None for j in ctl.jobs))  # both rows reserve in the ledger
        assert not any(j.done for j in ctl.jobs)
        assert "Budget left: $0.20 of $1.00" in panel.cost.value  # $0.80 reserved by the two in flight
        assert "only $0.20 of your budget is left" in panel.status.value
        ctl.wait(60)
        assert [j.status for j in ctl.jobs] == [JobStatus.DONE, JobStatus.DONE]
        assert ledger.total_spent() == Decimal("0.80") <= Decimal(1)
        assert "Budget left: $0.20 of $1.00" in panel.cost.value
    finally:
        ctl.close()
        generator.close()


def test_a_second_panel_on_the_same_ledger_gets_a_budget_error_card(tmp_path: Path, ledger: History) -> None:
    """Two panels (or kernels) share one ledger: the generator's check is the one that holds."""
    gen_a = emulator_generator(tmp_path, ledger)
    gen_b = emulator_generator(tmp_path, ledger)
    a = Sora2Panel(PanelController(gen_a, ledger, budget="1", generator_factory=lambda key: None))
    b = Sora2Panel(PanelController(gen_b, ledger, budget="1", generator_factory=lambda key: None))
    try:
        b.prompt.value = "a lantern in the fog"
        assert "Budget left: $1.00 of $1.00" in b.cost.value  # read before panel A started anything
        a.prompt.value = "a kite over the dunes"
        a.generate.click()
        a.generate.click()
        wait_until(lambda: all(j.history_id is not None for j in a.controller.jobs))
        for _ in range(2):
            b.generate.click()  # B's last look at the ledger said $1.00 was left
        b.controller.wait(60)
        a.controller.wait(60)
        refused = [j for j in b.controller.jobs if j.status == JobStatus.FAILED]
        assert refused, [j.status for j in b.controller.jobs]
        card = b.cards[refused[0].id]
        assert card.error.value.startswith("<b>Over budget</b>:") and "Nothing was sent" in card.error.value
        assert ledger.total_spent() <= Decimal(1)
        assert len([j for j in (*a.controller.jobs, *b.controller.jobs) if j.status == JobStatus.DONE]) == 2
    finally:
        a.controller.close()
        b.controller.close()
        gen_a.close()
        gen_b.close()


def test_a_generators_own_budget_is_shown_and_set_budget_sets_it(tmp_path: Path, ledger: History) -> None:
    generator = emulator_generator(tmp_path, ledger, budget="3")
    ctl = PanelController(generator, ledger, generator_factory=lambda key: None)
    try:
        ctl.set_prompt("a fox")
        assert ctl.budget == Decimal(3)
        assert ctl.cost_lines()[-1] == "Budget left: $3.00 of $3.00"
        ctl.set_budget("2.50")
        assert generator.budget == Decimal("2.50")
        assert ctl.cost_lines()[-1] == "Budget left: $2.50 of $2.50"
        ctl.set_budget(None)
        assert generator.budget is None and ctl.budget_left is None
    finally:
        ctl.close()
        generator.close()


def test_typing_a_key_keeps_an_empty_ledger_and_the_budget_and_closes_the_old_generator(tmp_path: Path) -> None:
    ledger = History(tmp_path / "empty.sqlite3")
    assert len(ledger) == 0 and not ledger  # an empty ledger is falsy: no `or` may skip it
    ctl = PanelController(history=ledger, budget="7")  # the panel makes its own (emulator) generator
    try:
        first = ctl.generator
        assert isinstance(first, Generator) and first.history is ledger and first.budget == Decimal(7)
        ctl.set_key("key-id:key-secret")
        second = ctl.generator
        assert isinstance(second, Generator) and second is not first and ctl.provider == "fal"
        assert second.history is ledger and ctl.history is ledger  # read where the generator writes
        assert second.budget == Decimal(7) and ctl.budget == Decimal(7)
        assert first._closed  # its loop thread and resume pass are gone
    finally:
        ctl.close()
        ledger.close()
    assert second._closed  # the panel closes what it made


def test_typing_a_key_keeps_a_user_generators_ledger_and_budget_and_leaves_it_open(tmp_path: Path) -> None:
    ledger = History(tmp_path / "mine.sqlite3")
    mine = emulator_generator(tmp_path, ledger, budget="4")
    ctl = PanelController(mine)
    try:
        assert ctl.history is ledger and ctl.budget == Decimal(4)
        ctl.set_key("key-id:key-secret")
        new = ctl.generator
        assert isinstance(new, Generator) and new is not mine
        assert new.history is ledger and new.budget == Decimal(4)
        ctl.close()
        # The user's generator is theirs to close: it still runs jobs.
        done = mine.generate("sora2_text_to_video", prompt="still mine", duration=4)
        assert done.ok and ledger.get(done.history_id) is not None  # type: ignore[arg-type]
    finally:
        ctl.close()
        mine.close()
        ledger.close()


def test_a_job_running_when_the_key_changes_finishes_on_its_generator(tmp_path: Path) -> None:
    ledger = History(tmp_path / "h.sqlite3")
    made: list[Generator] = []

    def factory(key: Any) -> Generator:
        made.append(emulator_generator(tmp_path / str(len(made)), ledger))
        return made[-1]

    ctl = PanelController(history=ledger, generator_factory=factory)
    try:
        ctl.set_prompt("a paper boat")
        (job,) = ctl.generate()
        wait_until(lambda: job.history_id is not None)
        ctl.set_key("key-id:key-secret")
        assert ctl.generator is made[1]
        ctl.wait(60)
        assert job.status == JobStatus.DONE, (job.error_title, job.error_message)
        wait_until(lambda: made[0]._closed)  # closed by its last job, not before
    finally:
        ctl.close()
        for one in made:
            one.close()
        ledger.close()


def test_a_job_whose_row_is_written_but_not_yet_linked_is_counted_once(
    tmp_path: Path, ledger: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The generator writes the row on its loop; the panel hears of it a moment later. A label or
    click in between must not count the job twice (that refused a second job that fitted)."""
    from sora2_widgets.panel._jobs import JobState

    heard = threading.Event()  # until set, the panel does not hear from its jobs: "a moment later"
    real_apply = JobState.apply_update
    monkeypatch.setattr(JobState, "apply_update", lambda self, u: heard.wait(30) and real_apply(self, u))
    generator = emulator_generator(tmp_path, ledger)
    ctl = PanelController(generator, ledger, budget="1", generator_factory=lambda key: None)
    try:
        ctl.set_prompt("a kite over the dunes")  # Sora 2, 4 s: $0.40
        (job,) = ctl.generate()
        wait_until(lambda: any(r.status in ("submitted", "in_queue", "in_progress") for r in ledger.records()))
        assert job.history_id is None
        ctl._money.forget()  # a fresh look at the ledger in that moment
        assert ctl.budget_left == Decimal("0.60")
        assert ledger.committed() == Decimal("0.40")  # the ledger alone sees the row
        assert ledger.committed(exclude_owners=[generator.owner]) == Decimal(0)
        assert len(ctl.generate()) == 1  # $0.40 more fits in $0.60: not refused
        heard.set()
        ctl.wait(60)
        assert ledger.total_spent() == Decimal("0.80")
    finally:
        heard.set()
        ctl.close()
        generator.close()
