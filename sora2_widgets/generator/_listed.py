"""fal's request list as a source of results: reading it, and a recovered job's result from it.

A lost submit is often recovered long after its job ended, when the queue no longer serves the
result (fal keeps it 1 hour, 6 minutes when large). fal's request list keeps the job's output with
its input (``json_output``, stored with payloads for 30 days), so a job that ran, and was billed,
is still finished from there instead of being written off at $0.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import logging
from typing import TYPE_CHECKING, Any

import pydantic

from .._catalog import ModelSpec
from .._results import VideoResult
from ..client._redact import redact

if TYPE_CHECKING:
    from ..client._platform_models import RequestRecord

__all__ = ["CLOCK_SKEW", "read_listing", "result_from_listing"]

log = logging.getLogger("sora2_widgets.generator")

#: How far before a row's (or a request's) time the list is read: our clock and fal's may differ.
CLOCK_SKEW = dt.timedelta(minutes=2)


async def read_listing(platform: Any, endpoints: list[str], start: dt.datetime, **kw: Any) -> list[RequestRecord]:
    """fal's requests for ``endpoints`` since ``start``, with payloads (async or sync platform client)."""
    call = platform.requests_by_endpoint
    if inspect.iscoroutinefunction(call):
        found: list[RequestRecord] = await call(endpoints, start=start, payloads=True, **kw)
    else:
        found = await asyncio.to_thread(call, endpoints, start=start, payloads=True, **kw)
    return found


def _succeeded(item: RequestRecord) -> bool:
    return item.status_code is not None and 200 <= item.status_code < 300 and isinstance(item.json_output, dict)


async def result_from_listing(spec: ModelSpec, item: RequestRecord, platform: Any) -> VideoResult | None:
    """The result of the listed request ``item`` as fal's request list keeps it, or ``None`` when
    the list holds no successful output for it. ``item`` was listed when its row was matched; if
    the job was still running then, the list is read again for this one request."""
    if not _succeeded(item) and platform is not None:
        start = item.sent_at - CLOCK_SKEW
        try:
            again = await read_listing(platform, [item.endpoint_id], start, request_id=item.request_id)
        except Exception as exc:
            log.warning("request %s: fal's request list could not be read again (%s)", item.request_id, exc)
            return None
        item = next((i for i in again if i.request_id == item.request_id), item)
    if not _succeeded(item):
        return None
    # fal stores the input with the output; a model that echoes its input would echo a secret field.
    body = item.json_input if isinstance(item.json_input, dict) else {}
    secrets = tuple(v for k, v in body.items() if k in spec.input_model.SECRET_FIELDS and isinstance(v, str) and v)
    output = redact(item.json_output, secrets)
    try:
        return VideoResult.parse(spec.id, output, item.request_id)
    except (ValueError, pydantic.ValidationError) as exc:
        log.warning("request %s: fal's request list holds no usable video (%s)", item.request_id, exc)
        return None
