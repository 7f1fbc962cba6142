"""Each live model generates on the emulator, from Python and from the CLI: an MP4 of the right size
and length, and a ledger row priced by the catalog (settled from the video where the price was open)."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator
from tests.catalog.catalog_helpers import mp4_facts, png_data_uri, png_file

REPO = Path(__file__).resolve().parents[2]

# model → (inputs, image (width, height) for the start frame or None, expected (width, height), seconds)
CASES: dict[str, tuple[dict[str, Any], tuple[int, int] | None, tuple[int, int], int]] = {
    "veo31_text_to_video": ({"duration": "4s", "aspect_ratio": "9:16"}, None, (720, 1280), 4),
    "veo31_fast_text_to_video": ({"duration": "4s", "generate_audio": False}, None, (1280, 720), 4),
    "veo31_image_to_video": ({"duration": "4s"}, (160, 90), (1280, 720), 4),  # auto: the image's 16:9
    "veo31_fast_image_to_video": ({"duration": "4s"}, (90, 160), (720, 1280), 4),
    "kling3_standard_text_to_video": ({"duration": "3", "aspect_ratio": "1:1"}, None, (720, 720), 3),
    "kling3_pro_text_to_video": (
        {"multi_prompt": [{"prompt": "a fox", "duration": "2"}, {"prompt": "a hare", "duration": "2"}]},
        None,
        (1920, 1080),
        4,
    ),
    "kling3_standard_image_to_video": ({"duration": "3"}, (90, 160), (720, 1280), 3),
    "kling3_pro_image_to_video": ({"duration": "3"}, (100, 100), (1080, 1080), 3),
    "seedance2_text_to_video": ({"duration": "4", "resolution": "480p", "aspect_ratio": "21:9"}, None, (1120, 480), 4),
    "seedance2_fast_text_to_video": ({"resolution": "480p"}, None, (854, 480), 5),  # auto duration and aspect
    "seedance2_image_to_video": ({"duration": "4", "resolution": "480p"}, (120, 90), (640, 480), 4),
    "seedance2_fast_image_to_video": ({"duration": "4", "aspect_ratio": "9:16"}, (64, 64), (720, 1280), 4),
}


def test_the_cases_cover_every_new_model() -> None:
    assert set(CASES) == {m.id for m in sw.MODELS if m.family in ("veo", "kling", "seedance")} - {
        "kling25_turbo_pro_text_to_video",
        "kling25_turbo_pro_image_to_video",
    }


def _inputs(model_id: str, image: Any) -> dict[str, Any]:
    params, shape, _, _ = CASES[model_id]
    out = {**({} if "multi_prompt" in params else {"prompt": f"a test clip for {model_id}"}), **params}
    if shape is not None:
        out[sw.get_model(model_id).image_fields[0]] = image
    return out


@pytest.mark.parametrize("model_id", list(CASES))
def test_generates_from_python_with_the_right_size_length_and_cost(model_id: str, tmp_path: Path) -> None:
    _, shape, (width, height), seconds = CASES[model_id]
    emu = Emulator(state_dir=tmp_path / "emulator", queue_delay=0.05, progress_time=0.1)
    try:
        with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=sw.History(tmp_path), resume=False) as gen:
            image = png_data_uri(*shape) if shape else None
            g = gen.generate(model_id, **_inputs(model_id, image))
            rec = gen.history.get(g.history_id)  # type: ignore[arg-type]
    finally:
        emu.close()
    assert g.status == "completed", g.error
    w, h, secs = mp4_facts(g.local_path)  # type: ignore[arg-type]
    assert (w, h) == (width, height)
    assert abs(secs - seconds) < 0.1
    # The cost: what the catalog's rule says for the delivered video, inside the estimate.
    assert g.cost is not None and g.estimate is not None
    assert g.estimate.low <= g.cost <= g.estimate.high
    spec = sw.get_model(model_id)
    delivered = sw.VideoResult.parse(model_id, {"video": {"url": "x", "width": w, "height": h, "duration": secs}})
    assert rec.cost == spec.actual_cost(rec.params, delivered)


def test_seedance_auto_is_reported_in_the_result_and_settles_the_cost(tmp_path: Path) -> None:
    emu = Emulator(state_dir=tmp_path / "emulator", queue_delay=0.05, progress_time=0.1)
    try:
        with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=sw.History(tmp_path), resume=False) as gen:
            g = gen.generate("seedance2_fast_text_to_video", prompt="a kite", resolution="480p")
    finally:
        emu.close()
    assert g.result is not None
    assert (g.result.width, g.result.height) == (854, 480) and g.result.duration == pytest.approx(5.0, abs=0.05)
    assert "seed" in g.result.raw
    # 854 × 480 × 5 s × 24 / 1024 tokens at $0.0112 per 1,000; the estimate was a range.
    assert g.cost == (Decimal(854 * 480 * 5 * 24) / 1024 * Decimal("0.0112") / 1000).quantize(Decimal("0.000001"))
    assert g.estimate is not None and not g.estimate.is_exact


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"SORA2_WIDGETS_HOME": str(home), "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "sora2_widgets.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.mark.parametrize("model_id", list(CASES))
def test_generates_from_the_cli_with_the_right_size_and_length(model_id: str, tmp_path: Path) -> None:
    _, shape, (width, height), seconds = CASES[model_id]
    image = str(png_file(tmp_path, *shape)) if shape else None  # a local file: converted like --image
    inputs = {k: v for k, v in _inputs(model_id, image).items() if k != "prompt"}
    if "multi_prompt" in inputs:  # the CLI always takes a prompt: the same 4 s as one shot
        inputs = {"duration": "4"}
    param_file = tmp_path / "inputs.json"
    param_file.write_text(json.dumps(inputs))
    out = tmp_path / "clip.mp4"
    done = _cli(tmp_path / "home", "generate", model_id, "a test clip", "--param-file", str(param_file),
                "--out", str(out), "--json", "--quiet")  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "completed"
    w, h, secs = mp4_facts(out)
    assert (w, h) == (width, height) and abs(secs - seconds) < 0.1
