"""The emulator's fault and Platform switches from the command line (issue 17): a person starts a
misbehaving emulator in a terminal and tries recovery by hand with ``sora2-widgets reconcile``."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from cli_helpers import cli_env, run

from sora2_widgets.cli import main as cli_main
from sora2_widgets.emulator import Emulator, _serve

REQUEST_ID = "0b6f3c9e-6a43-4d55-9d0e-8f1f7f2b9a10"


def test_the_flags_set_the_switches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Emulator] = []
    monkeypatch.setattr(_serve, "serve", lambda *a, emulator, **k: made.append(emulator))
    argv = [
        "emulator", "--state-dir", str(tmp_path / "state"),
        "--drop-submit-answers", "3", "--fail-submits", "1", "--drop-streams", "2", "--drop-stream-after", "4",
        "--retire", "kling25_turbo_pro_text_to_video",
        "--billed-cost", f"{REQUEST_ID.upper()}=0.5",
        "--enum-change", "sora2_text_to_video:duration=4,8", "--enum-change", "veo31_text_to_video:duration=4s",
        "--gone", "sora2_video_to_video_remix",
    ]  # fmt: skip
    assert cli_main(argv) == 0
    emu = made[0]
    assert emu.faults.drop_submit_answers == 3 and emu.faults.fail_submits == 1
    assert (emu.faults.drop_streams, emu.faults.drop_stream_after) == (2, 4)
    assert emu.faults.retired == {"fal-ai/kling-video/v2.5-turbo/pro/text-to-video"}
    assert emu.platform.billed_costs == {REQUEST_ID: Decimal("0.5")}
    assert emu.platform.enum_changes == {
        "fal-ai/sora-2/text-to-video": {"duration": (4, 8)},  # numbers stay numbers,
        "fal-ai/veo3.1": {"duration": ("4s",)},  # Veo's "4s" stays text
    }
    assert emu.platform.gone == {"fal-ai/sora-2/video-to-video/remix"}


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--drop-submit-answers", "-1"),
        ("--drop-submit-answers", "1.5"),
        ("--drop-stream-after", "0"),
        ("--retire", "no-such-model"),
        ("--gone", "no-such-model"),
        ("--deprecate", "no-such-model"),
        ("--price-change", "no-such-model=0.1"),
        ("--billed-price", "sora2_text_to_video=-0.1"),
        ("--billed-cost", "not-a-request-id=0.5"),
        ("--billed-cost", f"{REQUEST_ID}=nan"),
        ("--enum-change", "sora2_text_to_video=4,8"),
        ("--enum-change", "sora2_text_to_video:no_field=4,8"),
        ("--enum-change", "sora2_text_to_video:duration="),
    ],
)
def test_a_bad_value_is_one_line_naming_the_flag(
    flag: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    with pytest.raises(SystemExit) as refused:
        cli_main(["emulator", "--state-dir", str(state), flag, value])
    assert refused.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and f"argument {flag}: " in errors[0], errors
    assert "Traceback" not in errors[0]
    assert not state.exists(), "nothing started"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_lost_submit_tried_by_hand_is_recovered(tmp_path: Path) -> None:
    home, port = tmp_path / "home", _free_port()
    emulator = [
        sys.executable, "-m", "sora2_widgets.cli", "emulator", "--port", str(port), "--state-dir",
        str(tmp_path / "state"), "--queue-delay", "0", "--progress-time", "0.2", "--drop-submit-answers", "1",
        "--log-level", "critical",
    ]  # fmt: skip
    proc = subprocess.Popen(emulator, env=cli_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # What the emulator prints to paste before the CLI is what this user pastes.
        assert proc.stdout is not None
        env: dict[str, str] = {}
        for line in proc.stdout:
            if "SORA2_WIDGETS_QUEUE_URL=" in line:
                words = line.split()
                env = dict(w.split("=", 1) for w in words[: words.index("sora2-widgets")])
                break
        assert env.get("SORA2_WIDGETS_QUEUE_URL") == f"http://127.0.0.1:{port}", "no CLI line was printed"
        deadline = time.monotonic() + 120
        while proc.poll() is None:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "the emulator did not start"
            time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        gen = run(home, "generate", "veo31_fast_text_to_video", "a kite over dunes", "--duration", "4s", env=env)
        assert gen.returncode != 0 and "Submit outcome unknown" in gen.stderr, gen.stderr
        assert " unknown " in run(home, "history", env=env).stdout
        fixed = run(home, "reconcile", "--settle", "0", env=env)
        assert fixed.returncode == 0, fixed.stderr
        assert "1 found on fal and finished" in fixed.stdout
        after = run(home, "history", env=env).stdout
        assert " completed " in after and " unknown " not in after and "$0.60" in after
    finally:
        proc.terminate()
        proc.wait(timeout=60)
