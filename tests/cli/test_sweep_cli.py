"""``sora2-widgets sweep`` as a script runs it: the plan, no spending unasked, JSON, re-runs that send nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import run

import sora2_widgets as sw

SORA = "sora2_text_to_video"
KLING = "kling25_turbo_pro_text_to_video"


@pytest.fixture()
def prompts(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_text("a red kite over a grey sea\n\n  a lighthouse <b>at</b> dusk  \n", encoding="utf-8")
    return path


def rows_in(home: Path) -> int:
    if not (home / "history.sqlite3").exists():
        return 0
    with sw.History(home) as history:
        return len(history)


def test_without_yes_and_without_a_terminal_it_shows_the_plan_and_sends_nothing(tmp_path: Path, prompts: Path) -> None:
    home = tmp_path / "home"
    done = run(home, "sweep", str(prompts), "--models", f"{SORA},{KLING}", "--aspect-ratio", "16:9,9:16")
    assert done.returncode == 2, done.stderr
    assert "add --yes to run it" in done.stderr
    lines = done.stdout.splitlines()
    # 2 prompts × 2 models × 2 ratios, each with its price, then the total.
    assert len([line for line in lines if line.strip()[:1].isdigit()]) == 8
    assert "a lighthouse <b>at</b> dusk" in done.stdout
    assert lines[-1].startswith("sweep 'sweep-") and "8 jobs, estimate $3.00" in lines[-1]
    assert rows_in(home) == 0


def test_with_yes_it_runs_prints_json_and_a_rerun_sends_nothing(tmp_path: Path, prompts: Path) -> None:
    home = tmp_path / "home"
    args = ("sweep", str(prompts), "--models", SORA, "--duration", "4,8", "--name", "kites", "--yes", "--json")
    first = run(home, *args)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["sweep"] == "kites" and report["estimate"] == {"low_usd": "2.40", "high_usd": "2.40"}
    assert [r["duration"] for r in report["plan"]] == [4, 8, 4, 8]
    assert [r["status"] for r in report["results"]] == ["completed"] * 4
    assert all(Path(r["local_path"]).is_file() for r in report["results"])
    assert "[4/4]" in first.stderr  # progress, plain: stderr is not a terminal
    assert "\x1b[" not in first.stderr + first.stdout
    again = run(home, *args)
    assert again.returncode == 0, again.stderr
    assert [r["history_id"] for r in json.loads(again.stdout)["results"]] == [
        r["history_id"] for r in report["results"]
    ]
    assert rows_in(home) == 4
    # The table form says the jobs were done before, and asks nothing.
    table = run(home, *args[:-2])
    assert "4 already done under this name" in table.stdout and table.returncode == 0
    spend = run(home, "spend", "--by", "sweep", "--json")
    assert spend.returncode == 0 and "kites" in spend.stdout


def test_an_invalid_combination_is_named_and_nothing_is_sent(tmp_path: Path, prompts: Path) -> None:
    home = tmp_path / "home"
    done = run(home, "sweep", str(prompts), "--models", f"{SORA},{KLING}", "--duration", "4,10", "--yes")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "combination 2 (sora2_text_to_video, prompt 1, duration=10): duration must be" in done.stderr
    assert rows_in(home) == 0


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--duration", "4,,8"], "none empty"),
        (["--param", "duration=4", "--duration", "8"], "duration is given twice"),
        (["--param", "wobble=1,2"], "wobble= is not a setting of any model in this sweep"),
        (["--max-concurrency", "0"], "--max-concurrency"),
    ],
)
def test_bad_options_are_refused_in_one_line(tmp_path: Path, prompts: Path, extra: list[str], words: str) -> None:
    home = tmp_path / "home"
    done = run(home, "sweep", str(prompts), "--models", SORA, "--yes", *extra)
    assert done.returncode == 2, done.stderr
    assert words in done.stderr.splitlines()[-1]  # the message is one line (argparse puts its usage above)
    assert rows_in(home) == 0


def test_an_empty_prompts_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n", encoding="utf-8")
    done = run(tmp_path / "home", "sweep", str(empty), "--models", SORA, "--yes")
    assert done.returncode == 2 and "prompts=" in done.stderr


def test_plain_seconds_are_spelled_for_each_model_as_generate_does(tmp_path: Path, prompts: Path) -> None:
    home = tmp_path / "home"
    models = "veo31_fast_text_to_video,kling3_standard_text_to_video"
    done = run(home, "sweep", str(prompts), "--models", models, "--duration", "4,8", "--json")
    assert done.returncode == 2 and "add --yes to run it" in done.stderr  # shown, not run
    plan = json.loads(done.stdout)["plan"]
    assert {(r["model_id"], r["duration"]) for r in plan} == {
        ("veo31_fast_text_to_video", "4s"),
        ("veo31_fast_text_to_video", "8s"),
        ("kling3_standard_text_to_video", "4"),
        ("kling3_standard_text_to_video", "8"),
    }
    refused = run(home, "sweep", str(prompts), "--models", models, "--duration", "5")
    assert refused.returncode == 2 and "duration must be 4s, 6s or 8s" in refused.stderr
    assert rows_in(home) == 0
