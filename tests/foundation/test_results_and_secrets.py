"""Responses in both of fal's shapes; secrets never leak from an input object."""

from __future__ import annotations

import json
from typing import Any

import pytest

import sora2_widgets as sw
from tests._secrets import OPENAI_KEY

SECRET = OPENAI_KEY


def test_sora_video_as_a_plain_url_string() -> None:
    r = sw.VideoResult.parse("sora2_text_to_video", {"video": "https://v.fal.media/a.mp4", "video_id": "video_9"})
    assert r.url == "https://v.fal.media/a.mp4"
    assert r.video_id == "video_9"
    assert r.width is None and r.resolution is None


def test_sora_video_as_a_file_object_with_thumbnail_and_spritesheet() -> None:
    payload = {
        "video": {
            "url": "https://v.fal.media/b.mp4",
            "content_type": "video/mp4",
            "file_name": "b.mp4",
            "file_size": 123456,
            "width": 1920,
            "height": 1080,
            "fps": 30,
            "duration": 8.0,
            "num_frames": 240,
        },
        "video_id": "video_abc",
        "thumbnail": {"url": "https://v.fal.media/b.jpg", "content_type": "image/jpeg"},
        "spritesheet": "https://v.fal.media/b-sprite.jpg",
        "something_new": 1,
    }
    r = sw.VideoResult.parse("sora2_text_to_video_pro", payload, request_id="req-1")
    assert (r.width, r.height, r.fps, r.duration, r.num_frames, r.file_size) == (1920, 1080, 30, 8.0, 240, 123456)
    assert r.resolution == "1080p"
    assert r.thumbnail_url == "https://v.fal.media/b.jpg"
    assert r.spritesheet_url == "https://v.fal.media/b-sprite.jpg"
    assert r.raw["something_new"] == 1
    assert "1920x1080" in repr(r)


def test_kling_output_has_no_video_id() -> None:
    r = sw.VideoResult.parse(
        "kling25_turbo_pro_text_to_video",
        {"video": {"url": "https://v.fal.media/k.mp4", "content_type": "video/mp4", "file_size": 10}},
    )
    assert r.video_id is None and r.url.endswith("k.mp4")


def test_a_result_without_video_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="has no video"):
        sw.VideoResult.parse("sora2_text_to_video", {"detail": "oops"})


INPUTS: list[tuple[str, dict[str, Any]]] = [
    ("sora2_text_to_video", {"prompt": "p"}),
    ("sora2_text_to_video_pro", {"prompt": "p"}),
    ("sora2_image_to_video", {"prompt": "p", "image_url": "https://e.com/a.png"}),
    ("sora2_image_to_video_pro", {"prompt": "p", "image_url": "https://e.com/a.png"}),
    ("sora2_video_to_video_remix", {"prompt": "p", "video_id": "video_1"}),
]


@pytest.mark.parametrize(("model_id", "params"), INPUTS)
def test_api_key_never_appears_in_repr_str_or_dumps(model_id: str, params: dict[str, Any]) -> None:
    model = sw.validate_input(model_id, **params, api_key=SECRET)
    views = [
        repr(model),
        str(model),
        repr(model.model_dump()),
        json.dumps(model.model_dump(mode="json")),
        model.model_dump_json(),
        json.dumps(model.public_params()),
        repr(model.api_key),
        str(model.api_key),
        f"{model}",
    ]
    for view in views:
        assert SECRET not in view
        assert "sk-proj" not in view
    assert model.public_params()["api_key_set"] is True
    # ...but the request body does carry it: that is the only place it goes.
    assert model.to_payload()["api_key"] == SECRET


def test_secret_is_not_in_validation_errors_either() -> None:
    with pytest.raises(sw.ValidationError) as info:
        sw.validate_input("sora2_text_to_video", prompt="p", duration=5, api_key=SECRET)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    assert SECRET not in repr(info.value.errors)
