"""``sora2-widgets sweep --image``: one start frame for every job, under each model's own field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import run
from test_sweep_cli import prompts as prompts  # the fixture (two prompts), used by name
from test_sweep_cli import rows_in

import sora2_widgets as sw
from sora2_widgets.emulator._storage import Storage

VEO = "veo31_fast_image_to_video"
KLING3 = "kling3_standard_image_to_video"


@pytest.fixture()
def still(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "start.png"
    Image.new("RGB", (1280, 720), (10, 120, 200)).save(path)
    return path


def _sent(home: Path) -> list[tuple[str, dict[str, object]]]:
    with sw.History(home) as history:
        return [(r.model_id, dict(r.params)) for r in history.records()]


def test_every_job_gets_the_image_under_its_models_start_frame_field(
    tmp_path: Path, prompts: Path, still: Path
) -> None:
    home = tmp_path / "home"
    done = run(home, "sweep", str(prompts), "--models", f"{VEO},{KLING3}", "--image", str(still), "--yes", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [r["status"] for r in report["results"]] == ["completed"] * 4
    # The plan names the file given, under the field each model takes.
    assert {(r["model_id"], r["image_url"] or r["start_image_url"]) for r in report["plan"]} == {
        (VEO, str(still)),
        (KLING3, str(still)),
    }
    sent = _sent(home)
    assert sorted(model for model, _ in sent) == [KLING3, KLING3, VEO, VEO]
    storage = Storage(home / "emulator" / "storage")
    for model, params in sent:
        field, other = ("start_image_url", "image_url") if model == KLING3 else ("image_url", "start_image_url")
        assert other not in params, (model, params)
        # The emulator's storage holds the very bytes of the file under the URL the job was sent.
        found, stored = storage.from_url(str(params[field]))
        assert found and stored is not None, params[field]
        assert storage.path_of(stored).read_bytes() == still.read_bytes()


@pytest.mark.parametrize(
    ("models", "image", "words"),
    [
        (f"{VEO},kling3_standard_text_to_video", "start.png", "kling3_standard_text_to_video takes no image"),
        (VEO, "missing.png", "--image: image file 'missing.png' does not exist"),
        (VEO, "prompts.txt", "--image: image file 'prompts.txt' is not a readable image"),
    ],
)
def test_bad_image_input_is_refused_in_one_line_with_nothing_sent(
    tmp_path: Path, prompts: Path, still: Path, models: str, image: str, words: str
) -> None:
    home = tmp_path / "home"
    done = run(home, "sweep", str(prompts), "--models", models, "--image", str(tmp_path / image), "--yes")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--image" in done.stderr and words in done.stderr, done.stderr
    assert done.stdout == ""
    assert rows_in(home) == 0
    assert not (home / "emulator" / "storage" / "files").exists() or not any(
        (home / "emulator" / "storage" / "files").iterdir()
    )
