"""Which generator and ledger: a typed key makes a new generator on the same ledger and budget, and
the panel closes only what it made."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sora2_widgets import Generator, History
from sora2_widgets.panel import JobStatus, PanelController

from ._helpers import emulator_generator, wait_until


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


def test_the_panels_own_generator_needs_the_real_ledger(history: Any) -> None:
    from sora2_widgets.panel._provider import default_generator

    class StandIn:  # a ledger-shaped object: the generator could not write its rows there
        pass

    with pytest.raises(TypeError, match=r"sora2_widgets\.History"):
        default_generator(None, history=StandIn(), budget=None)  # type: ignore[arg-type]
    made = default_generator(None, history=history, budget=Decimal(3))
    try:
        assert isinstance(made, Generator) and made.history is history and made.budget == Decimal(3)
    finally:
        made.close()
