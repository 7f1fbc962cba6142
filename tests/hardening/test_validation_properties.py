"""Properties of validate_input and estimate_cost over generated garbage, for every model (issue 16).

For any input: success, or an error of the package whose message is one line, holds no secret,
and carries no chained exception (pydantic's would quote every input). For an input that is
invalid by construction (``_garbage.invalid_params``): a ValidationError naming that input.
Whatever validates is a JSON body that encodes to UTF-8, and is priced by estimate_cost.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sora2_widgets as sw
from tests._secrets import OPENAI_KEY
from tests.hardening._garbage import INPUTS, garbage, garbage_params, invalid_params
from tests.hardening._profile import examples

MODEL_IDS = [m.id for m in sw.MODELS]
#: estimate_cost ignores these: it prices a job from its settings, before there is a prompt.
NOT_PRICED = ("prompt", "image_url", "video_id", "tail_image_url", "start_image_url", "end_image_url")


def assert_clean_refusal(err: BaseException) -> None:
    """What a user meets when the package says no: one line of its own error, nothing secret."""
    assert isinstance(err, sw.Sora2Error), f"{type(err).__name__} escaped: {err!r}"
    message = str(err)
    assert message and "\n" not in message and "\r" not in message, message
    message.encode("utf-8")  # printable on any UTF-8 terminal: no lone surrogate from the input
    every_text = message + repr(err) + repr(err.args) + repr(vars(err))
    assert OPENAI_KEY not in every_text
    if isinstance(err, sw.ValidationError):
        # Raised outside pydantic's except: no context to chain, so no input_value='sk-…' in a traceback.
        assert err.__context__ is None and err.__cause__ is None


def shown(name: str) -> str:
    """How a message names an input: as is when it is a plain name, else quoted and escaped."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and len(name) <= 60:
        return name
    quoted = repr(name)
    return quoted if len(quoted) <= 60 else quoted[:57] + "..."


def assert_valid_request(inp: sw.ModelSpec | Any) -> None:
    body = inp.to_payload()
    # The body the client sends: strict JSON (no NaN), encodable to UTF-8 (no lone surrogate).
    json.dumps(body, allow_nan=False, ensure_ascii=False).encode("utf-8")
    stored = inp.public_params()
    assert "api_key" not in stored and OPENAI_KEY not in json.dumps(stored)


@pytest.mark.parametrize("model_id", MODEL_IDS)
@examples(120)
@given(data=st.data())
def test_validate_input_accepts_or_refuses_cleanly(model_id: str, data: st.DataObject) -> None:
    params = data.draw(garbage_params(sw.get_model(model_id)), label="params")
    try:
        inp = sw.validate_input(model_id, **params)
    except Exception as exc:
        assert_clean_refusal(exc)
        return
    assert_valid_request(inp)
    # What validates is priced (from the values the request will carry) without a second opinion.
    settings = {k: v for k, v in params.items() if k not in NOT_PRICED}
    est = sw.estimate_cost(model_id, **settings)
    assert Decimal(0) <= est.low <= est.high


@pytest.mark.parametrize(("model_id", "name"), INPUTS)
@examples(10)
@given(data=st.data())
def test_validate_input_refuses_an_invalid_input_naming_it(
    model_id: str, name: str | None, data: st.DataObject
) -> None:
    params, bad = data.draw(invalid_params(sw.get_model(model_id), name), label="params, bad input")
    with pytest.raises(sw.ValidationError) as info:
        sw.validate_input(model_id, **params)
    assert_clean_refusal(info.value)
    # A list of shots may be refused for one shot's field: "multi_prompt.0.duration" names it.
    named = [e.field for e in info.value.errors]
    assert any(f == shown(bad) or f.startswith(shown(bad) + ".") for f in named), (bad, info.value.errors)


@pytest.mark.parametrize(("model_id", "name"), INPUTS)
@examples(5)
@given(data=st.data())
def test_estimate_cost_prices_or_refuses_cleanly(model_id: str, name: str | None, data: st.DataObject) -> None:
    params, bad = data.draw(invalid_params(sw.get_model(model_id), name), label="params, bad input")
    source = data.draw(
        st.fixed_dictionaries({}, optional={"source_duration": garbage, "source_resolution": garbage}),
        label="source",
    )
    try:
        est = sw.estimate_cost(model_id, **source, **params)
    except Exception as exc:
        assert_clean_refusal(exc)
        return
    # Priced: then the bad input is one the price does not read, and the price is a real one.
    assert bad in NOT_PRICED, f"{bad}={params[bad]!r} was priced"
    assert Decimal(0) <= est.low <= est.high and est.high.is_finite()
