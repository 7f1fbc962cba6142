"""A sweep's plan: every combination, validated and priced before anything is sent."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

import pytest

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator
from sora2_widgets.experiments import InvalidCombinationError

SORA = "sora2_text_to_video"
SORA_PRO = "sora2_text_to_video_pro"
KLING = "kling25_turbo_pro_text_to_video"


def test_the_plan_holds_every_combination_once_with_its_price() -> None:
    prompts = ["a kite over the sea", "a lighthouse at dusk"]
    models = [SORA, SORA_PRO]
    durations, ratios = [4, 8, 12], ["16:9", "9:16"]
    s = sw.sweep(prompts, models, duration=durations, aspect_ratio=ratios)
    plan = s.plan
    wanted = set(itertools.product(prompts, models, durations, ratios))
    got = {(r.prompt, r.model_id, r.duration, r.aspect_ratio) for r in plan.itertuples()}
    assert got == wanted
    assert len(plan) == len(s) == len(wanted) == 24
    assert list(plan.index) == list(range(1, 25))
    assert plan["sweep_key"].is_unique
    # Each row priced like a single generation; the total is their sum.
    for r in plan.itertuples():
        est = sw.estimate_cost(r.model_id, duration=r.duration, aspect_ratio=r.aspect_ratio)
        assert (Decimal(str(r.est_low_usd)), Decimal(str(r.est_high_usd))) == (est.low, est.high)
    assert s.estimate.low == sum(sw.estimate_cost(m, duration=d).low for _, m, d, _ in wanted)


def test_a_scalar_is_fixed_and_the_same_sweep_gets_the_same_name_and_keys() -> None:
    a = sw.sweep("waves", SORA, duration=[4, 8], aspect_ratio="9:16")
    b = sw.sweep(["waves"], [SORA], duration=[4, 8], aspect_ratio="9:16")
    assert set(a.plan["aspect_ratio"]) == {"9:16"}
    assert a.name == b.name and list(a.plan["sweep_key"]) == list(b.plan["sweep_key"])
    other = sw.sweep("waves", SORA, duration=[4, 12], aspect_ratio="9:16")
    assert other.name != a.name
    assert sw.sweep("waves", SORA, name="my sweep", duration=4).name == "my sweep"


def test_a_setting_a_model_does_not_take_is_left_out_for_that_model_only() -> None:
    s = sw.sweep("waves", [SORA_PRO, KLING], resolution=["720p", "1080p"], aspect_ratio="16:9")
    plan = s.plan
    pro = plan[plan.model_id == SORA_PRO]
    kling = plan[plan.model_id == KLING]
    assert sorted(pro["resolution"]) == ["1080p", "720p"]
    # Kling has no resolution: one job, not two identical ones, and the plan says why.
    assert len(kling) == 1 and kling["resolution"].isna().all()
    assert list(kling["skipped"]) == ["resolution"] and list(pro["skipped"]) == ["", ""]
    assert list(kling["aspect_ratio"]) == ["16:9"]


def test_invalid_combinations_are_named_and_nothing_is_sent(home: Path) -> None:
    emu = Emulator(state_dir=home / "emulator", queue_delay=0.0, progress_time=0.05)
    try:
        with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=sw.History(home), resume=False) as gen:
            with pytest.raises(InvalidCombinationError) as caught:
                sw.sweep(["waves", "kites"], [SORA, KLING], duration=[5, 8]).run(generator=gen)
            assert len(gen.history) == 0
    finally:
        emu.close()
    err = caught.value
    assert isinstance(err, sw.ValidationError)
    # Sora takes 4/8/12…, Kling 5/10: Sora at 5 s (1, 5) and Kling at 8 s (4, 8) are refused; every
    # one is listed, the first spelled out.
    assert str(err).startswith("combination 1 (sora2_text_to_video, prompt 1, duration=5): duration must be ")
    assert [c.number for c, _ in err.problems] == [1, 4, 5, 8]
    assert "and 3 more invalid: combinations 4, 5, 8" in str(err)
    assert not list((home / "emulator").rglob("*.json")), "the emulator got a job"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"wobble": [1, 2]}, "wobble="),
        ({"duration": []}, "duration="),
        ({"duration": [4, 4]}, "duration="),
        ({"prompt": "x"}, "prompt="),
    ],
)
def test_a_grid_that_cannot_be_built_is_refused_in_one_sentence(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(sw.ConfigError) as caught:
        sw.sweep("waves", SORA, **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert str(caught.value).count(". ") == 0


@pytest.mark.parametrize("prompts", [[], [""], ["a", "a"], [3], None])
def test_prompts_must_be_distinct_non_empty_text(prompts: object) -> None:
    with pytest.raises(sw.ConfigError, match=r"^prompts= "):
        sw.sweep(prompts, SORA)  # type: ignore[arg-type]


def test_an_unknown_model_is_refused_with_the_known_ones() -> None:
    with pytest.raises(sw.UnknownModelError, match=SORA):
        sw.sweep("waves", [SORA, "sora-3"])


def test_a_bool_is_not_a_duration() -> None:
    with pytest.raises(InvalidCombinationError, match=r"combination 2 \(sora2_text_to_video, duration=True\)"):
        sw.sweep("waves", SORA, duration=[4, True])


def test_secrets_stay_out_of_the_plan_and_the_key() -> None:
    with_key = sw.sweep("waves", SORA, duration=4, api_key="sk-secret-123456789")
    without = sw.sweep("waves", SORA, duration=4)
    assert "api_key" not in with_key.plan.columns
    assert "sk-secret" not in with_key.plan.to_string() and "sk-secret" not in repr(with_key)
    assert list(with_key.plan["sweep_key"]) == list(without.plan["sweep_key"])


VEO_FAST = "veo31_fast_text_to_video"
KLING3 = "kling3_standard_text_to_video"


def test_a_seconds_axis_is_sent_in_each_models_own_duration_spelling(home: Path) -> None:
    s = sw.sweep(["a kite"], [VEO_FAST, KLING3, SORA], seconds=[4, 8])
    sent = {(r.model_id, r.duration) for r in s.plan.itertuples()}
    assert sent == {(VEO_FAST, "4s"), (VEO_FAST, "8s"), (KLING3, "4"), (KLING3, "8"), (SORA, 4), (SORA, 8)}
    # The same length costs what a single generation of that spelling costs.
    veo8 = s.plan[(s.plan["model_id"] == VEO_FAST) & (s.plan["duration"] == "8s")].iloc[0]
    assert Decimal(str(veo8["est_high_usd"])) == sw.estimate_cost(VEO_FAST, duration="8s").high


@pytest.mark.parametrize(
    ("grid", "words"),
    [
        ({"seconds": [4], "duration": [4]}, "seconds= and duration= are the same setting"),
        ({"seconds": [True]}, "seconds= takes whole seconds above 0"),
        ({"seconds": [4.5]}, "seconds= takes whole seconds above 0"),
        ({"seconds": [0]}, "seconds= takes whole seconds above 0"),
    ],
)
def test_a_bad_seconds_axis_is_refused_in_one_sentence(grid: dict[str, object], words: str) -> None:
    with pytest.raises(sw.ConfigError, match=words) as info:
        sw.sweep(["a kite"], [VEO_FAST], **grid)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def test_a_length_a_model_does_not_offer_is_refused_by_name_before_anything_runs(home: Path) -> None:
    with pytest.raises(InvalidCombinationError, match=r"combination 2 \(veo31_fast_text_to_video, duration=5\)"):
        sw.sweep(["a kite"], [VEO_FAST], seconds=[4, 5]).plan
