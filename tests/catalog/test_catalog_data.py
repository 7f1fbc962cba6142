"""The catalog is data: a new model is one file; the README's table and `sora2-widgets models` follow it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import sora2_widgets as sw
from sora2_widgets.catalog import parse_entry
from tools import models_table

REPO = Path(__file__).resolve().parents[2]

#: A model the package does not ship, written as its data file only (what a user or a refresh adds).
NEW_ENTRY = {
    "id": "acme_clip_text_to_video",
    "name": "Acme Clip",
    "description": "A made-up model: added by writing this file, no code.",
    "endpoint": "acme/clip/text-to-video",
    "family": "acme",
    "mode": "text",
    "order": 99,
    "checked": "2026-12-02",
    "price": {"kind": "flat", "usd": "0.25", "source": "https://fal.ai/models/acme/clip/text-to-video"},
    "input": {
        "type": "object",
        "properties": {
            "prompt": {"type": "string", "maxLength": 300},
            "duration": {"type": "string", "enum": ["3s", "6s"], "default": "3s"},
            "aspect_ratio": {"type": "string", "enum": ["16:9", "1:1"], "default": "16:9"},
        },
        "required": ["prompt"],
    },
    "output": {"shape": "file", "resolution": "720p", "sizes": {"720p": {"16:9": [640, 360], "1:1": [360, 360]}}},
}

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import av
    import sora2_widgets as sw
    from sora2_widgets.emulator import Emulator
    from sora2_widgets.panel import PanelController

    out = {}
    spec = sw.get_model("acme_clip_text_to_video")
    try:
        sw.validate_input(spec.id, prompt="x" * 301)
    except sw.ValidationError as exc:
        out["too_long"] = str(exc)
    try:
        sw.validate_input(spec.id, prompt="a kite", duration="4s")
    except sw.ValidationError as exc:
        out["bad_duration"] = str(exc)
    out["price"] = str(sw.estimate_cost(spec.id, duration="6s"))
    home = sys.argv[1]
    ctl = PanelController(None, sw.History(home), budget="10", generator_factory=lambda key: None)
    try:
        out["panel_models"] = [m.id for m in ctl.models]
        ctl.select(["acme_clip_text_to_video"])
        out["panel_cost"] = ctl.cost_lines()
    finally:
        ctl.close()
    emu = Emulator(state_dir=home + "/emulator", queue_delay=0.05, progress_time=0.1)
    try:
        with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=sw.History(home), resume=False) as gen:
            g = gen.generate(spec.id, prompt="a kite", duration="6s", aspect_ratio="1:1")
    finally:
        emu.close()
    with av.open(g.local_path) as box:
        v = box.streams.video[0]
        out["video"] = [v.codec_context.width, v.codec_context.height, float(v.duration * v.time_base)]
    out["cost"] = str(g.cost)
    print(json.dumps(out))
    """
)


def test_a_new_model_is_one_data_file_and_no_code(tmp_path: Path) -> None:
    folder = tmp_path / "catalog"
    folder.mkdir()
    (folder / "acme_clip_text_to_video.json").write_text(json.dumps(NEW_ENTRY))
    env = {"SORA2_WIDGETS_HOME": str(tmp_path / "home"), "SORA2_WIDGETS_CATALOG_DIR": str(folder),
           "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "home")], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert "prompt is 301 characters; Acme Clip accepts at most 300" in out["too_long"]
    assert "duration must be 3s or 6s for Acme Clip, got '4s'" in out["bad_duration"]
    assert out["price"] == "$0.25"
    assert "acme_clip_text_to_video" in out["panel_models"]
    assert any("$0.25" in line for line in out["panel_cost"])
    assert out["video"][:2] == [360, 360] and abs(out["video"][2] - 6) < 0.1
    assert out["cost"] == "0.25"
    # The CLI lists it too.
    listed = subprocess.run(
        [sys.executable, "-m", "sora2_widgets.cli", "models", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert "acme_clip_text_to_video" in {m["id"] for m in json.loads(listed.stdout)}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"mode": "audio"}, "mode must be text, image, remix"),
        ({"id": "Acme-Clip"}, "id must be lower case letters"),
        ({"price": {"kind": "per_frame", "source": "https://fal.ai/models/x"}}, "price kind must be per_second"),
        ({"checked": "yesterday"}, "checked must be a date"),
        ({"endpoint": "clip"}, "endpoint must be owner/app"),
    ],
)
def test_a_broken_data_file_is_refused_naming_the_file_and_the_key(change: dict[str, object], words: str) -> None:
    from sora2_widgets._catalog import ModelSpec

    with pytest.raises(ValueError, match=words) as info:
        ModelSpec.from_entry(parse_entry({**NEW_ENTRY, **change}, "acme.json"))
    assert str(info.value).startswith("acme.json")


def test_every_shipped_entry_records_its_sources_dates_and_price_source() -> None:
    for spec in sw.MODELS:
        entry = spec.entry
        assert entry.sources and entry.checked == "2026-12-01" and entry.price_checked
        assert spec.price_source.startswith("https://fal.ai/models/" + spec.endpoint)
        assert (spec.retired == "2026-09-24") == spec.is_sora
        for name, why in spec.to_confirm.items():
            assert why, name


def test_the_readme_models_table_is_the_catalog() -> None:
    readme = models_table.README.read_text(encoding="utf-8")
    assert models_table.with_table(readme) == readme, "run: python tools/models_table.py"
    for spec in sw.MODELS:
        assert f"| `{spec.id}` | `{spec.endpoint}` |" in readme


def test_models_command_lists_every_model_with_its_price_status_and_date(tmp_path: Path) -> None:
    env = {"SORA2_WIDGETS_HOME": str(tmp_path), "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-m", "sora2_widgets.cli", "models"]
    plain = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120)
    assert plain.returncode == 0, plain.stderr
    header, *rows = plain.stdout.splitlines()
    assert header.split() == ["id", "endpoint", "mode", "price", "status", "checked"]
    assert len(rows) == len(sw.MODELS)
    veo = next(r for r in rows if r.startswith("veo31_text_to_video "))
    assert "fal-ai/veo3.1" in veo and "$0.40/s with audio" in veo and "new" in veo and "2026-12-01" in veo
    assert "retired 2026-09-24" in next(r for r in rows if r.startswith("sora2_text_to_video "))
    as_json = subprocess.run([*run, "--json"], capture_output=True, text=True, env=env, timeout=120)
    facts = {m["id"]: m for m in json.loads(as_json.stdout)}
    assert facts["kling3_pro_text_to_video"]["price_unconfirmed"] is True
    assert facts["seedance2_text_to_video"]["endpoint"] == "bytedance/seedance-2.0/text-to-video"
    assert facts["sora2_text_to_video"]["status"] == "retired 2026-09-24"


def test_importing_the_package_and_its_cli_builds_no_input_model(tmp_path: Path) -> None:
    # The pydantic models are built from the schemas on first use: an import (the CLI's start
    # included) reads the data files only.
    code = (
        "import sora2_widgets, sora2_widgets.cli; from sora2_widgets.catalog import _build; print(len(_build._BUILT))"
    )
    env = {"SORA2_WIDGETS_HOME": str(tmp_path), "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"
    for spec in sw.MODELS:  # what the CLI reads without building agrees with the built model
        assert spec.secret_fields == spec.input_model.SECRET_FIELDS


def test_a_retired_sora_model_points_to_one_of_today_s_models_of_its_mode_and_tier() -> None:
    # Sora 2 Pro's like-for-like is a Pro model people use now (Kling 3.0 Pro), not Kling 2.5 Turbo
    # Pro, a 2025 model; plain Sora 2's is Veo 3.1. The suggestion is what `models` and the refusal say.
    assert sw.get_model("sora2_text_to_video").suggested == "veo31_text_to_video"
    assert sw.get_model("sora2_text_to_video_pro").suggested == "kling3_pro_text_to_video"
    assert sw.get_model("sora2_image_to_video_pro").suggested == "kling3_pro_image_to_video"
    for spec in sw.MODELS:
        if spec.retired and spec.suggested:
            instead = sw.get_model(spec.suggested)
            assert instead.mode == spec.mode and not instead.retired and instead.status == "new", spec.id
