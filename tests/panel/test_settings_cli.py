"""``--multi-prompt`` (Kling 3.0's shots) from the command line: one option per shot, ``SECONDS|PROMPT``,
instead of the prompt; with a prompt too it is refused with the catalog's sentence before anything is sent."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.cli_helpers import run

KLING3 = "kling3_standard_text_to_video"


def test_shots_generate_without_a_prompt(tmp_path: Path) -> None:
    shots = ("--multi-prompt", "3|a fox wakes", "--multi-prompt", "4s|it runs")
    done = run(tmp_path, "generate", KLING3, *shots, "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["status"] == "completed" and out["cost_usd"] == "0.882"  # 7 s × $0.126 (audio on)
    listed = run(tmp_path, "history", "--json")
    (row,) = json.loads(listed.stdout)
    assert row["model_id"] == KLING3


def test_shots_and_a_prompt_together_are_refused_before_any_request(tmp_path: Path) -> None:
    done = run(tmp_path, "generate", KLING3, "a fox", "--multi-prompt", "3|a fox wakes", "--json")
    assert done.returncode == 2
    assert "multi_prompt cannot be given together with prompt for Kling 3.0 Standard; give one of them" in done.stderr
    assert "nothing was sent" in done.stderr
    assert json.loads(run(tmp_path, "history", "--json").stdout) == []  # no ledger row either


def test_a_shot_that_is_not_seconds_and_prompt_is_a_usage_error(tmp_path: Path) -> None:
    done = run(tmp_path, "generate", KLING3, "--multi-prompt", "five|a fox")
    assert done.returncode == 2
    assert "--multi-prompt: takes SECONDS|PROMPT such as '5|a fox runs', got 'five|a fox'" in done.stderr
