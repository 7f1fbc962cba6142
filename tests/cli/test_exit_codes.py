"""Every documented exit code of ``sora2-widgets generate``, each from a real failure a script can meet.

The fal side is the emulator on a real loopback socket (``running_emulator``, as in the emulator and
reliability suites), reached through ``SORA2_WIDGETS_QUEUE_URL`` with a key, so the CLI speaks to it
exactly as it would to fal.ai.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import av
import pytest
from cli_helpers import cli_env, run

from sora2_widgets.emulator import Emulator, running_emulator

KEY = "fal-key-the-emulator-accepts-0123"
WRONG_KEY = "fal-key-the-emulator-refuses-4567"


@pytest.fixture(scope="module")
def fal_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A keyed emulator on 127.0.0.1 on which Sora 2 text-to-video is retired (as OpenAI did)."""
    state = tmp_path_factory.mktemp("fal-emulator")
    emu = Emulator(
        state_dir=state, queue_delay=0.05, progress_time=0.1, require_key=KEY, retired=["sora2_text_to_video"]
    )
    try:
        with running_emulator(emu) as base_url:
            yield base_url
    finally:
        emu.close()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_a_refused_key_exits_3(home: Path, fal_url: str) -> None:
    res = run(
        home,
        "generate",
        "kling25_turbo_pro_text_to_video",
        "Waves at dusk",
        env={"FAL_KEY": WRONG_KEY, "SORA2_WIDGETS_QUEUE_URL": fal_url},
    )
    assert res.returncode == 3, res.stderr
    assert "provider: fal.ai" in res.stderr
    assert "Authentication failed" in res.stderr and "Traceback" not in res.stderr
    assert WRONG_KEY not in res.stdout + res.stderr
    # The right key on the same service works: it really was the key.
    ok = run(
        home,
        "generate",
        "kling25_turbo_pro_text_to_video",
        "Waves at dusk",
        "--json",
        env={"FAL_KEY": KEY, "SORA2_WIDGETS_QUEUE_URL": fal_url},
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["error"] is None


def test_a_retired_model_exits_5_and_costs_nothing(home: Path, fal_url: str) -> None:
    res = run(
        home, "generate", "sora2_text_to_video", "A red kite", env={"FAL_KEY": KEY, "SORA2_WIDGETS_QUEUE_URL": fal_url}
    )
    assert res.returncode == 5, res.stderr
    assert "no longer available" in res.stderr and "Traceback" not in res.stderr
    hist = run(home, "history")
    assert "unavailable" in hist.stdout
    assert "total spent: $0.00" in run(home, "spend").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "duration"], "argument --param: takes KEY=VALUE such as duration=8, got 'duration'"),
        (["--budget", "ten"], "argument --budget: must be an amount in USD such as 25, 12.50 or $12.50, got 'ten'"),
        (["--budget", "-1"], "argument --budget: must be 0 or more, got '-1'"),
        (["--budget", "NaN"], "argument --budget: must be a finite amount in USD, got 'NaN'"),
        (["--budget", "1,500"], "argument --budget: must be written with digits and a decimal point only"),
        (["--duration", "5"], "duration must be 4, 8, 12, 16 or 20 seconds for Sora 2, got 5"),
        # issue 16, class 1: never silently the default 4 s.
        (["--duration", "null"], "argument --duration: takes a number of seconds (4, 8, 12, 16 or 20 for Sora"),
        (["--duration", ""], "argument --duration: takes a number of seconds"),
        (["--param", "duration=null"], "argument --param: duration=null is not a value; leave the option out"),
        (["--param", "duration=NaN"], "argument --param: duration= takes a finite number, got 'NaN'"),
        (["--param", "character_ids=[1"], "argument --param: character_ids= is not valid JSON"),
        (["--param", "duration=8.5"], "duration must be 4, 8, 12, 16 or 20 seconds for Sora 2, got 8.5"),
        (["--param", "duration=true"], "duration must be 4, 8, 12, 16 or 20 seconds for Sora 2, got True"),
        (["--param", 'duration="8"'], "duration must be 4, 8, 12, 16 or 20 seconds for Sora 2, got '8'"),
        (
            ["--duration", "4", "--param", "duration=8"],
            "duration is given twice (--duration and --param); give it once",
        ),
        (["--param", "prompt=y"], "prompt is given twice (the prompt argument and --param); give it once"),
        (["--source", "1.9"], "argument --source: takes the id of a row of the history (1, 2, …), got '1.9'"),
        (["--source", "true"], "argument --source: takes the id of a row of the history"),
        (["--param", "api_key="], "api_key is empty: leave it out to be billed through fal, or give the whole key"),
        (["--param", "seed=1"], "seed: is not a setting of Sora 2"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["--frob\nnicate"], "unrecognized arguments: --frob\\nnicate"),
    ],
)
def test_invalid_input_exits_2_before_anything_is_sent(home: Path, args: list[str], message: str) -> None:
    res = run(home, "generate", "sora2_text_to_video", "x", *args)
    assert res.returncode == 2, res.stderr
    assert message in res.stderr and "Traceback" not in res.stderr
    assert message in res.stderr.strip().splitlines()[-1]  # one line, the last one
    assert "No generations yet." in run(home, "history").stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SORA2_WIDGETS_BUDGET": "abc"}, "SORA2_WIDGETS_BUDGET must be an amount in USD such as 25, 12.50 or $12.50"),
        ({"SORA2_WIDGETS_BUDGET": "-1"}, "SORA2_WIDGETS_BUDGET must be 0 or more, got '-1'"),
        ({"SORA2_WIDGETS_BUDGET": "Infinity"}, "SORA2_WIDGETS_BUDGET must be a finite amount in USD"),
        ({"FAL_KEY": "key with spaces"}, "FAL_KEY contains a character a fal key cannot have"),
    ],
)
def test_a_configuration_error_exits_9_before_anything_is_sent(home: Path, env: dict[str, str], message: str) -> None:
    res = run(home, "generate", "sora2_text_to_video", "x", env=env)
    assert res.returncode == 9, res.stderr
    assert res.stderr.strip() == f"Configuration error: {message}" or message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert "No generations yet." in run(home, "history").stdout
    # --budget on the command line stands in for the variable, and is read by the same parser.
    if "SORA2_WIDGETS_BUDGET" in env:
        ok = run(home, "generate", "sora2_text_to_video", "x", "--budget", "$1", "--json", env=env)
        assert ok.returncode == 0, ok.stderr


def test_an_out_path_that_cannot_be_written_is_refused_before_sending(home: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file where --out expects a folder")
    for out, message in ((blocker / "kite.mp4", "is a file, not a folder"), (tmp_path, "is a folder")):
        res = run(home, "generate", "sora2_text_to_video", "x", "--duration", "4", "--out", str(out))
        assert res.returncode == 2, res.stderr
        assert message in res.stderr and "Nothing was sent" in res.stderr and "Traceback" not in res.stderr
    assert "No generations yet." in run(home, "history").stdout


def test_a_video_made_but_not_saved_exits_8_and_stays_in_the_history(home: Path, tmp_path: Path) -> None:
    # The media folder cannot be created (a file has its name): the job completes and is paid
    # for, the download has nowhere to go. Root ignores permission bits, so this is how to make
    # the disk refuse here.
    home.mkdir()
    (home / "media").write_text("not a folder")
    out_file = tmp_path / "kite.mp4"
    res = run(
        home, "generate", "sora2_text_to_video", "A red kite", "--duration", "4", "--out", str(out_file), "--json"
    )
    assert res.returncode == 8, res.stderr
    assert "Traceback" not in res.stderr
    summary = json.loads(res.stdout)
    assert summary["status"] == "completed" and summary["cost_usd"] == "0.40"
    assert summary["local_path"] is None and "cannot write to the media folder" in summary["error"]
    assert f"Not saved: generation #{summary['history_id']} completed ($0.40) and is in the history" in res.stderr
    assert "sw.Generator().resume()" in res.stderr
    assert not out_file.exists()
    hist = run(home, "history")
    assert "completed" in hist.stdout  # nothing already generated is lost: the row keeps the URL


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a disk that is always full)")
def test_a_copy_to_out_that_fails_exits_8_with_a_plain_message(home: Path) -> None:
    res = run(home, "generate", "sora2_text_to_video", "A red kite", "--duration", "4", "--out", "/dev/full", "--json")
    assert res.returncode == 8, res.stderr
    assert "Traceback" not in res.stderr
    assert "could not copy the video to /dev/full: No space left on device" in res.stderr
    summary = json.loads(res.stdout)
    assert summary["error"].startswith("could not copy the video to /dev/full")
    # The copy in the data folder is intact, and the message says where it is.
    assert f"the saved copy is {summary['local_path']}" in res.stderr
    with av.open(summary["local_path"]) as container:
        assert container.streams.video[0].codec_context.width == 1280


def test_history_csv_that_cannot_be_written_exits_8(home: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("x")
    res = run(home, "history", "--csv", str(blocker / "h.csv"))
    assert res.returncode == 8, res.stderr
    assert res.stderr.startswith("Not saved: could not write") and "Traceback" not in res.stderr
    made = run(home, "history", "--csv", str(tmp_path / "new" / "folder" / "h.csv"))
    assert made.returncode == 0, made.stderr  # missing folders are created, as for --out


def test_spend_since_a_bad_date_exits_2(home: Path) -> None:
    res = run(home, "spend", "--since", "last week")
    assert res.returncode == 2
    assert "argument --since: a date as YYYY-MM-DD, got 'last week'" in res.stderr and "Traceback" not in res.stderr


def test_ctrl_c_while_waiting_exits_130_and_cancels_the_queued_job(home: Path) -> None:
    slow = {"SORA2_WIDGETS_EMULATOR_QUEUE_DELAY": "600"}  # the job sits in the queue until we interrupt
    proc = subprocess.Popen(
        [sys.executable, "-m", "sora2_widgets.cli", "generate", "sora2_text_to_video", "A kite at night"],
        env=cli_env(home, slow),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        seen = ""
        deadline = time.monotonic() + 120
        while "in queue" not in seen and time.monotonic() < deadline and proc.poll() is None:
            seen += proc.stderr.readline()
        assert "in queue" in seen, seen
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == 130, err
    # Ctrl-C means "stop": a job still queued is cancelled on the service (nothing charged), and
    # the ledger says so before the process is gone.
    assert "interrupted: generation #1 was cancelled on the service." in err and "Traceback" not in err
    assert "cancelled" in run(home, "history").stdout


def test_every_error_class_of_the_package_has_a_documented_exit_code() -> None:
    import re

    import sora2_widgets as sw
    from sora2_widgets.cli import EXIT_CODES_HELP, exit_code_for

    documented = {int(code) for code in re.findall(r"^  (\d+) ", EXIT_CODES_HELP, re.MULTILINE)}
    classes = [getattr(sw, name) for name in sw.__all__]
    errors = [c for c in classes if isinstance(c, type) and issubclass(c, sw.Sora2Error) and c is not sw.Sora2Error]
    assert sw.ConfigError in errors and len(errors) >= 11
    for kind in errors:
        error = kind.__new__(kind)  # the code depends on the class alone
        assert exit_code_for(error) in documented, kind.__name__
    assert exit_code_for(sw.ConfigError("SORA2_WIDGETS_BUDGET", "must be 0 or more")) == 9
    # Each class of failure a script branches on has a code of its own.
    codes = {exit_code_for(kind.__new__(kind)) for kind in errors}
    assert exit_code_for(sw.LedgerError("history.sqlite3", "damaged")) == 10
    assert {2, 3, 4, 5, 6, 7, 9, 10} <= codes
