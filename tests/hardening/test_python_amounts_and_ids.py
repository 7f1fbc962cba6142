"""Amounts and row ids given from Python: one parser, one sentence naming the argument (issue 16, 6 and 7).

``Generator(budget=...)``, ``PanelController(budget=..., confirm_above=...)`` and
``PanelController.set_budget`` read money through ``_config.parse_usd``, like the environment variable
and ``--budget``; ``History.get``/``delete`` take a row id as given, never ``int()`` of it.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import sora2_widgets as sw

BAD_AMOUNTS = ["abc", "NaN", "Infinity", "-1", "1,500", True, None, float("nan"), "1e3"]


@pytest.mark.parametrize("bad", [b for b in BAD_AMOUNTS if b is not None])
def test_generator_budget_is_parsed_by_the_one_parser(tmp_path: Path, bad: object) -> None:
    with pytest.raises(sw.ConfigError, match=r"^budget= ") as info:
        sw.Generator(history=sw.History(tmp_path), resume=False, budget=bad)  # type: ignore[arg-type]
    assert "\n" not in str(info.value) and info.value.field == "budget="


@pytest.mark.parametrize("bad", [b for b in BAD_AMOUNTS if b is not None])
@pytest.mark.parametrize("field", ["budget", "confirm_above"])
def test_panel_amounts_are_parsed_by_the_one_parser(tmp_path: Path, field: str, bad: object) -> None:
    with sw.History(tmp_path) as history, pytest.raises(sw.ConfigError, match=rf"^{field}= "):
        sw.PanelController(None, history, generator_factory=lambda key: None, **{field: bad})  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [b for b in BAD_AMOUNTS if b is not None])
def test_panel_set_budget_refuses_what_the_environment_refuses(tmp_path: Path, bad: object) -> None:
    with sw.History(tmp_path) as history:
        ctl = sw.PanelController(None, history, budget="10", generator_factory=lambda key: None)
        with pytest.raises(sw.ConfigError, match=r"^budget= "):
            ctl.set_budget(bad)  # type: ignore[arg-type]
        assert ctl.budget == Decimal(10)  # unchanged
        ctl.set_budget("$12.50")
        assert ctl.budget == Decimal("12.50")


@pytest.mark.parametrize("bad", ["abc", "1", True, False, 1.0, 1.9, None])
def test_history_delete_and_get_name_history_id(tmp_path: Path, bad: object) -> None:
    with sw.History(tmp_path) as h:
        h.add(model_id="sora2_text_to_video", endpoint="e", mode="text", provider="fal", status="completed")
        before = h.df
        for call in (h.delete, h.get):
            with pytest.raises(ValueError, match=r"^history_id must be a whole number") as info:
                call(bad)  # type: ignore[arg-type]
            assert "invalid literal" not in str(info.value)
        assert h.df.equals(before)  # nothing was deleted: True is not row 1
        assert h.get(1).id == 1
