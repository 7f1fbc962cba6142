"""The controller's own rules: the confirmation click, the status line, tabs without models."""

from __future__ import annotations

import html as _html
import threading
from decimal import Decimal
from typing import Any

from sora2_widgets import ServiceError

from ._fakes import FakeGenerator
from ._helpers import TEXT_KLING, TEXT_PRO, TEXT_SORA, wait_for


def test_history_and_spend_tabs_list_no_models(panel: Any) -> None:
    panel.tabs.selected_index = 3
    assert panel.controller.models == ()
    assert panel.controller.blockers == ["Pick the Text, Image or Remix tab to generate."]


def test_costly_selection_needs_a_second_click_in_the_same_state(panel: Any, generator: Any) -> None:
    ctl = panel.controller
    ctl.select((TEXT_PRO,))
    ctl.set_setting_named("duration", 12)  # $6.00 > $5 threshold
    panel.prompt.value = "a long pan over mountains"
    panel.generate.click()
    assert generator.calls == [] and ctl.jobs == []
    assert "Click Generate again to confirm" in panel.status.value
    assert panel.generate.description == "Confirm: generate"
    panel.prompt.value = "a long pan over the mountains"  # any change resets the confirmation
    assert panel.generate.description == "Generate"
    panel.generate.click()
    assert ctl.jobs == []
    panel.generate.click()  # second click, same state: confirmed
    ctl.wait(10)
    assert [c[0] for c in generator.calls] == [TEXT_PRO]


def test_cheap_selection_starts_at_once(panel: Any, generator: Any) -> None:
    panel.prompt.value = "a red balloon"
    panel.generate.click()
    panel.controller.wait(10)
    assert len(generator.calls) == 1
    assert Decimal(panel.controller.total_cost.high) <= Decimal(5)


def test_status_line_follows_the_jobs_and_belongs_to_its_tab(panel: Any, generator: FakeGenerator) -> None:
    ctl = panel.controller
    generator.gate = threading.Event()
    generator.fail_with[TEXT_KLING] = ServiceError(
        "fal answered 503 three times; nothing was charged.", status_code=503
    )
    ctl.select((TEXT_SORA, TEXT_KLING))
    panel.prompt.value = "a paper boat on a river"
    panel.generate.click()
    assert ctl.status == "2 jobs running: Sora 2, Kling 2.5 Turbo Pro."
    assert panel.status.value == _html.escape(ctl.status) and not ctl.status_warn

    # Jobs started on the Text tab are not reported on the Remix tab (it has its own state).
    panel.tabs.selected_index = 2
    assert ctl.status == ""
    # What blocks Generate there: the Remix tab has its own prompt, still empty.
    assert panel.status.value == "Write a prompt."
    panel.tabs.selected_index = 0
    assert panel.status.value == _html.escape(ctl.status) and "running" in ctl.status

    generator.gate.set()
    ctl.wait(10)
    wait_for(lambda: panel.status.value == "Done: 1 completed, 1 failed.")
    assert ctl.status == "Done: 1 completed, 1 failed."


def test_a_message_is_cleared_by_a_tab_switch(panel: Any) -> None:
    ctl = panel.controller
    ctl.select(())
    ctl.generate()  # refused: says why, as a warning
    assert ctl.status == "Select at least one model." and ctl.status_warn
    ctl.set_tab("image")
    ctl.set_tab("text")
    assert ctl.status == "" and not ctl.status_warn
