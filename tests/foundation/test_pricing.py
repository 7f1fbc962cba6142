"""Prices: every model × duration × resolution, ranges, remix, sums. Money is Decimal, never float."""

from __future__ import annotations

from decimal import Decimal

import pytest

import sora2_widgets as sw
from sora2_widgets import CostEstimate

D = Decimal

STD = ["sora2_text_to_video", "sora2_image_to_video"]
SORA_SECONDS = [4, 8, 12, 16, 20]


@pytest.mark.parametrize("model_id", STD)
@pytest.mark.parametrize("seconds", SORA_SECONDS)
def test_standard_sora_is_ten_cents_a_second(model_id: str, seconds: int) -> None:
    est = sw.estimate_cost(model_id, duration=seconds)
    assert est.is_exact
    assert est.low == D("0.10") * seconds
    assert isinstance(est.low, Decimal)


@pytest.mark.parametrize("model_id", ["sora2_text_to_video_pro", "sora2_image_to_video_pro"])
@pytest.mark.parametrize("seconds", SORA_SECONDS)
@pytest.mark.parametrize(("resolution", "rate"), [("720p", "0.30"), ("1080p", "0.50")])
def test_pro_price_depends_on_resolution(model_id: str, seconds: int, resolution: str, rate: str) -> None:
    est = sw.estimate_cost(model_id, duration=seconds, resolution=resolution)
    assert (est.low, est.high) == (D(rate) * seconds, D(rate) * seconds)


@pytest.mark.parametrize("seconds", SORA_SECONDS)
def test_auto_resolution_on_pro_image_is_a_range_until_the_result(seconds: int) -> None:
    est = sw.estimate_cost("sora2_image_to_video_pro", duration=seconds, resolution="auto")
    assert (est.low, est.high) == (D("0.30") * seconds, D("0.50") * seconds)
    assert not est.is_exact
    assert "auto" in est.note


def test_auto_on_the_standard_image_model_is_exact_because_only_720p_exists() -> None:
    assert sw.estimate_cost("sora2_image_to_video", duration=8, resolution="auto") == CostEstimate.exact("0.80")


def test_pro_text_defaults_to_1080p() -> None:
    assert str(sw.estimate_cost("sora2_text_to_video_pro")) == "$2.00"  # 4 s × $0.50


@pytest.mark.parametrize(("seconds", "expected"), [(4, "0.40"), (8, "0.80"), (12, "1.20"), (16, "1.60"), (20, "2.00")])
def test_remix_is_priced_from_the_source_duration(seconds: int, expected: str) -> None:
    est = sw.estimate_cost("sora2_video_to_video_remix", source_duration=seconds)
    assert est == CostEstimate.exact(expected)


@pytest.mark.parametrize(
    ("measured", "billed"),
    [(4.04, "0.40"), (8.0, "0.80"), (7.96, "0.80"), (12.4, "1.20"), (20.04, "2.00"), (D("16"), "1.60")],
)
def test_remix_bills_the_sora_length_a_measured_source_has(measured: float, billed: str) -> None:
    # A delivered Sora file measures a little off its whole length (frame count / fps); the remix
    # keeps that length and is billed per second of it, so 4.04 s is a 4 s ($0.40) remix.
    assert sw.estimate_cost("sora2_video_to_video_remix", source_duration=measured) == CostEstimate.exact(billed)
    spec = sw.get_model("sora2_video_to_video_remix")
    assert spec.actual_cost({}, _result(spec.id, 1280, 720, float(measured))) == D(billed)
    assert spec.actual_cost({}, _result(spec.id, 1280, 720, 8.0), source_duration=measured) == D(billed)


@pytest.mark.parametrize("bad", [3, 3.5, 5.9, 10, 0, -4, 25, 20.5, float("nan"), float("inf"), True, "8"])
def test_remix_refuses_a_source_length_no_sora_video_has(bad: object) -> None:
    # Sora makes 4, 8, 12, 16 and 20 s videos only: a 3 s "source" would have been priced $0.30
    # for a job the service cannot run. Refused before any money is spent, naming the field.
    with pytest.raises(sw.ValidationError) as info:
        sw.estimate_cost("sora2_video_to_video_remix", source_duration=bad)  # type: ignore[arg-type]
    assert [e.field for e in info.value.errors] == ["source_duration"]
    assert "must be the length of a Sora 2 video (4, 8, 12, 16 or 20 seconds" in str(info.value)
    assert repr(bad) in str(info.value)


def test_remix_without_a_source_is_the_full_range() -> None:
    est = sw.estimate_cost("sora2_video_to_video_remix")
    assert (est.low, est.high) == (D("0.40"), D("2.00"))
    assert "source" in est.note


@pytest.mark.parametrize("model_id", ["kling25_turbo_pro_text_to_video", "kling25_turbo_pro_image_to_video"])
@pytest.mark.parametrize(("duration", "expected"), [("5", "0.35"), ("10", "0.70"), (10, "0.70")])
def test_kling_is_a_base_price_plus_per_extra_second(model_id: str, duration: str, expected: str) -> None:
    assert sw.estimate_cost(model_id, duration=duration) == CostEstimate.exact(expected)


def test_str_formats_exact_and_ranges() -> None:
    assert str(CostEstimate.exact("0.4")) == "$0.40"
    assert str(CostEstimate(D("1.2"), D("2"))) == "$1.20–$2.00"
    assert str(CostEstimate.exact("1234.5")) == "$1,234.50"


def test_sums_of_mixed_selections() -> None:
    selection = [
        sw.estimate_cost("sora2_text_to_video", duration=8),  # 0.80
        sw.estimate_cost("sora2_text_to_video_pro", duration=8, resolution="720p"),  # 2.40
        sw.estimate_cost("kling25_turbo_pro_text_to_video", duration="10"),  # 0.70
    ]
    assert sum(selection) == CostEstimate.exact("3.90")
    assert sw.total(selection) == CostEstimate.exact("3.90")
    image = [
        sw.estimate_cost("sora2_image_to_video", duration=12),  # 1.20
        sw.estimate_cost("sora2_image_to_video_pro", duration=12),  # auto: 3.60–6.00
    ]
    assert str(sum(image)) == "$4.80–$7.20"
    assert sw.total([]) == CostEstimate.exact(0)


def test_estimates_refuse_bad_settings_before_money_is_spent() -> None:
    with pytest.raises(sw.ValidationError, match="duration must be 4, 8, 12, 16 or 20 seconds"):
        sw.estimate_cost("sora2_text_to_video", duration=5)
    with pytest.raises(sw.ValidationError, match="is not a setting of Sora 2"):
        sw.estimate_cost("sora2_text_to_video", fps=30)


@pytest.mark.parametrize(
    ("model_id", "params", "expected"),
    [
        ("sora2_text_to_video", {"duration": 8.0}, "0.80"),
        ("sora2_text_to_video", {"duration": 12}, "1.20"),
        ("sora2_text_to_video_pro", {"duration": 4.0, "resolution": "720p"}, "1.20"),
        ("kling25_turbo_pro_text_to_video", {"duration": 10.0}, "0.70"),
        ("kling25_turbo_pro_image_to_video", {"duration": 10}, "0.70"),
    ],
)
def test_a_price_is_computed_from_the_validated_request(
    model_id: str, params: dict[str, object], expected: str
) -> None:
    # Whatever validate_input accepts, estimate_cost prices: the same values the request will carry.
    spec = sw.get_model(model_id)
    source = {"image_url": "https://example.com/a.png"} if spec.mode is sw.Mode.IMAGE else {}
    sw.validate_input(model_id, prompt="x", **source, **params)
    assert sw.estimate_cost(model_id, **params) == CostEstimate.exact(expected)
    assert spec.actual_cost(params, _result(spec.id, 1280, 720, 10.0)) == D(expected)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"duration": 8.5}, "duration must be 4, 8, 12, 16 or 20 seconds for Sora 2, got 8.5"),
        ({"duration": True}, "duration must be 4, 8, 12, 16 or 20 seconds for Sora 2, got True"),
        ({"duration": "eight"}, "duration must be 4, 8, 12, 16 or 20 seconds for Sora 2, got 'eight'"),
        # Text is never read as a number (issue 16, class 1): "8" is refused like "eight".
        ({"duration": "8"}, "duration must be 4, 8, 12, 16 or 20 seconds for Sora 2, got '8'"),
        # None is refused, not taken for "the default": it would be priced (and sent) as 4 s.
        ({"duration": None}, "duration must be 4, 8, 12, 16 or 20 seconds for Sora 2, got None"),
        ({"resolution": "1080p"}, "resolution must be 720p for Sora 2, got '1080p'"),
    ],
)
def test_bad_pricing_settings_get_the_same_clear_error_as_validation(params: dict[str, object], words: str) -> None:
    with pytest.raises(sw.ValidationError) as validated:
        sw.validate_input("sora2_text_to_video", prompt="x", **params)
    with pytest.raises(sw.ValidationError) as estimated:
        sw.estimate_cost("sora2_text_to_video", **params)
    spec = sw.get_model("sora2_text_to_video")
    with pytest.raises(sw.ValidationError) as costed:
        spec.actual_cost(params, _result(spec.id, 1280, 720, 8.0))
    assert words in str(estimated.value) and words in str(costed.value)
    assert estimated.value.errors == validated.value.errors == costed.value.errors


def test_actual_cost_reads_a_stored_row_s_settings_and_ignores_its_bookkeeping() -> None:
    spec = sw.get_model("sora2_image_to_video_pro")
    stored = {
        "duration": 8,
        "resolution": "auto",
        "image_url": "data:image/png;base64,… (9 characters)",
        "api_key_set": True,
    }
    assert spec.actual_cost(stored, _result(spec.id, 1280, 720, 8.04)) == D("2.40")


def _result(model_id: str, width: int, height: int, duration: float) -> sw.VideoResult:
    return sw.VideoResult.parse(
        model_id,
        {
            "video": {"url": "https://v.fal.media/x.mp4", "width": width, "height": height, "duration": duration},
            "video_id": "video_1",
        },
    )


@pytest.mark.parametrize(
    ("width", "height", "seconds", "expected"),
    [(1920, 1080, 8, "4.00"), (1080, 1920, 12, "6.00"), (1280, 720, 8, "2.40"), (720, 1280, 4, "1.20")],
)
def test_actual_cost_settles_the_auto_range_from_the_delivered_size(
    width: int, height: int, seconds: int, expected: str
) -> None:
    spec = sw.get_model("sora2_image_to_video_pro")
    result = _result(spec.id, width, height, seconds + 0.04)
    cost = spec.actual_cost({"duration": seconds, "resolution": "auto"}, result)
    assert cost == D(expected)
    est = spec.estimate({"duration": seconds})
    assert est.low <= cost <= est.high


def test_actual_cost_of_a_remix_uses_the_source_length() -> None:
    spec = sw.get_model("sora2_video_to_video_remix")
    assert spec.actual_cost({}, _result(spec.id, 1280, 720, 12.0), source_duration=12) == D("1.20")
    # Without the source's length, the delivered video's length (same, by construction) is used.
    assert spec.actual_cost({}, _result(spec.id, 1280, 720, 8.0)) == D("0.80")


def test_actual_cost_of_fixed_resolution_uses_the_requested_length() -> None:
    spec = sw.get_model("sora2_text_to_video_pro")
    assert spec.actual_cost({"duration": 8, "resolution": "720p"}, _result(spec.id, 1280, 720, 8.04)) == D("2.40")
    kling = sw.get_model("kling25_turbo_pro_text_to_video")
    assert kling.actual_cost({"duration": "10"}, _result(kling.id, 1280, 720, 10.0)) == D("0.70")


def test_no_floats_anywhere_in_money() -> None:
    for spec in sw.MODELS:
        est = spec.estimate({}, source_duration=8 if spec.inherits_from_source else None)
        assert type(est.low) is Decimal and type(est.high) is Decimal


def test_source_settings_are_refused_where_they_cannot_apply() -> None:
    # Ignoring them would quietly price something other than what the caller described.
    with pytest.raises(sw.ValidationError, match="source_duration: only applies to remix models"):
        sw.estimate_cost("sora2_text_to_video", source_duration=8)
    with pytest.raises(sw.ValidationError, match="source_resolution: only applies to remix models"):
        sw.estimate_cost("kling25_turbo_pro_text_to_video", source_resolution="720p")
    with pytest.raises(
        sw.ValidationError, match=r"source_resolution: must be 720p or 1080p \(or None\), got \['720p'\]"
    ):
        sw.estimate_cost("sora2_video_to_video_remix", source_duration=8, source_resolution=["720p"])
    remix = sw.estimate_cost("sora2_video_to_video_remix", source_duration=8, source_resolution="1080p")
    assert remix == CostEstimate.exact("0.80")
