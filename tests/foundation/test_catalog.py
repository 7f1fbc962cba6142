"""The catalog is the single source of truth: it must be complete and consistent with itself."""

from __future__ import annotations

import pytest

import sora2_widgets as sw
from sora2_widgets import Mode

SORA_ENDPOINTS = {
    "sora2_text_to_video": "fal-ai/sora-2/text-to-video",
    "sora2_text_to_video_pro": "fal-ai/sora-2/text-to-video/pro",
    "sora2_image_to_video": "fal-ai/sora-2/image-to-video",
    "sora2_image_to_video_pro": "fal-ai/sora-2/image-to-video/pro",
    "sora2_video_to_video_remix": "fal-ai/sora-2/video-to-video/remix",
}


def test_catalog_has_the_five_sora_endpoints_and_kling() -> None:
    by_id = {m.id: m for m in sw.MODELS}
    for model_id, endpoint in SORA_ENDPOINTS.items():
        assert by_id[model_id].endpoint == endpoint
        assert by_id[model_id].family == "sora"
    kling = {m.endpoint for m in sw.MODELS if m.family == "kling" and "v2.5" in m.endpoint}
    assert kling == {
        "fal-ai/kling-video/v2.5-turbo/pro/text-to-video",
        "fal-ai/kling-video/v2.5-turbo/pro/image-to-video",
    }


def test_ids_are_unique_and_use_underscores() -> None:
    ids = [m.id for m in sw.MODELS]
    assert len(ids) == len(set(ids))
    assert all("-" not in i and "/" not in i for i in ids)


@pytest.mark.parametrize("spec", sw.MODELS, ids=lambda m: m.id)
def test_every_model_defaults_validate_against_its_own_schema(spec: sw.ModelSpec) -> None:
    required = {
        "prompt": "a red kite over the sea",
        "image_url": "https://example.com/a.png",
        "start_image_url": "https://example.com/a.png",
        "video_id": "video_1",
    }
    params = {**spec.defaults, **{k: v for k, v in required.items() if k in spec.required or k == "prompt"}}
    validated = spec.validate(params)
    assert validated.public_params()["prompt"] == "a red kite over the sea"
    # every default that has a list of allowed values is one of them
    for name, allowed in spec.allowed.items():
        if name in spec.defaults:
            assert spec.defaults[name] in allowed, (spec.id, name)
    assert spec.price_hint.startswith("$")
    assert spec.price_source.startswith("https://fal.ai/")
    assert spec.max_duration == max(spec.durations)


def test_get_model_accepts_ids_and_endpoints_and_lists_valid_ids_on_error() -> None:
    assert sw.get_model("sora2_text_to_video_pro").pro
    assert sw.get_model("fal-ai/sora-2/text-to-video").id == "sora2_text_to_video"
    with pytest.raises(sw.UnknownModelError) as info:
        sw.get_model("sora3")
    assert isinstance(info.value, KeyError)
    for model_id in SORA_ENDPOINTS:
        assert model_id in str(info.value)


def test_models_for_filters_by_mode_in_catalog_order() -> None:
    assert [m.id for m in sw.models_for("text")] == [
        "sora2_text_to_video",
        "sora2_text_to_video_pro",
        "kling25_turbo_pro_text_to_video",
        "veo31_text_to_video",
        "veo31_fast_text_to_video",
        "kling3_standard_text_to_video",
        "kling3_pro_text_to_video",
        "seedance2_text_to_video",
        "seedance2_fast_text_to_video",
    ]
    assert [m.id for m in sw.models_for(Mode.IMAGE)] == [
        "sora2_image_to_video",
        "sora2_image_to_video_pro",
        "kling25_turbo_pro_image_to_video",
        "veo31_image_to_video",
        "veo31_fast_image_to_video",
        "kling3_standard_image_to_video",
        "kling3_pro_image_to_video",
        "seedance2_image_to_video",
        "seedance2_fast_image_to_video",
    ]
    assert [m.id for m in sw.models_for("remix")] == ["sora2_video_to_video_remix"]
    with pytest.raises(ValueError):
        sw.models_for("audio")


def test_app_id_is_owner_and_app_for_sub_path_endpoints() -> None:
    assert sw.get_model("sora2_video_to_video_remix").app_id == "fal-ai/sora-2"
    assert sw.get_model("kling25_turbo_pro_text_to_video").app_id == "fal-ai/kling-video"


def test_prompt_limits_and_durations_per_family() -> None:
    for m in sw.MODELS:
        if m.is_sora:
            assert m.prompt_limit == 5000
            assert m.durations == (4, 8, 12, 16, 20)
        elif m.family == "kling":
            # Kling's documented limit (DESIGN §2b's correction of the seed's 500).
            assert m.prompt_limit == m.declared_prompt_limit == 2500
        else:
            assert m.declared_prompt_limit is None  # fal declares none, and none is invented
    assert sw.get_model("kling25_turbo_pro_text_to_video").durations == (5, 10)
    assert sw.get_model("kling3_pro_text_to_video").durations == tuple(range(3, 16))
    assert sw.get_model("veo31_text_to_video").durations == (4, 6, 8)
    assert sw.get_model("seedance2_text_to_video").durations == tuple(range(4, 16))
    assert sw.get_model("sora2_text_to_video").resolutions == ("720p",)
    assert sw.get_model("sora2_image_to_video_pro").resolutions == ("auto", "720p", "1080p")
    assert sw.get_model("sora2_image_to_video").aspect_ratios == ("auto", "16:9", "9:16")


@pytest.mark.parametrize("spec", sw.MODELS, ids=lambda m: m.id)
def test_every_price_cites_its_own_endpoint_s_page_on_fal(spec: sw.ModelSpec) -> None:
    # Kling text-to-video once cited the image-to-video page: each price must come from the page of
    # the endpoint it is for (fal's model page, https://fal.ai/models/{endpoint}).
    assert spec.price_source.removesuffix("/llms.txt") == "https://fal.ai/models/" + spec.endpoint


def test_kling_text_to_video_matches_fal_s_published_schema_and_price() -> None:
    # fal-ai/kling-video/v2.5-turbo/pro/text-to-video: duration "5"/"10" (strings), aspect ratio
    # 16:9 / 9:16 / 1:1, negative_prompt and cfg_scale (0–1); $0.35 for 5 s + $0.07 per extra second.
    spec = sw.get_model("kling25_turbo_pro_text_to_video")
    assert spec.allowed["duration"] == ("5", "10")
    assert spec.aspect_ratios == ("16:9", "9:16", "1:1")
    assert spec.required == ("prompt",)
    assert spec.defaults == {
        "duration": "5",
        "negative_prompt": "blur, distort, and low quality",
        "cfg_scale": 0.5,
        "aspect_ratio": "16:9",
    }
    assert spec.price_hint == "$0.35 for 5 s + $0.07/extra s"
    assert str(spec.estimate({"duration": "10"})) == "$0.70"
