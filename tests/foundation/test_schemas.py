"""Every rule of DESIGN §2: allowed values pass, forbidden ones are refused in plain words."""

from __future__ import annotations

from typing import Any

import pytest

import sora2_widgets as sw

PROMPT = "A paper boat drifts down a rain-soaked street"
IMG = "https://example.com/frame.png"
DATA_URI = "data:image/png;base64,iVBORw0KGgo="

BASE: dict[str, dict[str, Any]] = {
    "sora2_text_to_video": {"prompt": PROMPT},
    "sora2_text_to_video_pro": {"prompt": PROMPT},
    "sora2_image_to_video": {"prompt": PROMPT, "image_url": IMG},
    "sora2_image_to_video_pro": {"prompt": PROMPT, "image_url": IMG},
    "sora2_video_to_video_remix": {"prompt": PROMPT, "video_id": "video_123"},
    "kling25_turbo_pro_text_to_video": {"prompt": PROMPT},
    "kling25_turbo_pro_image_to_video": {"prompt": PROMPT, "image_url": IMG},
}

GENERATING_SORA = [m for m in BASE if m.startswith("sora2") and "remix" not in m]

ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    *[(m, {"duration": d}) for m in GENERATING_SORA for d in (4, 8, 12, 16, 20)],
    *[(m, {"aspect_ratio": a}) for m in ("sora2_text_to_video", "sora2_text_to_video_pro") for a in ("16:9", "9:16")],
    *[
        (m, {"aspect_ratio": a})
        for m in ("sora2_image_to_video", "sora2_image_to_video_pro")
        for a in ("auto", "16:9", "9:16")
    ],
    ("sora2_text_to_video", {"resolution": "720p"}),
    ("sora2_text_to_video_pro", {"resolution": "720p"}),
    ("sora2_text_to_video_pro", {"resolution": "1080p"}),
    ("sora2_image_to_video", {"resolution": "auto"}),
    ("sora2_image_to_video", {"resolution": "720p"}),
    *[("sora2_image_to_video_pro", {"resolution": r}) for r in ("auto", "720p", "1080p")],
    *[(m, {"model": s}) for m in GENERATING_SORA for s in ("sora-2", "sora-2-2025-12-08", "sora-2-2025-10-06")],
    ("sora2_text_to_video", {"delete_video": False}),
    ("sora2_video_to_video_remix", {"delete_video": False}),
    ("sora2_text_to_video", {"detect_and_block_ip": True}),
    ("sora2_text_to_video", {"character_ids": ["char_1", "char_2"]}),
    ("sora2_text_to_video", {"api_key": "sk-test-123"}),
    ("sora2_text_to_video", {"prompt": "x" * 5000}),
    ("sora2_image_to_video", {"image_url": DATA_URI}),
    ("sora2_image_to_video", {"image_url": "http://example.com/a.jpg"}),
    *[
        (m, {"duration": d})
        for m in ("kling25_turbo_pro_text_to_video", "kling25_turbo_pro_image_to_video")
        for d in ("5", "10", 5, 10)
    ],
    *[("kling25_turbo_pro_text_to_video", {"aspect_ratio": a}) for a in ("16:9", "9:16", "1:1")],
    ("kling25_turbo_pro_text_to_video", {"prompt": "x" * 500, "cfg_scale": 0.0, "negative_prompt": "blur"}),
    ("kling25_turbo_pro_image_to_video", {"tail_image_url": IMG, "cfg_scale": 1.0}),
]


@pytest.mark.parametrize(("model_id", "extra"), ACCEPTED, ids=lambda v: str(v)[:40])
def test_allowed_values_are_accepted(model_id: str, extra: dict[str, Any]) -> None:
    validated = sw.validate_input(model_id, **{**BASE[model_id], **extra})
    for name, value in extra.items():
        if name == "api_key":
            continue
        got = getattr(validated, name)
        assert got == (str(value) if name == "duration" and model_id.startswith("kling") else value)


# (model, bad params, field the error must name, words the message must contain)
REFUSED: list[tuple[str, dict[str, Any], str, str]] = [
    *[
        (
            m,
            {"duration": d},
            "duration",
            f"duration must be 4, 8, 12, 16 or 20 seconds for {sw.get_model(m).name}, got {d}",
        )
        for m in GENERATING_SORA
        for d in (5, 10, 0, 24)
    ],
    ("sora2_text_to_video", {"resolution": "1080p"}, "resolution", "resolution must be 720p for Sora 2, got '1080p'"),
    ("sora2_text_to_video", {"resolution": "auto"}, "resolution", "got 'auto'"),
    ("sora2_text_to_video_pro", {"resolution": "auto"}, "resolution", "720p or 1080p"),
    ("sora2_text_to_video_pro", {"resolution": "4k"}, "resolution", "got '4k'"),
    ("sora2_image_to_video", {"resolution": "1080p"}, "resolution", "auto or 720p"),
    ("sora2_image_to_video_pro", {"resolution": "480p"}, "resolution", "auto, 720p or 1080p"),
    ("sora2_text_to_video", {"aspect_ratio": "auto"}, "aspect_ratio", "16:9 or 9:16"),
    ("sora2_text_to_video_pro", {"aspect_ratio": "1:1"}, "aspect_ratio", "got '1:1'"),
    ("sora2_image_to_video", {"aspect_ratio": "4:3"}, "aspect_ratio", "auto, 16:9 or 9:16"),
    ("sora2_image_to_video_pro", {"aspect_ratio": "1:1"}, "aspect_ratio", "got '1:1'"),
    ("kling25_turbo_pro_text_to_video", {"aspect_ratio": "4:3"}, "aspect_ratio", "16:9, 9:16 or 1:1"),
    ("kling25_turbo_pro_text_to_video", {"duration": "8"}, "duration", "duration must be 5 or 10 seconds"),
    ("kling25_turbo_pro_image_to_video", {"duration": 4}, "duration", "got '4'"),
    ("kling25_turbo_pro_text_to_video", {"cfg_scale": 1.5}, "cfg_scale", "less than or equal to 1"),
    ("kling25_turbo_pro_text_to_video", {"cfg_scale": -0.1}, "cfg_scale", "greater than or equal to 0"),
    (
        "kling25_turbo_pro_text_to_video",
        {"prompt": "x" * 501},
        "prompt",
        "prompt is 501 characters; Kling 2.5 Turbo Pro accepts at most 500",
    ),
    ("kling25_turbo_pro_image_to_video", {"prompt": "x" * 501}, "prompt", "at most 500"),
    *[(m, {"prompt": "x" * 5001}, "prompt", "prompt is 5001 characters") for m in BASE if m.startswith("sora2")],
    *[(m, {"prompt": ""}, "prompt", "prompt must not be empty") for m in BASE],
    ("sora2_text_to_video", {"prompt": "   \n"}, "prompt", "must not be empty"),
    ("sora2_image_to_video", {"image_url": "frame.png"}, "image_url", "http(s) URL or a data: URI"),
    ("sora2_image_to_video_pro", {"image_url": "ftp://example.com/a.png"}, "image_url", "http(s) URL or a data: URI"),
    ("kling25_turbo_pro_image_to_video", {"image_url": "https://"}, "image_url", "http(s) URL"),
    ("kling25_turbo_pro_image_to_video", {"tail_image_url": "/tmp/x.png"}, "tail_image_url", "http(s) URL"),
    ("sora2_image_to_video", {"image_url": None}, "image_url", ""),
    ("sora2_video_to_video_remix", {"video_id": ""}, "video_id", ""),
    ("sora2_text_to_video", {"model": "sora-3"}, "model", "sora-2, sora-2-2025-12-08 or sora-2-2025-10-06"),
    ("sora2_text_to_video", {"character_ids": ["a", "b", "c"]}, "character_ids", "at most 2 ids, got 3"),
    ("sora2_text_to_video", {"seed": 1}, "seed", "is not an input of Sora 2"),
    ("sora2_text_to_video", {"image_url": IMG}, "image_url", "is not an input of Sora 2"),
    ("sora2_video_to_video_remix", {"duration": 8}, "duration", "is not an input of Sora 2 Remix"),
    ("kling25_turbo_pro_text_to_video", {"delete_video": False}, "delete_video", "is not an input"),
    ("kling25_turbo_pro_image_to_video", {"aspect_ratio": "16:9"}, "aspect_ratio", "is not an input"),
    ("sora2_text_to_video", {"duration": "eight"}, "duration", "valid integer"),
    (
        "sora2_text_to_video",
        {"delete_video": "maybe"},
        "delete_video",
        "delete_video must be True or False, got 'maybe'",
    ),
    # pydantic's lax mode would read True as 1 ("got 1") and 1 / "no" as booleans: refused, naming the value.
    ("sora2_text_to_video", {"duration": True}, "duration", "4, 8, 12, 16 or 20 seconds for Sora 2, got True"),
    ("sora2_text_to_video_pro", {"duration": False}, "duration", "got False"),
    (
        "kling25_turbo_pro_text_to_video",
        {"duration": True},
        "duration",
        "5 or 10 seconds for Kling 2.5 Turbo Pro, got True",
    ),
    ("kling25_turbo_pro_text_to_video", {"cfg_scale": True}, "cfg_scale", "cfg_scale takes a number, not True/False"),
    ("sora2_text_to_video", {"delete_video": 0}, "delete_video", "delete_video must be True or False, got 0"),
    ("sora2_video_to_video_remix", {"delete_video": "false"}, "delete_video", "True or False, got 'false'"),
    ("sora2_text_to_video", {"detect_and_block_ip": 1}, "detect_and_block_ip", "True or False, got 1"),
    ("sora2_text_to_video", {"duration": 8.5}, "duration", "4, 8, 12, 16 or 20 seconds for Sora 2, got 8.5"),
]


def test_there_are_at_least_forty_bad_input_cases() -> None:
    assert len(REFUSED) >= 40


@pytest.mark.parametrize(("model_id", "bad", "field", "words"), REFUSED, ids=lambda v: str(v)[:40])
def test_forbidden_values_are_refused_with_a_clear_message(
    model_id: str, bad: dict[str, Any], field: str, words: str
) -> None:
    params = {**BASE[model_id], **bad}
    if bad.get(field, 0) is None:
        del params[field]  # "missing" is the None case
    with pytest.raises(sw.ValidationError) as info:
        sw.validate_input(model_id, **params)
    err = info.value
    assert err.model_id == model_id
    assert [e.field for e in err.errors] == [field]
    assert words in str(err)
    if bad.get(field, 0) is None:
        assert "is required by" in str(err)


def test_missing_required_fields_are_named() -> None:
    with pytest.raises(sw.ValidationError) as info:
        sw.validate_input("sora2_image_to_video_pro")
    assert {e.field for e in info.value.errors} == {"prompt", "image_url"}
    with pytest.raises(sw.ValidationError) as info:
        sw.validate_input("sora2_video_to_video_remix", prompt=PROMPT)
    assert "video_id: is required by Sora 2 Remix" in str(info.value)


def test_validation_error_is_also_a_value_error() -> None:
    with pytest.raises(ValueError):
        sw.validate_input("sora2_text_to_video", prompt=PROMPT, duration=5)


def test_payload_leaves_out_unset_options_and_keeps_the_service_types() -> None:
    body = sw.validate_input("kling25_turbo_pro_text_to_video", prompt=PROMPT, duration=10).to_payload()
    assert body["duration"] == "10"
    body = sw.validate_input("sora2_text_to_video", prompt=PROMPT, duration="8").to_payload()
    assert body["duration"] == 8
    assert "detect_and_block_ip" not in body and "character_ids" not in body and "api_key" not in body
    assert body["delete_video"] is True  # fal's default, sent explicitly so the ledger and the service agree


def test_whole_number_floats_become_the_service_types() -> None:
    # A number typed as 8.0 (a float slider, a JSON round trip) is the 8 the service takes.
    assert sw.validate_input("sora2_text_to_video", prompt=PROMPT, duration=8.0).to_payload()["duration"] == 8
    body = sw.validate_input("kling25_turbo_pro_text_to_video", prompt=PROMPT, duration=10.0).to_payload()
    assert body["duration"] == "10"
