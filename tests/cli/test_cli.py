"""The shell entry point, run as a user would: a real subprocess on the built-in emulator."""

from __future__ import annotations

import json
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
from cli_helpers import cli_env, run

from tests._secrets import FAL_KEY

SECRET = FAL_KEY


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_help_of_every_subcommand(home: Path) -> None:
    top = run(home, "--help")
    assert top.returncode == 0
    for name in ("generate", "history", "spend", "emulator", "lab"):
        assert name in top.stdout
    for name in ("generate", "history", "spend", "lab"):
        out = run(home, name, "--help")
        assert out.returncode == 0, out.stderr
        assert "usage: sora2-widgets " + name in out.stdout
    emu = run(home, "emulator", "--help")
    assert emu.returncode == 0 and "--port" in emu.stdout and "--fail-submits" in emu.stdout
    gen_help = run(home, "generate", "--help").stdout
    assert "sora2_text_to_video_pro" in gen_help
    for text in (top.stdout, gen_help):  # each code is produced for real in test_exit_codes.py
        for code in (0, 2, 3, 4, 5, 6, 7, 8, 9, 130):
            assert f"\n  {code} " in text, code


def _examples(help_text: str) -> list[str]:
    return [line.strip() for line in help_text.splitlines() if line.startswith("  sora2-widgets ")]


def test_every_example_in_the_help_does_what_it_says(home: Path, tmp_path: Path) -> None:
    from sora2_widgets.cli import parse_args
    from sora2_widgets.emulator._serve import build_parser as emulator_parser

    examples = _examples(run(home, "--help").stdout)
    assert {shlex.split(e)[1] for e in examples} == {"generate", "history", "spend", "emulator", "lab"}
    for name in ("generate", "history", "spend", "lab"):
        own = _examples(run(home, name, "--help").stdout)
        assert own and set(own) <= set(examples), name
    # In the order shown, in a fresh data folder: the remix of "--source 1" is the kite kept before it.
    for example in examples:
        argv = shlex.split(example)[1:]
        if argv[0] == "emulator":  # a server: that its options exist is what the example claims
            assert emulator_parser().parse_args(argv[1:]).port == 8765
            for own in _examples(run(home, "emulator", "--help").stdout):
                assert emulator_parser().parse_args(shlex.split(own)[2:]).port == 8765
        elif argv[0] == "lab":  # started for real in test_lab.py
            assert parse_args(argv).command == "lab"
        else:
            res = run(home, *argv, cwd=tmp_path)
            assert res.returncode == 0, f"{example}\n{res.stderr}"
    assert (tmp_path / "kite.mp4").stat().st_size > 0
    assert "Now at night" in (tmp_path / "history.csv").read_text()


def test_the_emulators_exit_codes_are_the_ones_its_help_lists(home: Path) -> None:
    assert (
        "0 stopped with Ctrl-C, 2 bad usage (nothing started), 3 could not listen"
        in run(home, "emulator", "--help").stdout
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert run(home, "emulator", "--port", str(port)).returncode == 3
    assert run(home, "emulator", "--retired-status", "500").returncode == 2
    proc = subprocess.Popen(
        [sys.executable, "-m", "sora2_widgets.cli", "emulator", "--port", str(port)],
        env=cli_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        assert proc.poll() is None, "the emulator did not start"
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def test_generate_then_history_and_spend(home: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "clips" / "kite.mp4"
    gen = run(
        home,
        "generate",
        "sora2_text_to_video",
        "A red kite over a grey sea",
        "--duration",
        "4",
        "--aspect-ratio",
        "9:16",
        "--keep",
        "--out",
        str(out_file),
        "--json",
    )
    assert gen.returncode == 0, gen.stderr
    assert "emulator" in gen.stderr  # clearly labelled as simulated
    assert "$0.40" in gen.stderr  # the price is shown before anything runs
    summary = json.loads(gen.stdout)
    assert summary["status"] == "completed"
    assert summary["cost_usd"] == "0.40"
    assert summary["video_id"]
    with av.open(str(out_file)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (720, 1280)
    hist = run(home, "history")
    assert hist.returncode == 0, hist.stderr
    assert "Sora 2" in hist.stdout and "completed" in hist.stdout  # the model's name, not its id
    csv_path = tmp_path / "h.csv"
    assert run(home, "history", "--csv", str(csv_path)).returncode == 0
    assert "A red kite over a grey sea" in csv_path.read_text()
    spend = run(home, "spend", "--by", "model")
    assert spend.returncode == 0, spend.stderr
    assert "total spent: $0.40" in spend.stdout

    remix = run(
        home, "generate", "sora2_video_to_video_remix", "Now at night", "--source", str(summary["history_id"]), "--json"
    )
    assert remix.returncode == 0, remix.stderr
    assert json.loads(remix.stdout)["cost_usd"] == "0.40"  # priced from the 4 s source


def test_invalid_input_exits_2_and_records_nothing(home: Path) -> None:
    bad = run(home, "generate", "sora2_text_to_video", "x", "--duration", "5")
    assert bad.returncode == 2
    assert "duration must be 4, 8, 12, 16 or 20 seconds for Sora 2, got 5" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert "No generations yet." in run(home, "history").stdout


def test_unknown_model_exits_2_with_the_valid_ids(home: Path) -> None:
    bad = run(home, "generate", "sora3", "x")
    assert bad.returncode == 2
    assert "sora2_text_to_video" in bad.stderr


def test_over_budget_exits_4_before_sending(home: Path) -> None:
    res = run(home, "generate", "sora2_text_to_video_pro", "x", "--duration", "20", "--budget", "1")
    assert res.returncode == 4
    assert "$10.00" in res.stderr and "Nothing was sent" in res.stderr
    assert "No generations yet." in run(home, "history").stdout


def test_the_key_never_reaches_the_output(home: Path) -> None:
    # A key is set, so the client talks to "fal" — pointed at an unreachable loopback port, it must
    # fail without echoing the key.
    res = run(
        home,
        "generate",
        "sora2_text_to_video",
        "x",
        env={"FAL_KEY": SECRET, "SORA2_WIDGETS_QUEUE_URL": "http://127.0.0.1:9"},
    )
    assert SECRET not in res.stdout + res.stderr
    assert res.returncode == 6, res.stderr  # the service could not be reached
    assert "Service error" in res.stderr and "could not connect" in res.stderr
    assert "Traceback" not in res.stderr


def test_a_local_image_file_is_sent_as_the_start_frame(home: Path, tmp_path: Path) -> None:
    from PIL import Image

    frame = tmp_path / "portrait.png"
    Image.new("RGB", (360, 640), (200, 40, 40)).save(frame)
    res = run(home, "generate", "sora2_image_to_video", "It starts to rain", "--image", str(frame), "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["status"] == "completed"
    with av.open(out["local_path"]) as container:
        stream = container.streams.video[0]
        # auto aspect ratio follows the image: portrait in, portrait out
        assert stream.codec_context.height > stream.codec_context.width
    bad = run(home, "generate", "sora2_image_to_video", "x", "--image", str(tmp_path / "missing.png"))
    assert bad.returncode == 2 and "image_url" in bad.stderr


def test_unknown_submits_are_listed_and_reported_as_possibly_charged(home: Path) -> None:
    from sora2_widgets import History

    hist = History(home)
    common = {"model_id": "sora2_text_to_video", "endpoint": "fal-ai/sora-2/text-to-video", "mode": "text"}
    hist.add(**common, provider="fal", prompt="paid", status="completed", cost_micros=400_000)
    hist.add(
        **common,
        provider="fal",
        prompt="answer lost",
        status="unknown",
        error="submit outcome unknown: connection reset after sending",
        est_high_micros=800_000,
    )
    hist.close()
    listed = run(home, "history", "--status", "unknown")
    assert listed.returncode == 0, listed.stderr
    assert "answer lost" in listed.stdout and "paid" not in listed.stdout
    spend = run(home, "spend")
    assert spend.returncode == 0, spend.stderr
    assert "total spent: $0.40" in spend.stdout  # not counted as spent…
    assert "possibly charged (submit outcome unknown, see history --status unknown): up to $0.80" in spend.stdout
