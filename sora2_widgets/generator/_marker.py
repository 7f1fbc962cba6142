"""The submit marker: what lets a submit whose answer was lost be found again in fal's request list.

fal validates every input against the model's schema, so nothing of ours can be added to a body.
What identifies a submit is the body itself, as sent: the marker is ``sha256:`` and the digest of
its canonical JSON (keys sorted, no spaces), recorded in the row's ``submit_marker`` in the same
transaction that creates the row, before the request leaves. Recovery compares it with the
digest of each ``json_input`` fal lists for the endpoint since the attempt.

Where a model has a free field for a unique value it gets one: a model with a ``seed`` input
(Veo 3.1, Seedance 2.0) that the caller left unset is sent a random seed (what the service would
have picked itself), so two identical requests still differ and the match is unambiguous; the
seed is stored with the row's parameters, which also makes the video reproducible. Sora 2 and
Kling have no such field; identical bodies there are interchangeable (same input, same price),
and recovery pairs them one to one in time order, never with a request another row already holds.

Secret fields (a BYOK ``api_key``) are left out of the digest: they never reach the ledger in any
form, and a service may list them masked or, like the emulator, as ``api_key_set``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from .._catalog import ModelSpec

__all__ = ["MARKER_PREFIX", "SEED_FIELD", "body_marker", "marker_for", "with_marker_seed"]

MARKER_PREFIX = "sha256:"
#: The input a model may have that takes any value without changing what is asked for.
SEED_FIELD = "seed"
#: Seeds stay within a signed 32-bit integer: every model with a seed accepts that range.
_SEED_LIMIT = 2**31


def with_marker_seed(spec: ModelSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with a random seed when the model takes one and none was given (see above)."""
    out = dict(params)
    if SEED_FIELD in spec.input_model.model_fields and SEED_FIELD not in out:
        out[SEED_FIELD] = secrets.randbelow(_SEED_LIMIT)
    return out


def _public(body: Mapping[str, Any], secret_fields: Iterable[str]) -> dict[str, Any]:
    hidden = set(secret_fields)
    hidden |= {f"{name}_set" for name in hidden}
    return {k: v for k, v in body.items() if k not in hidden}


def body_marker(body: Mapping[str, Any], secret_fields: Iterable[str] = ()) -> str:
    """The marker of a request body (as sent, or as fal lists it in ``json_input``)."""
    canonical = json.dumps(
        _public(body, secret_fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return MARKER_PREFIX + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def marker_for(spec: ModelSpec, send: Mapping[str, Any]) -> str:
    """The marker of the body the client will send for ``send`` (validated exactly as it does).

    The marker never refuses a job: input is checked before this, by ``prepare``. A body our
    schema would not build (a client that sends as given, to let fal judge) is marked as given."""
    from .._errors import ValidationError

    try:
        body = spec.validate(dict(send)).to_payload()
    except ValidationError:
        body = dict(send)
    return body_marker(body, spec.input_model.SECRET_FIELDS)
