"""Hand-checked prices of the live families (issue 12), and costs settled from the delivered video."""

from __future__ import annotations

from decimal import Decimal

import pytest

import sora2_widgets as sw
from sora2_widgets import CostEstimate

D = Decimal


@pytest.mark.parametrize(
    ("model_id", "params", "expected"),
    [
        # Veo 3.1: $0.40/s with audio, $0.20/s without (720p and 1080p), 4k $0.60/s with audio.
        ("veo31_text_to_video", {"duration": "8s", "resolution": "1080p"}, "3.20"),
        ("veo31_text_to_video", {"duration": "8s", "resolution": "1080p", "generate_audio": False}, "1.60"),
        ("veo31_text_to_video", {"duration": "8s", "resolution": "4k"}, "4.80"),
        ("veo31_image_to_video", {"duration": "4s", "resolution": "4k", "generate_audio": False}, "1.60"),
        # Veo 3.1 Fast: $0.15/s with audio.
        ("veo31_fast_text_to_video", {"duration": "8s", "resolution": "720p"}, "1.20"),
        ("veo31_fast_image_to_video", {"duration": "6s", "generate_audio": False}, "0.60"),
        # Kling 3.0 Standard: $0.126/s with audio, $0.084 without.
        ("kling3_standard_text_to_video", {"duration": "10"}, "1.26"),
        ("kling3_standard_image_to_video", {"duration": "5", "generate_audio": False}, "0.42"),
        # Seedance 2.0: 1280 × 720 × 5 s × 24 / 1024 = 108,000 tokens at $0.014 per 1,000.
        ("seedance2_text_to_video", {"duration": "5", "resolution": "720p", "aspect_ratio": "16:9"}, "1.512"),
        ("seedance2_fast_text_to_video", {"duration": "5", "resolution": "720p", "aspect_ratio": "9:16"}, "1.2096"),
    ],
)
def test_hand_checked_estimates(model_id: str, params: dict[str, object], expected: str) -> None:
    est = sw.estimate_cost(model_id, **params)
    assert (est.low, est.high) == (D(expected), D(expected))
    assert not est.unconfirmed


def test_kling3_multi_prompt_is_priced_by_the_shots_total() -> None:
    shots = [{"prompt": "a fox", "duration": "4"}, {"prompt": "a hare", "duration": "6"}]
    assert sw.estimate_cost("kling3_standard_text_to_video", multi_prompt=shots) == CostEstimate.exact("1.26")


def test_seedance_auto_duration_is_a_range_over_every_length() -> None:
    est = sw.estimate_cost("seedance2_text_to_video", resolution="720p", aspect_ratio="16:9")  # duration "auto"
    # 4 s to 15 s at 1280x720: $0.3024/s.
    assert (est.low, est.high) == (D("1.2096"), D("4.536"))
    assert "duration (auto)" in est.note
    assert str(est) == "$1.2096–$4.536"


def test_seedance_auto_aspect_or_an_unpublished_size_is_a_range_over_the_resolution_s_sizes() -> None:
    auto = sw.estimate_cost("seedance2_text_to_video", duration="5", resolution="720p")
    assert not auto.is_exact and "frame size" in auto.note
    four_three = sw.estimate_cost("seedance2_text_to_video", duration="5", resolution="720p", aspect_ratio="4:3")
    assert not four_three.is_exact and "4:3 frame size" in four_three.note
    assert four_three.low <= D("1.512") <= four_three.high


def test_sora_pro_auto_is_still_a_range_and_sora_and_kling_25_prices_do_not_change() -> None:
    est = sw.estimate_cost("sora2_image_to_video_pro", duration=8)
    assert (est.low, est.high) == (D("2.40"), D("4.00"))
    assert sw.estimate_cost("sora2_text_to_video", duration=12) == CostEstimate.exact("1.20")
    assert sw.estimate_cost("sora2_text_to_video_pro", duration=4) == CostEstimate.exact("2.00")
    assert sw.estimate_cost("kling25_turbo_pro_text_to_video", duration="10") == CostEstimate.exact("0.70")
    assert sw.estimate_cost("sora2_video_to_video_remix", source_duration=8) == CostEstimate.exact("0.80")


def test_a_price_marked_to_confirm_is_shown_as_unconfirmed() -> None:
    est = sw.estimate_cost("kling3_pro_text_to_video", duration="5")
    assert (est.low, est.high) == (D("0.84"), D("0.84"))  # 5 s × $0.168
    assert est.unconfirmed and "(unconfirmed price)" in str(est) and "sources disagree" in est.note
    assert str(est) == "$0.84 (unconfirmed price)"
    spec = sw.get_model("kling3_pro_image_to_video")
    assert spec.price_unconfirmed and "unconfirmed" in spec.price_hint
    assert not sw.get_model("kling3_standard_text_to_video").price_unconfirmed
    assert sw.total([est, sw.estimate_cost("veo31_text_to_video")]).unconfirmed


def _result(model_id: str, width: int | None, height: int | None, seconds: float | None) -> sw.VideoResult:
    video: dict[str, object] = {"url": "https://v.fal.media/x.mp4"}
    if width:
        video.update(width=width, height=height)
    if seconds:
        video["duration"] = seconds
    return sw.VideoResult.parse(model_id, {"video": video})


def test_the_final_cost_is_settled_from_the_delivered_size_and_length() -> None:
    spec = sw.get_model("seedance2_text_to_video")
    # "auto" duration and aspect: the service made a 6 s 1:1 video at 720x720 (6.04 s measured).
    cost = spec.actual_cost({"resolution": "720p"}, _result(spec.id, 720, 720, 6.04))
    assert cost == D("720") * 720 * 6 * 24 / 1024 * D("0.014") / 1000
    est = spec.estimate({"resolution": "720p"})
    assert est.low <= cost <= est.high
    # The size is what a token price needs: without it the cost is not guessed.
    with pytest.raises(ValueError, match="width and height"):
        spec.actual_cost({"duration": "5"}, _result(spec.id, None, None, 5.0))


def test_fixed_settings_are_settled_from_the_request_not_the_measured_length() -> None:
    veo = sw.get_model("veo31_text_to_video")
    assert veo.actual_cost({"duration": "8s", "resolution": "1080p"}, _result(veo.id, 1920, 1080, 8.04)) == D("3.20")
    kling = sw.get_model("kling3_standard_text_to_video")
    shots = [{"prompt": "a", "duration": "7"}, {"prompt": "b", "duration": "3"}]
    assert kling.actual_cost({"multi_prompt": shots}, _result(kling.id, 1280, 720, 10.0)) == D("1.26")
