"""What the CLI shows a person (tables, one live line) and a script (--json, CSV), issue #18 items 3 and 8."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import cli_env, run

from sora2_widgets import History
from sora2_widgets.cli import main
from sora2_widgets.cli._output import JobProgress, cut

TEXT = {"model_id": "sora2_text_to_video", "endpoint": "fal-ai/sora-2/text-to-video", "mode": "text"}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(home))
    for name in [n for n in os.environ if n.startswith("FAL_KEY")]:
        monkeypatch.delenv(name)
    return home


def _ids(table: str) -> list[int]:
    """The id column of a plain ``history`` table (its first column)."""
    return [int(line.split()[0]) for line in table.splitlines() if re.match(r"\s*\d+\s+\d{4}-\d\d-\d\d ", line)]


def test_history_ids_newest_first_and_source_from_it_remixes(home: Path, tmp_path: Path) -> None:
    kite = run(home, "generate", "sora2_text_to_video", "A red kite over a grey sea", "--duration", "4", "--keep")
    assert kite.returncode == 0, kite.stderr
    hist = History(home)
    hist.add(**TEXT, provider="emulator", prompt="a later one", status="failed", error="boom")
    hist.add(**TEXT, provider="emulator", prompt="the newest", status="cancelled")
    hist.close()

    listed = run(home, "history")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].split()[0] == "id"
    assert _ids(listed.stdout) == [3, 2, 1]  # newest first, as the help says
    assert _ids(run(home, "history", "--limit", "2").stdout) == [3, 2]  # the two newest, not the two oldest
    # The id a person reads off the kite's row is what --source takes.
    (kite_row,) = [line for line in listed.stdout.splitlines() if "A red kite" in line]
    source = kite_row.split()[0]
    assert "source" in kite_row  # the table says which rows can be remixed

    remix = run(home, "generate", "sora2_video_to_video_remix", "Now at night", "--source", source, "--json")
    assert remix.returncode == 0, remix.stderr
    summary = json.loads(remix.stdout)
    assert summary["status"] == "completed" and summary["cost_usd"] == "0.40"
    after = run(home, "history").stdout
    (remix_row,) = [line for line in after.splitlines() if "Now at night" in line]
    assert f"from #{source}" in remix_row and remix_row.split()[0] == str(summary["history_id"])

    # The CSV has the same ids, first, for every row.
    out = tmp_path / "h.csv"
    assert run(home, "history", "--csv", str(out)).returncode == 0
    rows = list(csv.DictReader(out.open()))
    assert next(iter(rows[0])) == "id"
    assert sorted(int(r["id"]) for r in rows) == [1, 2, 3, 4]
    assert {r["id"]: r["prompt"] for r in rows}[source] == "A red kite over a grey sea"
    # --json: the same rows for a script, newest first, whole prompts.
    data = json.loads(run(home, "history", "--json").stdout)
    assert [r["id"] for r in data] == [4, 3, 2, 1]
    assert data[-1]["prompt"] == "A red kite over a grey sea" and data[-1]["remixable"] is True


def test_the_history_table_reads_like_a_table(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hist = History(home)
    long_prompt = (
        "A lighthouse keeper\nclimbs the spiral stairs at dusk while gulls circle and waves break on the rocks"
    )
    hist.add(
        model_id="sora2_text_to_video_pro",
        endpoint="fal-ai/sora-2/text-to-video/pro",
        mode="text",
        provider="fal",
        prompt=long_prompt,
        status="unknown",
    )
    hist.add(**TEXT, provider="fal", prompt="short", status="completed", cost_micros=400_000, duration=4.0)
    hist.close()
    assert main(["history"]) == 0
    out = capsys.readouterr().out
    assert not ANSI.search(out)  # not a terminal: no colour or cursor codes
    for raw in ("None", "NaN", "nan", "+00:00", "sora2_text_to_video", "\n\n"):
        assert raw not in out, raw
    assert not re.search(r"\d\d:\d\d:\d\d\.\d+", out)  # no microseconds
    header, *lines = out.splitlines()
    assert re.fullmatch(r"created \((UTC|[A-Z+\-0-9]+)\)", re.search(r"created \([^)]*\)", header)[0])  # type: ignore[index]
    short, pro = lines  # newest first
    assert "Sora 2 Pro" in pro and "—" in pro  # the model's name; blanks where nothing is known
    # The prompt: one line, left-aligned under its header, cut at a word with an ellipsis.
    start = header.index("prompt")
    assert pro[start:].startswith("A lighthouse keeper climbs") and pro.endswith("…")
    assert short[start:] == "short"
    assert "$0.40" in short and "4 s" in short


def test_cut_keeps_words_and_marks_the_cut() -> None:
    assert cut("a b", 10) == "a b"
    assert cut("one two three four five six", 14) == "one two three…"
    assert cut("x" * 30, 10) == "x" * 9 + "…"
    assert cut("漢字" * 20, 10) == "漢字漢字…"  # terminal cells: each of these takes two
    assert cut("line\nbreak\x00", 40) == "line break\\x00"  # one printable line, nothing hidden


def test_spend_shows_each_amount_once_and_json_for_scripts(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hist = History(home)
    hist.add(**TEXT, provider="fal", prompt="a", status="completed", cost_micros=400_000)
    hist.add(**TEXT, provider="fal", prompt="b", status="completed", cost_micros=800_000)
    hist.close()
    assert main(["spend"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header == ["model", "jobs", "completed", "spent"]  # no total/total_usd twice, no empty unknown columns
    assert "Sora 2" in out and "$1.20" in out and "total spent: $1.20" in out
    assert main(["spend", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_usd"] == "1.20" and data["rows"][0]["model"] == "sora2_text_to_video"
    assert data["rows"][0]["total_usd"] == "1.20" and data["rows"][0]["count"] == 2


def test_generate_prints_for_people_and_json_only_when_asked(home: Path) -> None:
    res = run(home, "generate", "sora2_text_to_video", "A paper boat", "--duration", "4", "--keep")
    assert res.returncode == 0, res.stderr
    assert res.stderr.count("provider:") == 1 and "No fal key found" not in res.stderr  # one provider line
    assert "sora2-widgets.invalid" not in res.stdout + res.stderr  # the emulator's internal URL is not for people
    assert "{" not in res.stdout  # no JSON without --json
    assert re.search(r"^#1 Sora 2: completed, \$0\.40 \(simulated, not charged\)$", res.stdout, re.M)
    assert re.search(r"^saved to .*000001_sora2_text_to_video\.mp4$", res.stdout, re.M)
    assert "--source 1" in res.stdout  # kept for remix: says how
    # Progress, off a terminal: one line per stage, on one clock that never goes back (not at the download).
    stages = re.findall(r"^\[\s*([0-9.]+)s\] (.+)$", res.stderr, re.M)
    names = [name for _, name in stages]
    assert names[-2:] == ["downloading", "completed"] and len(names) == len(set(names))
    clock = [float(t) for t, _ in stages]
    assert clock == sorted(clock) and clock[-1] > 0
    assert not ANSI.search(res.stderr)

    as_json = run(home, "generate", "sora2_text_to_video", "A paper boat", "--duration", "4", "--json")
    assert as_json.returncode == 0, as_json.stderr
    (line,) = as_json.stdout.splitlines()
    assert json.loads(line)["simulated"] is True


def test_a_refused_input_is_said_once(home: Path) -> None:
    bad = run(home, "generate", "sora2_text_to_video", "x", "--duration", "5")
    assert bad.returncode == 2
    (line,) = bad.stderr.splitlines()
    assert line.lower().count("invalid input") == 1
    assert line.startswith("Invalid input: duration must be 4, 8, 12, 16 or 20 seconds for Sora 2, got 5")


def test_plain_progress_is_one_line_per_stage() -> None:
    stream = io.StringIO()
    with JobProgress(quiet=False, stream=stream) as progress:
        progress.update("in_queue", position=2)
        progress.update("in_queue", position=1)
        progress.update("in_progress", log="frames 25%")
        progress.update("in_progress", log="frames 50%")
        progress.finish("completed")
    lines = stream.getvalue().splitlines()
    assert [line.split("] ", 1)[1] for line in lines] == ["in queue (position 2)", "in progress", "completed"]
    quiet = io.StringIO()
    with JobProgress(quiet=True, stream=quiet) as progress:
        progress.update("in_queue")
        progress.finish("completed")
    assert quiet.getvalue() == ""


def _read_pty(fd: int, proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the other side closed: the process is gone
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    return b"".join(chunks)


def test_in_a_terminal_a_slow_job_shows_one_live_line_with_a_running_clock(home: Path, tmp_path: Path) -> None:
    # A job that stays "in progress" for 4 s with no new state: the clock must move on its own.
    env = cli_env(home, {"SORA2_WIDGETS_EMULATOR_PROGRESS_TIME": "4", "COLUMNS": "100", "TERM": "xterm"})
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sora2_widgets.cli", "generate", "sora2_text_to_video", "A slow fog", "--duration", "4"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    try:
        screen = _read_pty(leader, proc, timeout=240).decode("utf-8", "replace")
        out, _ = proc.communicate(timeout=120)
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, screen
    frames = [ANSI.sub("", f) for f in re.split(r"\r|\x1b\[2K", screen)]
    clocks = {m[1] for f in frames if (m := re.search(r"(\d:\d\d:\d\d) in progress", f))}
    assert len(clocks) >= 2, frames  # the same stage, redrawn with a later time: a heartbeat
    # One live line, not one printed line per update: the lines that end are few.
    assert screen.count("\n") <= 4, screen
    assert "#1 Sora 2: completed" in out.decode()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_live_line_shows_service_text_as_written_and_nothing_for_an_early_refusal() -> None:
    screen = _Terminal()
    with JobProgress(quiet=False, stream=screen) as progress:
        progress.update("in_progress", log="[simulated] frames [bold]25%[/bold]")
        progress.finish("completed")
    shown = ANSI.sub("", screen.getvalue())
    assert "[simulated] frames [bold]25%[/bold]" in shown  # not taken for Rich markup
    assert "completed" in shown and "starting" not in shown  # the first line is the job's first stage
    refused = _Terminal()
    with JobProgress(quiet=False, stream=refused) as progress:
        progress.update("failed")  # a bad --source: refused before anything started
        progress.finish("failed")
    assert refused.getvalue() == ""


def test_in_process_generate_then_remix_from_the_id_history_gives(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["generate", "sora2_text_to_video", "A red kite", "--duration", "4", "--keep", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("#1 Sora 2: completed, $0.40 (simulated, not charged)\n")
    assert main(["history", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["remixable"] is True
    assert main(["generate", "sora2_video_to_video_remix", "Now at night", "--source", str(row["id"]), "--json"]) == 0
    remix = json.loads(capsys.readouterr().out)
    assert remix["status"] == "completed" and remix["history_id"] == row["id"] + 1


def test_in_process_lab_opens_the_data_folder_copy_and_leaves_the_current_folder_alone(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("jupyterlab")
    started: list[list[str]] = []

    def fake_exec(path: str, cmd: list[str]) -> None:
        started.append(cmd)
        raise SystemExit(0)

    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.setattr(os, "execv", fake_exec)
    with pytest.raises(SystemExit):
        main(["lab", "--no-browser"])
    (cmd,) = started
    work = home / "notebooks"
    assert f"--ServerApp.root_dir={work}" in cmd
    assert "--LabApp.default_url=/lab/tree/01_quickstart.ipynb" in cmd and cmd[-1] == str(work / "01_quickstart.ipynb")
    assert sorted(p.name for p in work.iterdir()) == ["01_quickstart.ipynb", "02_prompt_experiments.ipynb",
                                                      "03_spend_report.ipynb"]  # fmt: skip
    assert list(here.iterdir()) == []
    assert f"Notebooks in {work}" in capsys.readouterr().err


def test_a_narrow_terminal_drops_minor_columns_before_squeezing_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    from sora2_widgets.cli._output import Column, print_table

    monkeypatch.setenv("COLUMNS", "60")
    screen = _Terminal()
    columns = [
        Column("id", "right"),
        Column("created (UTC)", optional=True),
        Column("status"),
        Column("length", "right", optional=True),
        Column("prompt", flexible=True),
    ]
    row = ["12", "2026-12-02 02:49", "completed", "4 s", "A red kite over a grey sea at dawn"]
    print_table(columns, [row], stream=screen)
    shown = ANSI.sub("", screen.getvalue())
    assert "completed" in shown and "12" in shown  # the columns that stay are whole
    assert "length" not in shown and "created" in shown  # the right-most minor column went first
    assert max(len(line) for line in shown.splitlines()) <= 60
