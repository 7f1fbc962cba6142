"""Bad inputs for the live families: refused before any request, in one sentence naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator

IMG = "https://example.com/frame.png"
BASE: dict[str, dict[str, Any]] = {
    "veo31_text_to_video": {"prompt": "a lighthouse"},
    "veo31_fast_text_to_video": {"prompt": "a lighthouse"},
    "veo31_image_to_video": {"prompt": "waves", "image_url": IMG},
    "veo31_fast_image_to_video": {"prompt": "waves", "image_url": IMG},
    "kling3_standard_text_to_video": {"prompt": "a lighthouse"},
    "kling3_pro_text_to_video": {"prompt": "a lighthouse"},
    "kling3_standard_image_to_video": {"prompt": "waves", "start_image_url": IMG},
    "kling3_pro_image_to_video": {"prompt": "waves", "start_image_url": IMG},
    "seedance2_text_to_video": {"prompt": "a lighthouse"},
    "seedance2_fast_text_to_video": {"prompt": "a lighthouse"},
    "seedance2_image_to_video": {"prompt": "waves", "image_url": IMG},
    "seedance2_fast_image_to_video": {"prompt": "waves", "image_url": IMG},
}
SHOT = {"prompt": "a shot", "duration": "5"}

# (model, what is changed (None: removed), the field the error names, words the sentence contains)
REFUSED: list[tuple[str, dict[str, Any], str, str]] = [
    # Veo: durations are text with their unit.
    ("veo31_text_to_video", {"duration": 8}, "duration", "duration must be 4s, 6s or 8s (text, with the quotes)"),
    ("veo31_fast_text_to_video", {"duration": "8"}, "duration", "must be 4s, 6s or 8s for Veo 3.1 Fast, got '8'"),
    ("veo31_image_to_video", {"duration": "10s"}, "duration", "got '10s'"),
    ("veo31_text_to_video", {"resolution": "480p"}, "resolution", "resolution must be 720p, 1080p or 4k"),
    ("veo31_text_to_video", {"aspect_ratio": "auto"}, "aspect_ratio", "aspect_ratio must be 16:9 or 9:16"),
    ("veo31_image_to_video", {"aspect_ratio": "1:1"}, "aspect_ratio", "must be auto, 16:9 or 9:16"),
    ("veo31_text_to_video", {"safety_tolerance": 4}, "safety_tolerance", "must be 1, 2, 3, 4, 5 or 6"),
    ("veo31_text_to_video", {"generate_audio": "yes"}, "generate_audio", "generate_audio must be True or False"),
    ("veo31_fast_text_to_video", {"seed": 1.5}, "seed", "seed takes a whole number, got 1.5"),
    ("veo31_image_to_video", {"image_url": None}, "image_url", "is required by Veo 3.1 (image)"),
    ("veo31_fast_image_to_video", {"image_url": "frame.png"}, "image_url", "http(s) URL or a data: URI"),
    ("veo31_text_to_video", {"cfg_scale": 0.5}, "cfg_scale", "is not an input of Veo 3.1"),
    # Kling 3.0: "5" not "5s", start_image_url not image_url, no aspect ratio from an image.
    ("kling3_standard_text_to_video", {"duration": "8s"}, "duration", "must be 3, 4, 5, 6, 7, 8"),
    ("kling3_pro_text_to_video", {"duration": "2"}, "duration", "seconds for Kling 3.0 Pro, got '2'"),
    ("kling3_standard_text_to_video", {"duration": 16}, "duration", "got '16'"),
    (
        "kling3_standard_image_to_video",
        {"image_url": IMG},
        "image_url",
        "is not an input of Kling 3.0 Standard (image)",
    ),
    ("kling3_pro_image_to_video", {"start_image_url": None}, "start_image_url", "is required by"),
    ("kling3_pro_image_to_video", {"aspect_ratio": "16:9"}, "aspect_ratio", "is not an input of Kling 3.0 Pro (image)"),
    ("kling3_standard_text_to_video", {"aspect_ratio": "4:3"}, "aspect_ratio", "16:9, 9:16 or 1:1"),
    ("kling3_standard_text_to_video", {"resolution": "1080p"}, "resolution", "is not an input"),
    ("kling3_pro_text_to_video", {"seed": 3}, "seed", "is not an input of Kling 3.0 Pro"),
    ("kling3_standard_text_to_video", {"cfg_scale": 2}, "cfg_scale", "less than or equal to 1"),
    (
        "kling3_standard_text_to_video",
        {"multi_prompt": [SHOT]},
        "multi_prompt",
        "multi_prompt cannot be given together with prompt for Kling 3.0 Standard; give one of them",
    ),
    ("kling3_pro_text_to_video", {"prompt": None}, "prompt", "prompt is required by Kling 3.0 Pro (or multi_prompt)"),
    (
        "kling3_pro_image_to_video",
        {"prompt": None, "multi_prompt": [SHOT] * 7},
        "multi_prompt",
        "multi_prompt takes 1 to 6 items for Kling 3.0 Pro (image), got 7",
    ),
    (
        "kling3_standard_text_to_video",
        {"prompt": None, "multi_prompt": [SHOT, SHOT, {"prompt": "c", "duration": "6"}]},
        "multi_prompt",
        "multi_prompt adds up to 16 seconds; Kling 3.0 Standard makes at most 15",
    ),
    ("kling3_standard_text_to_video", {"prompt": None, "multi_prompt": []}, "multi_prompt", "1 to 6 items"),
    (
        "kling3_pro_text_to_video",
        {"prompt": None, "multi_prompt": [{"prompt": "a", "duration": "20"}]},
        "multi_prompt.0.duration",
        "got '20'",
    ),
    (
        "kling3_pro_text_to_video",
        {"prompt": None, "multi_prompt": [{"duration": "5"}]},
        "multi_prompt.0.prompt",
        "is required",
    ),
    ("kling3_standard_text_to_video", {"prompt": "x" * 2501}, "prompt", "prompt is 2501 characters"),
    # Seedance 2.0: Fast stops at 720p; "auto" or "4"…"15".
    ("seedance2_fast_text_to_video", {"resolution": "1080p"}, "resolution", "resolution must be 480p or 720p"),
    ("seedance2_fast_image_to_video", {"resolution": "1080p"}, "resolution", "for Seedance 2.0 Fast (image)"),
    ("seedance2_text_to_video", {"resolution": "4k"}, "resolution", "480p, 720p or 1080p"),
    ("seedance2_text_to_video", {"duration": "3"}, "duration", "must be auto, 4, 5"),
    ("seedance2_text_to_video", {"duration": "5s"}, "duration", "got '5s'"),
    ("seedance2_image_to_video", {"aspect_ratio": "2:1"}, "aspect_ratio", "auto, 21:9, 16:9, 4:3, 1:1, 3:4 or 9:16"),
    ("seedance2_text_to_video", {"negative_prompt": "blur"}, "negative_prompt", "is not an input of Seedance 2.0"),
    ("seedance2_fast_text_to_video", {"generate_audio": None}, "generate_audio", "True or False, got None"),
    ("seedance2_image_to_video", {"start_image_url": IMG}, "start_image_url", "is not an input"),
    ("seedance2_fast_image_to_video", {"end_image_url": "ftp://x/y.png"}, "end_image_url", "http(s) URL"),
    ("seedance2_text_to_video", {"prompt": "\u200b"}, "prompt", "prompt must not be empty"),
]


def test_there_are_at_least_thirty_bad_inputs_across_the_new_families() -> None:
    assert len(REFUSED) >= 30
    assert {sw.get_model(m).family for m, *_ in REFUSED} == {"veo", "kling", "seedance"}


def _params(model_id: str, change: dict[str, Any]) -> dict[str, Any]:
    params = {**BASE[model_id], **change}
    return {k: v for k, v in params.items() if v is not None or k not in BASE[model_id]}


@pytest.mark.parametrize(("model_id", "change", "field", "words"), REFUSED, ids=lambda v: str(v)[:40])
def test_refused_naming_the_field_and_what_it_takes(
    model_id: str, change: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(sw.ValidationError) as info:
        sw.validate_input(model_id, **_params(model_id, change))
    message = str(info.value)
    assert [e.field for e in info.value.errors] == [field], message
    assert words in message, message
    assert "\n" not in message and message.count(": invalid input: ") == 1


def test_none_of_them_reaches_the_service_or_the_ledger(tmp_path: Path) -> None:
    emu = Emulator(state_dir=tmp_path / "emulator")
    try:
        history = sw.History(tmp_path)
        with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=history, resume=False) as gen:
            for model_id, change, field, _ in REFUSED:
                with pytest.raises(sw.ValidationError) as info:
                    gen.generate(model_id, **_params(model_id, change))
                assert [e.field for e in info.value.errors] == [field]
        assert emu.stats["submits"] == 0 and emu.stats["upload"] == 0
        assert len(history.records()) == 0
    finally:
        emu.close()
