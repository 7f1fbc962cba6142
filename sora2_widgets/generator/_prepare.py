"""Before anything is recorded or sent: validate one job's input, price it, and build its ledger row.

A remix resolves its source video in the history first (by history id, Generation, record or
``video_id``) and is refused here when that video cannot be remixed. Any error raised here leaves
nothing behind: no row, no request.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from .._catalog import ModelSpec, estimate_cost, get_model
from .._errors import FieldError, ValidationError
from .._images import local_images, with_image_data_uris
from .._pricing import CostEstimate
from ..client import LogLine
from ..history import HistoryRecord, scrub_params, to_micros
from ._generation import OnUpdate, Progress
from ._marker import with_marker_seed
from ._outcome import emit
from ._state import RunState

#: One job of a batch: ``{"model_id": ..., **params}`` or ``(model_id, params)``.
JobSpec = Mapping[str, Any] | tuple[str, Mapping[str, Any]]


def normalize(jobs: Iterable[JobSpec]) -> list[tuple[str, dict[str, Any]]]:
    """A batch as ``(model_id, params)`` pairs; a malformed job raises ``TypeError``."""
    out: list[tuple[str, dict[str, Any]]] = []
    for job in jobs:
        if isinstance(job, Mapping):
            params = dict(job)
            if "model_id" not in params:
                raise TypeError(f"a job needs a model_id: {sorted(params)}")
            out.append((str(params.pop("model_id")), params))
        elif isinstance(job, tuple) and len(job) == 2 and isinstance(job[0], str):
            out.append((job[0], dict(job[1])))
        else:
            raise TypeError("each job is {'model_id': ..., **params} or (model_id, params)")
    return out


def _source_id(spec: ModelSpec, source: object) -> int:
    """The history id a remix ``source`` names: a row id (an int of 1 or more, or its digits), a
    :class:`HistoryRecord` or a Generation. Never coerced: ``True`` or ``1.9`` is no row id."""
    found = getattr(source, "history_id", None)
    if found is None and isinstance(source, HistoryRecord):
        found = source.id
    if found is None:
        found = source
    if isinstance(found, str) and found.isascii() and found.isdigit():
        found = int(found)
    if isinstance(found, int) and not isinstance(found, bool) and found >= 1:
        return found
    raise ValidationError(
        spec.id,
        [
            FieldError(
                "source",
                f"must be a history id (a whole number of 1 or more), a HistoryRecord or a Generation, "
                f"got {found!r:.60}",
            )
        ],
    )


def resolve_source(
    state: RunState, spec: ModelSpec, params: dict[str, Any], source: Any
) -> tuple[HistoryRecord | None, float | None]:
    """For remix: the source row (by history id, Generation/record, or video_id), checked."""
    rec: HistoryRecord | None = None
    if source is not None:
        sid = _source_id(spec, source)
        try:
            rec = state.history.get(sid)
        except KeyError:
            raise ValidationError(spec.id, [FieldError("source", f"no generation #{sid} in the history")]) from None
    elif params.get("video_id"):
        # Validated before the ledger is asked: a video_id SQLite cannot encode (a lone
        # surrogate) is the caller's mistake, named as such, not a UnicodeEncodeError.
        spec.validate(params)
        rec = state.history.find_video_id(str(params["video_id"]))
    if rec is None:
        return None, None  # a video_id made elsewhere: the service will judge it
    why = None
    try:
        source_spec: ModelSpec | None = get_model(rec.model_id)
    except KeyError:
        source_spec = None
    if source_spec is None or not source_spec.is_sora:
        why = f"generation #{rec.id} was made by {rec.model_id}, not Sora; only Sora videos can be remixed"
    elif rec.status != "completed" or not rec.video_id:
        why = f"generation #{rec.id} did not complete with a video_id (status {rec.status})"
    elif rec.deleted:
        why = f"generation #{rec.id} was deleted"
    elif not rec.kept_for_remix:
        why = (
            f"generation #{rec.id} was made with delete_video=True, so the service deleted it; "
            "generate with delete_video=False to keep videos remixable"
        )
    elif rec.provider != state.client().provider:
        why = f"generation #{rec.id} was made on {rec.provider}, not on {state.client().provider}"
    if why:
        raise ValidationError(spec.id, [FieldError("source", why)])
    given = params.get("video_id")
    if given and given != rec.video_id:
        raise ValidationError(spec.id, [FieldError("video_id", f"does not match generation #{rec.id}")])
    params["video_id"] = rec.video_id
    duration = rec.duration or (float(rec.params["duration"]) if "duration" in rec.params else None)
    return rec, duration


def prepare(
    state: RunState, model_id: str, params: Mapping[str, Any]
) -> tuple[ModelSpec, dict[str, Any], dict[str, Any], CostEstimate]:
    """Validate and price one job; builds its ledger fields. Raises before anything is recorded.

    Returns the model, the parameters to send, the row's fields and the cost estimate."""
    spec = get_model(model_id)
    params = dict(params)
    source = params.pop("source", None)
    rec: HistoryRecord | None = None
    source_duration: float | None = None
    if spec.inherits_from_source:
        rec, source_duration = resolve_source(state, spec, params, source)
    elif source is not None:
        raise ValidationError(spec.id, [FieldError("source", "only remix models take a source video")])
    # Local images become data URIs here, not only in the client: validation and the
    # ledger's stored parameters must see what will be sent.
    params = with_image_data_uris(spec.id, params)
    # Chosen here, so the ledger's parameters hold the seed that is sent (see _marker).
    params = with_marker_seed(spec, params)
    inp = spec.validate(params)
    secret = spec.input_model.SECRET_FIELDS
    est = estimate_cost(
        spec.id, source_duration=source_duration, **{k: v for k, v in params.items() if k not in secret}
    )
    public = inp.public_params()
    stored = scrub_params(public)
    prompt = str(stored.pop("prompt", ""))
    if source_duration is not None:
        stored["source_duration"] = source_duration  # remix cost on resume needs it
    fields: dict[str, Any] = {
        "model_id": spec.id,
        "endpoint": spec.endpoint,
        "mode": spec.mode.value,
        "prompt": prompt,
        "params_json": json.dumps(stored, sort_keys=True, ensure_ascii=False),
        "provider": state.client().provider,
        "status": "submitted",
        "est_low_micros": to_micros(est.low),
        "est_high_micros": to_micros(est.high),
        "remixed_from": rec.id if rec is not None else None,
        "kept_for_remix": int(spec.is_sora and getattr(inp, "delete_video", True) is False),
        "lease_owner": state.owner,
        "lease_until": time.time() + state.lease_seconds,
    }
    # A ledger that cannot record the job (read-only) refuses it now: nothing is sent unrecorded.
    state.history.require_writable()
    return spec, params, fields, est


async def upload_images(
    state: RunState,
    index: int,
    model_id: str,
    params: Mapping[str, Any],
    send: dict[str, Any],
    fields: dict[str, Any],
    on_update: OnUpdate | None,
) -> dict[str, Any]:
    """``send`` with each local image uploaded through the client's storage flow, and the uploaded
    URL (not the bytes) in the row's stored parameters. Runs before the row exists: an upload that
    fails leaves nothing behind, and an upload costs nothing. A client without uploads (a custom
    one) gets the data URIs ``prepare`` made. With a file to upload, ``on_update`` first gets the
    ``uploading`` stage, naming each file and its size."""
    client = state.client().client
    upload = getattr(client, "upload_images", None)
    if upload is None:
        return send
    files = local_images(params, send)
    if files:
        lines = tuple(
            LogLine(f"{image.file_name} ({_size(len(image.data))}) for {name}") for name, image in files.items()
        )
        emit(on_update, Progress(index, model_id, "uploading", logs=lines))
    if inspect.iscoroutinefunction(upload):
        sent: dict[str, Any] = await upload(params, send)
    else:
        sent = await asyncio.to_thread(upload, params, send)
    changed = {k: v for k, v in sent.items() if send.get(k) != v}
    if changed:
        stored = json.loads(fields["params_json"])
        stored.update(changed)
        fields["params_json"] = json.dumps(stored, sort_keys=True, ensure_ascii=False)
    return sent


def _size(n: int) -> str:
    if n < 1000:
        return f"{n} bytes"
    return f"{n / 1000:.1f} KB" if n < 1_000_000 else f"{n / 1_000_000:.1f} MB"
