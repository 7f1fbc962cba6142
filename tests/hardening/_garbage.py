"""Strategies for the hardening suite: what a hostile (or just unlucky) user throws at the package.

Two kinds of input:

* ``garbage_params(spec)``: any mix of the model's own inputs (valid values included, so that the
  garbage sits next to the real thing), unknown names and values of every Python type a notebook
  makes — anything may come out of it, valid or not;
* ``invalid_params(spec)``: the same, with at least one input drawn from ``BAD[...]``, values that
  are invalid for that input by construction (written down here from DESIGN §2 and fal's schemas,
  not derived from the package's own validation, so that a test of "refused" cannot be circular).
"""

from __future__ import annotations

import atexit
import base64
import io
import math
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from PIL import Image

import sora2_widgets as sw
from tests._secrets import OPENAI_KEY

# -- files on disk the garbage can point at -----------------------------------------------------------
FILES = Path(tempfile.mkdtemp(prefix="sora2-hardening-"))
atexit.register(shutil.rmtree, FILES, ignore_errors=True)


def _png(size: tuple[int, int] = (16, 12)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "teal").save(out, format="PNG")
    return out.getvalue()


PNG = _png()
(FILES / "good.png").write_bytes(PNG)
(FILES / "cut.png").write_bytes(PNG[: len(PNG) // 2])
(FILES / "text.png").write_text("hello, not an image")
(FILES / "empty.png").write_bytes(b"")
(FILES / "folder.png").mkdir()
BMP = io.BytesIO()
Image.new("RGB", (4, 4)).save(BMP, format="BMP")
(FILES / "bitmap.bmp").write_bytes(BMP.getvalue())

GOOD_DATA_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()

#: Image inputs that are not an image fal takes, whatever form they come in.
BAD_IMAGES: list[Any] = [
    "data:text/plain,hello",
    "data:,hello",
    "data:image/png;base64," + base64.b64encode(PNG[: len(PNG) // 2]).decode(),
    "data:image/png;base64," + base64.b64encode(b"hello").decode(),
    "data:image/jpeg;base64," + base64.b64encode(PNG).decode(),  # says JPEG, holds a PNG
    "data:image/png;base64,@@@@",
    "data:image/bmp;base64," + base64.b64encode(BMP.getvalue()).decode(),
    FILES / "cut.png",
    FILES / "text.png",
    FILES / "empty.png",
    FILES / "folder.png",
    FILES / "bitmap.bmp",
    FILES / "missing.png",
    str(FILES / "folder.png"),
    str(FILES / "missing.png"),
    PNG[:20],
    b"",
    b"\x00" * 64,
    "ftp://example.com/a.png",
    "not a url",
    "https://",
    "",
    12,
]

# -- values -----------------------------------------------------------------------------------------
# Every character, lone surrogates included (argv and JSON can both carry them).
any_char = st.characters(codec=None, exclude_categories=())
text = st.text(any_char, max_size=30)
tricky_text = st.sampled_from(
    [
        "",
        " ",
        "\u200b\u200b",
        "\x00",
        "a\x00b",
        "\ud800",
        "x\udfff",
        "\n",
        "null",
        "None",
        "NaN",
        "Infinity",
        "-1",
        "8",
        "8.0",
        " 8",
        "1e3",
        "0x10",
        "1_0",
        "٨",
        "true",
        "[1",
        '{"a":',
        "16:9 ",
        "a" * 600,
        "a" * 5001,
    ]
)
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 4, 5, 8, 10, 20, 8.0, 10.0, 8.5, 0.5, 1.5, -0.0, 2**63, Decimal("8"), Decimal("sNaN")]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, text, tricky_text, st.binary(max_size=20))
garbage = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.frozensets(st.integers(max_value=9), max_size=2),
        st.dictionaries(st.text(max_size=4), inner, max_size=2),
    ),
    max_leaves=5,
)


def valid_values(spec: sw.ModelSpec, name: str) -> list[Any]:
    """Values the service takes for ``name`` (so garbage is mixed with the real thing)."""
    if name in spec.allowed:
        return list(spec.allowed[name])
    return {
        "prompt": ["A paper boat on a rainy street", "x"],
        "image_url": [GOOD_DATA_URI, "https://example.com/frame.png", FILES / "good.png", PNG],
        "start_image_url": [GOOD_DATA_URI, "https://example.com/frame.png", FILES / "good.png"],
        "tail_image_url": [None, GOOD_DATA_URI],
        "end_image_url": [None, GOOD_DATA_URI],
        "generate_audio": [True, False],
        "auto_fix": [True, False],
        "seed": [None, 0, 42],
        "end_user_id": [None, "user-1"],
        "multi_prompt": [None, [{"prompt": "a fox", "duration": "4"}]],
        "video_id": ["video_123"],
        "delete_video": [True, False],
        "detect_and_block_ip": [None, True, False],
        "character_ids": [None, ["char_1"], ["a", "b"]],
        "api_key": [None, OPENAI_KEY],
        "negative_prompt": ["blur", ""],
        "cfg_scale": [0.0, 0.5, 1, 1.0],
    }.get(name, [])


def _value_for(spec: sw.ModelSpec, name: str) -> st.SearchStrategy[Any]:
    options = valid_values(spec, name)
    strategies = [garbage, tricky_text]
    if options:
        strategies.insert(0, st.sampled_from(options))
    if name in IMAGE_INPUTS:
        strategies.append(st.sampled_from(BAD_IMAGES))
    return st.one_of(*strategies)


#: Inputs that name an image, across the catalog (start and end frames).
IMAGE_INPUTS = ("image_url", "tail_image_url", "start_image_url", "end_image_url")


#: Names that are not inputs of any model (misspelt secrets among them: their values must never show).
unknown_names = st.one_of(
    st.sampled_from(
        ["seed", "fps", "API_KEY", "apikey", "openai_api_key", "api_key ", "Duration", "image", "__class__"]
    ),
    st.text(any_char, min_size=1, max_size=12),
)


def _unknown(spec: sw.ModelSpec) -> st.SearchStrategy[str]:
    # "source" is the generator's (remix) and "model_id"/"on_update" are generate()'s own arguments.
    reserved = set(spec.input_model.model_fields) | {"source", "model_id", "on_update"}
    return unknown_names.filter(lambda n: n not in reserved)


def garbage_params(spec: sw.ModelSpec) -> st.SearchStrategy[dict[str, Any]]:
    """Any mix of ``spec``'s inputs (valid or not) and unknown names."""
    own = st.fixed_dictionaries(
        {},
        optional={name: _value_for(spec, name) for name in spec.input_model.model_fields},
    )
    extra = st.dictionaries(_unknown(spec), st.one_of(garbage, st.just(OPENAI_KEY)), max_size=2)
    return st.builds(lambda a, b: {**a, **b}, own, extra)


# -- values that are invalid by construction -------------------------------------------------------------
def _not_in(allowed: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    def invalid(v: Any) -> bool:
        # Exactly-valid values are out, and so are their one documented spelling: a whole float (8.0),
        # or for Kling's text seconds the number (10 / 10.0).
        if isinstance(v, bool):
            return True
        if isinstance(v, (int, float, Decimal)):
            try:
                whole = v == int(v)
            except (OverflowError, ValueError, ArithmeticError):
                return True
            return not (whole and (int(v) in allowed or str(int(v)) in allowed))
        return v not in allowed

    return st.one_of(garbage, tricky_text, st.just(None)).filter(invalid)


def bad_values(spec: sw.ModelSpec, name: str) -> st.SearchStrategy[Any]:
    """Values ``name`` must refuse for ``spec`` (from DESIGN §2 and fal's schemas)."""
    limit = spec.declared_prompt_limit  # None: the service states none, so no length is too long
    not_text = st.one_of(st.none(), st.booleans(), numbers, st.binary(max_size=5), st.lists(text, max_size=2))
    if name in spec.allowed:
        return _not_in(tuple(spec.allowed[name]))
    if name == "prompt":
        # Where multi_prompt may stand in for it (Kling 3.0), leaving the prompt out is no error.
        optional = name not in spec.required
        return st.one_of(
            not_text.filter(lambda v: not (optional and v is None)),
            st.sampled_from(["", "   ", "\u200b\u200b", "\u200d\ufeff \n", "\u3164"]),
            st.just("x" * (limit + 1)) if limit is not None else st.nothing(),
            st.builds(lambda a, b: a + "\x00" + b, text, text),
            st.builds(lambda a, b: a + "\ud800" + b, text, text),
        )
    if name in ("delete_video", "detect_and_block_ip", "generate_audio", "auto_fix"):
        not_bool = st.one_of(numbers, text, st.binary(max_size=3), st.lists(st.booleans(), max_size=2))
        return not_bool if name == "detect_and_block_ip" else st.one_of(not_bool, st.none())
    if name == "seed":  # a whole number or left out
        return st.one_of(
            st.booleans(),
            text,
            st.binary(max_size=3),
            st.floats().filter(lambda f: not f.is_integer()),
            st.lists(numbers),
        )
    if name == "end_user_id":
        return st.one_of(st.booleans(), numbers, st.binary(max_size=5), st.lists(text, max_size=2), st.just("a\x00b"))
    if name == "multi_prompt":  # 1–6 shots {prompt, duration "1"…"15"}, at most 15 s in all
        shot = {"prompt": "a shot", "duration": "5"}
        return st.one_of(
            text,
            numbers,
            st.booleans(),
            st.just([]),
            st.just([shot] * 7),
            st.just([shot, shot, {"prompt": "c", "duration": "6"}]),
            st.just([{"prompt": "a", "duration": "20"}]),
            st.just([{"duration": "5"}]),
            st.just([{"prompt": "", "duration": "5"}]),
            st.just(["a shot"]),
        )
    if name == "character_ids":
        return st.one_of(
            text,
            st.lists(text.filter(str.strip), min_size=3, max_size=4),
            st.just(["ok", " "]),
            st.lists(st.integers(), min_size=1, max_size=2),
            st.frozensets(st.text(min_size=1, max_size=3), min_size=1, max_size=2),
            st.booleans(),
            numbers,
        )
    if name == "api_key":
        return st.one_of(
            st.sampled_from(["", "   ", OPENAI_KEY + "\n", " " + OPENAI_KEY, OPENAI_KEY + "\ud800", "a\x00b"]),
            st.booleans(),
            numbers,
            st.binary(max_size=5),
        )
    if name == "cfg_scale":
        return st.one_of(
            st.floats().filter(lambda f: math.isnan(f) or not 0 <= f <= 1),
            st.integers().filter(lambda i: not 0 <= i <= 1),
            st.none(),
            st.booleans(),
            text,
        )
    if name == "negative_prompt":
        # Left out (None) is fine where the service has no default; too long only where it has a limit.
        prop = spec.entry.input_schema["properties"][name]
        bad = [not_text.filter(lambda v: v is not None or "default" in prop), st.just("blur\x00")]
        if "maxLength" in prop:
            bad.append(st.just("x" * (prop["maxLength"] + 1)))
        return st.one_of(*bad)
    if name in IMAGE_INPUTS:
        return st.sampled_from(BAD_IMAGES)
    if name == "video_id":
        return st.one_of(not_text, st.sampled_from(["", "  ", "v\n1", "v\ud800"]))
    raise AssertionError(f"no bad values written down for {name}: add them (every input needs some)")


#: Every (model, input) pair, and (model, None) for "a name the model does not take".
INPUTS: list[tuple[str, str | None]] = [
    (m.id, name) for m in sw.MODELS for name in [*sorted(m.input_model.model_fields), None]
]


def invalid_params(spec: sw.ModelSpec, name: str | None) -> st.SearchStrategy[tuple[dict[str, Any], str]]:
    """``(params, bad)``: garbage with ``params[bad]`` invalid by construction.

    ``bad`` is ``name``, or an unknown input name when ``name`` is None.
    """

    @st.composite
    def build(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
        params = draw(garbage_params(spec))
        if name is None:
            bad = draw(_unknown(spec))
            params[bad] = draw(st.one_of(garbage, st.just(OPENAI_KEY)))
        else:
            bad = name
            params[bad] = draw(bad_values(spec, name))
        return params, bad

    return build()
