"""Every rule of DESIGN §2: allowed values pass, forbidden ones are refused in plain words."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image

import sora2_widgets as sw

PROMPT = "A paper boat drifts down a rain-soaked street"
IMG = "https://example.com/frame.png"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, format="PNG")
    return out.getvalue()


# A whole image: a data: URI is decoded before it is sent (issue 16, class 2).
DATA_URI = "data:image/png;base64," + base64.b64encode(_png()).decode()

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
    ("kling25_turbo_pro_text_to_video", {"prompt": "x" * 2500, "cfg_scale": 0.0, "negative_prompt": "blur"}),
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
        {"prompt": "x" * 2501},
        "prompt",
        "prompt is 2501 characters; Kling 2.5 Turbo Pro accepts at most 2500",
    ),
    ("kling25_turbo_pro_image_to_video", {"prompt": "x" * 2501}, "prompt", "at most 2500"),
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
    ("sora2_text_to_video", {"duration": "eight"}, "duration", "seconds for Sora 2, got 'eight'"),
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
    body = sw.validate_input("sora2_text_to_video", prompt=PROMPT, duration=8).to_payload()
    assert body["duration"] == 8
    assert "detect_and_block_ip" not in body and "character_ids" not in body and "api_key" not in body
    assert body["delete_video"] is True  # fal's default, sent explicitly so the ledger and the service agree


def test_whole_number_floats_become_the_service_types() -> None:
    # A number typed as 8.0 (a float slider, a JSON round trip) is the 8 the service takes.
    assert sw.validate_input("sora2_text_to_video", prompt=PROMPT, duration=8.0).to_payload()["duration"] == 8
    body = sw.validate_input("kling25_turbo_pro_text_to_video", prompt=PROMPT, duration=10.0).to_payload()
    assert body["duration"] == "10"


# -- issue 16, class 1: anything not exactly a valid value is refused, never coerced ------------------
# The one conversion made, documented in ModelInput: a whole number given as a float (8.0) is that
# number. Text is never read as a number, a number never as text (but Kling's seconds, see above),
# a boolean never as either, bytes never as text, a set never as a list, None never as "the default".
COERCIONS: list[tuple[str, dict[str, Any], str]] = [
    ("sora2_text_to_video", {"duration": "8"}, "duration must be 4, 8, 12, 16 or 20 seconds for Sora 2, got '8'"),
    ("sora2_text_to_video", {"duration": " 8"}, "got ' 8'"),
    ("sora2_text_to_video", {"duration": None}, "duration must be 4, 8, 12, 16 or 20 seconds for Sora 2, got None"),
    ("sora2_text_to_video", {"duration": float("nan")}, "got nan"),
    ("sora2_text_to_video", {"duration": float("inf")}, "got inf"),
    ("sora2_text_to_video", {"duration": [8]}, "got [8]"),
    ("sora2_text_to_video", {"duration": b"8"}, "got b'8'"),
    ("kling25_turbo_pro_text_to_video", {"duration": 5.5}, "5 or 10 seconds for Kling 2.5 Turbo Pro, got 5.5"),
    ("kling25_turbo_pro_text_to_video", {"duration": None}, "got None"),
    ("kling25_turbo_pro_text_to_video", {"cfg_scale": "0.5"}, "cfg_scale takes a number, got '0.5'"),
    ("kling25_turbo_pro_text_to_video", {"cfg_scale": None}, "cfg_scale takes a number, got None"),
    ("kling25_turbo_pro_text_to_video", {"cfg_scale": float("nan")}, "cfg_scale must be a finite number, got nan"),
    ("kling25_turbo_pro_text_to_video", {"negative_prompt": 5}, "negative_prompt takes text, got 5"),
    ("sora2_text_to_video", {"prompt": b"a boat"}, "prompt takes text, got b'a boat'"),
    ("sora2_text_to_video", {"prompt": None}, "prompt takes text, got None"),
    ("sora2_text_to_video", {"prompt": 42}, "prompt takes text, got 42"),
    ("sora2_text_to_video", {"prompt": True}, "prompt takes text, not True/False (got True)"),
    ("sora2_text_to_video", {"delete_video": None}, "delete_video must be True or False, got None"),
    ("sora2_text_to_video", {"delete_video": "True"}, "delete_video must be True or False, got 'True'"),
    ("sora2_text_to_video", {"character_ids": {"char_1"}}, "character_ids takes a list of text, got {'char_1'}"),
    ("sora2_text_to_video", {"character_ids": "char_1"}, "character_ids takes a list of text, got 'char_1'"),
    ("sora2_text_to_video", {"character_ids": [b"char_1"]}, "character_ids takes a list of text"),
    ("sora2_text_to_video", {"model": None}, "model must be sora-2, sora-2-2025-12-08 or sora-2-2025-10-06"),
    ("sora2_text_to_video", {"api_key": 12345}, "api_key takes text, got int"),
    ("sora2_video_to_video_remix", {"video_id": 123}, "video_id takes text, got 123"),
    ("sora2_video_to_video_remix", {"video_id": "   "}, "video_id must not be empty"),
    ("sora2_image_to_video", {"image_url": b"https://example.com/a.png"}, "image_url takes text"),
]


@pytest.mark.parametrize(("model_id", "bad", "words"), COERCIONS, ids=lambda v: repr(v)[:40])
def test_values_that_are_not_exactly_valid_are_refused_not_coerced(
    model_id: str, bad: dict[str, Any], words: str
) -> None:
    with pytest.raises(sw.ValidationError) as info:
        sw.validate_input(model_id, **{**BASE[model_id], **bad})
    assert [e.field for e in info.value.errors] == list(bad)
    assert words in str(info.value) and "\n" not in str(info.value)
    # The price refuses them alike, so no coerced value is ever priced either.
    settings = {k: v for k, v in bad.items() if k not in ("prompt", "image_url", "video_id")}
    if settings:
        with pytest.raises(sw.ValidationError):
            sw.estimate_cost(model_id, **settings)


def test_optional_settings_take_none_as_not_given() -> None:
    # Where the service has no value unless one is sent, None leaves it out of the request.
    body = sw.validate_input(
        "sora2_text_to_video", prompt=PROMPT, api_key=None, detect_and_block_ip=None, character_ids=None
    ).to_payload()
    assert not {"api_key", "detect_and_block_ip", "character_ids"} & set(body)
    assert sw.validate_input("sora2_text_to_video", prompt=PROMPT, character_ids=("a", "b")).to_payload()[
        "character_ids"
    ] == ["a", "b"]


def test_validated_requests_are_always_json_that_encodes_to_utf8() -> None:
    import json

    inp = sw.validate_input("kling25_turbo_pro_text_to_video", prompt="🌊 waves", cfg_scale=1, negative_prompt="")
    json.dumps(inp.to_payload(), allow_nan=False, ensure_ascii=False).encode("utf-8")


# -- issue 16, class 5: text that cannot be sent is refused naming its field -----------------------------
UNSENDABLE: list[tuple[str, dict[str, Any], str]] = [
    (
        "sora2_text_to_video",
        {"prompt": "a boat \ud800 at sea"},
        "prompt contains a lone surrogate that cannot be encoded as UTF-8 at position 7 (U+D800)",
    ),
    (
        "sora2_text_to_video",
        {"prompt": "a boat\x00 at sea"},
        "prompt contains a NUL character at position 6 (U+0000); remove it",
    ),
    ("sora2_text_to_video", {"prompt": "bell\x07"}, "prompt contains a control character at position 4 (U+0007)"),
    ("kling25_turbo_pro_text_to_video", {"negative_prompt": "blur\udfff"}, "negative_prompt contains a lone surrogate"),
    ("sora2_text_to_video", {"character_ids": ["ok", "c\ud83d"]}, "character_ids contains a lone surrogate"),
    ("sora2_video_to_video_remix", {"video_id": "video_1\n"}, "video_id contains a control character"),
    ("sora2_text_to_video", {"aspect_ratio": "16:9\ud800"}, "aspect_ratio contains a lone surrogate"),
]


@pytest.mark.parametrize(("model_id", "bad", "words"), UNSENDABLE, ids=lambda v: repr(v)[:40])
def test_text_that_cannot_be_encoded_or_holds_control_characters_is_refused(
    model_id: str, bad: dict[str, Any], words: str
) -> None:
    with pytest.raises(sw.ValidationError) as info:
        sw.validate_input(model_id, **{**BASE[model_id], **bad})
    assert [e.field for e in info.value.errors] == list(bad)
    assert words in str(info.value)
    str(info.value).encode("utf-8")  # the message itself can always be printed
    assert "\n" not in str(info.value)


def test_prompts_keep_their_line_breaks_and_tabs() -> None:
    text = "Scene one:\n\tA boat.\r\nScene two: the sea."
    assert sw.validate_input("sora2_text_to_video", prompt=text).prompt == text


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("{key}\ud800", "api_key contains a lone surrogate that cannot be encoded as UTF-8; give the key exactly"),
        ("{key}\n", "api_key contains a control character; give the key exactly"),
        ("sk-\x00{key}", "api_key contains a NUL character; give the key exactly"),
        (" {key}", "api_key has spaces at its start or end"),
    ],
)
def test_an_api_key_that_cannot_be_sent_is_refused_without_quoting_it(bad: str, words: str) -> None:
    from tests._secrets import OPENAI_KEY

    secret = bad.format(key=OPENAI_KEY)  # a real-looking secret around the bad character
    with pytest.raises(sw.ValidationError) as info:
        sw.validate_input("sora2_text_to_video", prompt=PROMPT, api_key=secret)
    assert words in str(info.value)
    assert "position" not in str(info.value)  # not even where it is: the shape of a key is its own business


def test_no_refusal_carries_pydantic_s_error_or_an_input_value_along() -> None:
    # pydantic's ValidationError repr quotes every input (input_value='sk-…'): it must not ride along
    # as the __context__ or __cause__ of ours, where a traceback or a leak scanner would find it.
    from tests._secrets import OPENAI_KEY

    for call in (
        lambda: sw.validate_input("sora2_text_to_video", prompt=PROMPT, api_key=OPENAI_KEY, duration=5),
        lambda: sw.validate_input("sora2_text_to_video", prompt=PROMPT, api_key=OPENAI_KEY, seed=1),
        lambda: sw.validate_input("sora2_text_to_video", prompt=None, api_key=OPENAI_KEY),
        lambda: sw.estimate_cost("sora2_text_to_video", duration="x"),
        lambda: sw.get_model("sora2_image_to_video").validate(
            {"prompt": PROMPT, "api_key": OPENAI_KEY, "image_url": "data:text/plain,hello"}
        ),
    ):
        with pytest.raises(sw.ValidationError) as info:
            call()
        err = info.value
        assert err.__context__ is None and err.__cause__ is None
        assert OPENAI_KEY not in repr(err) + str(err) + repr(err.args) + repr(err.errors)


# -- issue 16, class 9: debatable inputs, decided --------------------------------------------------------
@pytest.mark.parametrize(
    "prompt",
    [
        "\u200b\u200b\u200b",  # zero-width spaces
        "\u200b \u200d\ufeff\n",  # zero-width joiner, BOM, a space and a line break
        "\u2060\u180e",  # word joiner, Mongolian vowel separator
        "\u3164\u3164",  # Hangul filler: a "letter" that shows nothing
        "\u00a0\u2003",  # no-break and em spaces
    ],
)
def test_a_prompt_of_only_invisible_characters_is_empty(prompt: str) -> None:
    with pytest.raises(sw.ValidationError) as info:
        sw.validate_input("sora2_text_to_video", prompt=prompt)
    assert "prompt must not be empty" in str(info.value)


def test_a_prompt_with_invisible_characters_around_real_text_is_kept_as_typed() -> None:
    for prompt in ("\u200bA boat", "नमस्ते", "👩\u200d🚀 in orbit", "é"):  # ZWJ emoji and Devanagari joiners
        assert sw.validate_input("sora2_text_to_video", prompt=prompt).prompt == prompt


def test_nul_in_a_prompt_is_refused() -> None:
    with pytest.raises(sw.ValidationError, match=r"prompt contains a NUL character at position 1 \(U\+0000\)"):
        sw.validate_input("kling25_turbo_pro_text_to_video", prompt="a\x00b")


@pytest.mark.parametrize("empty", ["", "   "])
def test_an_empty_api_key_is_refused_not_sent_and_recorded_as_set(empty: str) -> None:
    with pytest.raises(sw.ValidationError) as info:
        sw.validate_input("sora2_video_to_video_remix", prompt=PROMPT, video_id="v1", api_key=empty)
    assert "api_key is empty: leave it out to be billed through fal, or give the whole key" in str(info.value)
    # Left out, it is not in the request, nor noted as set in what the ledger stores.
    inp = sw.validate_input("sora2_video_to_video_remix", prompt=PROMPT, video_id="v1")
    assert "api_key" not in inp.to_payload() and "api_key_set" not in inp.public_params()


def test_unknown_field_names_are_shown_escaped_on_one_line() -> None:
    with pytest.raises(sw.ValidationError) as info:
        sw.validate_input("sora2_text_to_video", prompt=PROMPT, **{"bad\nname": 1, "\ud800": 2})
    message = str(info.value)
    assert "'bad\\nname': is not an input of Sora 2" in message and "'\\ud800'" in message
    assert "\n" not in message
    message.encode("utf-8")
    with pytest.raises(sw.ValidationError, match="'a b': is not a setting of Sora 2"):
        sw.estimate_cost("sora2_text_to_video", **{"a b": 1})


def test_model_id_is_positional_so_model_id_is_just_an_unknown_input() -> None:
    with pytest.raises(sw.ValidationError, match="model_id: is not an input of Sora 2"):
        sw.validate_input("sora2_text_to_video", prompt=PROMPT, model_id="x")
    with pytest.raises(sw.ValidationError, match="model_id: is not a setting of Sora 2"):
        sw.estimate_cost("sora2_text_to_video", model_id="x")


@pytest.mark.parametrize("bad", [None, 3, ["sora2_text_to_video"], b"sora2_text_to_video"])
def test_a_model_id_that_is_not_text_is_an_unknown_model(bad: Any) -> None:
    with pytest.raises(sw.UnknownModelError) as info:
        sw.validate_input(bad, prompt=PROMPT)
    assert "known models: sora2_text_to_video" in str(info.value) and "\n" not in str(info.value)
