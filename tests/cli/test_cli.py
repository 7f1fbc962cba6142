"""The shell entry point, run as a user would: a real subprocess on the built-in emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av
import pytest

from tests._secrets import FAL_KEY

SECRET = FAL_KEY


def run(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FAL_KEY")}
    base.update({"SORA2_WIDGETS_HOME": str(home), "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "sora2_widgets.cli", *args],
        capture_output=True,
        text=True,
        env=base,
        timeout=180,
    )


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
    assert "sora2_text_to_video_pro" in gen_help and "exit" in gen_help.lower()


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
    assert "sora2_text_to_video" in hist.stdout and "completed" in hist.stdout
    csv_path = tmp_path / "h.csv"
    assert run(home, "history", "--csv", str(csv_path)).returncode == 0
    assert "A red kite over a grey sea" in csv_path.read_text()
    spend = run(home, "spend", "--by", "model")
    assert spend.returncode == 0, spend.stderr
    assert "total spent: $0.40" in spend.stdout

    remix = run(home, "generate", "sora2_video_to_video_remix", "Now at night", "--source", str(summary["history_id"]))
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
