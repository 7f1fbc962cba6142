"""Money: the cost label, and a budget that is the generator's, counts jobs in flight and is shared
through the ledger."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sora2_widgets import History
from sora2_widgets.panel import JobStatus, PanelController, Sora2Panel

from ._helpers import IMG_PRO, IMG_SORA, REMIX, TEXT_KLING, TEXT_PRO, TEXT_SORA, _cost, emulator_generator, wait_until

# (tab, selection, settings) → expected cost lines
COSTS = [
    ("text", (TEXT_SORA,), {}, ["Total: $0.40", "Sora 2: $0.40"]),
    ("text", (TEXT_PRO,), {}, ["Total: $2.00", "Sora 2 Pro: $2.00"]),
    ("text", (TEXT_PRO,), {"duration": 8, "resolution": "720p"}, ["Total: $2.40", "Sora 2 Pro: $2.40"]),
    (
        "text",
        (TEXT_SORA, TEXT_PRO, TEXT_KLING),
        {"duration": 8},
        ["Total: $5.15", "Sora 2: $0.80", "Sora 2 Pro: $4.00", "Kling 2.5 Turbo Pro: $0.35"],
    ),
    ("text", (TEXT_KLING,), {"duration": "10"}, ["Total: $0.70", "Kling 2.5 Turbo Pro: $0.70"]),
    ("image", (IMG_SORA,), {"duration": 12}, ["Total: $1.20", "Sora 2 (image): $1.20"]),
    (
        "image",
        (IMG_PRO,),
        {},
        [
            "Total: $1.20–$2.00 (a range: the service picks the resolution (auto))",
            "Sora 2 Pro (image): $1.20–$2.00 (the service picks the resolution (auto))",
        ],
    ),
    ("image", (IMG_PRO,), {"resolution": "1080p", "duration": 20}, ["Total: $10.00", "Sora 2 Pro (image): $10.00"]),
    (
        "remix",
        (REMIX,),
        {},
        [
            "Total: $0.40–$2.00 (a range: depends on the source video's length)",
            "Sora 2 Remix: $0.40–$2.00 (depends on the source video's length)",
        ],
    ),
    ("text", (), {}, ["Total: $0.00 — select a model"]),
]


@pytest.mark.parametrize(("tab", "selection", "settings", "expected"), COSTS)
def test_cost_label(
    panel: Any, tab: str, selection: tuple[str, ...], settings: dict[str, Any], expected: list[str]
) -> None:
    ctl = panel.controller
    ctl.set_tab(tab)
    ctl.select(selection)
    for name, value in settings.items():
        ctl.set_setting_named(name, value)  # the first menu of that name: Sora's before Kling's
    assert _cost(panel) == expected
    assert expected[0] in panel.cost.value.replace("&#x27;", "'")


def test_budget_left_is_shown_and_enforced(generator: Any, history: Any) -> None:
    history.add(model_id=TEXT_SORA, status="completed", prompt="x", cost_usd=9.0)
    ctl = PanelController(generator, history, budget="10", generator_factory=lambda k: None)
    ctl.set_prompt("a fox")
    assert ctl.cost_lines()[-1] == "Budget left: $1.00 of $10.00"
    ctl.select((TEXT_PRO,))  # $2.00 > $1.00 left
    assert any("only $1.00 of your budget is left" in b for b in ctl.blockers)
    ctl.close()


def test_quick_clicks_cannot_overspend_the_panels_budget(tmp_path: Path, ledger: History) -> None:
    generator = emulator_generator(tmp_path, ledger)
    ctl = PanelController(generator, ledger, budget="1", generator_factory=lambda key: None)
    panel = Sora2Panel(ctl)
    try:
        assert generator.budget == Decimal(1)  # the one enforcing it, atomically with the ledger row
        for take in range(4):  # Sora 2, 4 s: $0.40 a click; a new prompt each time, so no "run again?"
            panel.prompt.value = f"a kite over the dunes, take {take}"
            wait_until(lambda: not ctl.submitting)  # a click while the last one submits is refused anyway
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
        for take in range(2):
            a.prompt.value = f"a kite over the dunes, take {take}"
            wait_until(lambda: not a.controller.submitting)
            a.generate.click()
        wait_until(lambda: all(j.history_id is not None for j in a.controller.jobs))
        for take in range(2):
            b.prompt.value = f"a lantern in the fog, take {take}"
            wait_until(lambda: not b.controller.submitting)
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
        assert ctl.can_generate  # $0.40 more fits in $0.60: the budget does not refuse it
        # ... but the panel has not heard that its job reached the service: to it, a click now is
        # the second half of a double-click, and it starts nothing.
        assert ctl.submitting and ctl.generate() == []
        heard.set()
        ctl.wait(60)
        assert ledger.total_spent() == Decimal("0.40")
    finally:
        heard.set()
        ctl.close()
        generator.close()


def test_the_ledgers_money_is_read_once_per_change(ledger: History) -> None:
    from sora2_widgets.panel._budget import LedgerMoney

    money = LedgerMoney()
    ledger.add(model_id=TEXT_SORA, endpoint="e", mode="text", provider="emulator", status="completed", cost_micros=1)
    assert money.spent(ledger) == Decimal("0.000001")
    running = ledger.add(
        model_id=TEXT_SORA, endpoint="e", mode="text", provider="emulator", est_high_micros=400_000, lease_owner="me"
    )
    assert money.spent(ledger) == Decimal("0.000001")  # cached
    assert money.committed(ledger, (1,), ["me"]) == Decimal("0.000001")  # my running job: counted by the panel
    assert money.committed(ledger, (1,), ["me", "other"]) == Decimal("0.000001")  # same running jobs: cached
    assert money.committed(ledger, (1, 2), ["other"]) == Decimal("0.400001")  # another's job reserves its high
    money.forget()
    ledger.update(running, status="completed", cost_micros=400_000)
    assert money.spent(ledger) == Decimal("0.400001")


def test_the_budget_blocks_only_what_it_cannot_cover() -> None:
    from sora2_widgets import CostEstimate
    from sora2_widgets.panel._budget import budget_blocker

    two = CostEstimate(Decimal(1), Decimal(2))
    assert budget_blocker(two, None) is None  # no budget
    assert budget_blocker(two, Decimal(2)) is None
    assert budget_blocker(two, Decimal("1.99")) == "This could cost $1.00–$2.00 but only $1.99 of your budget is left."
