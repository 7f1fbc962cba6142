"""The fal queue client: :class:`AsyncFalClient`, its synchronous twin :class:`FalClient`, and their values.

One idea per module:

* ``_models``: the public values (:class:`Job`, :class:`QueueUpdate`, :class:`LogLine`,
  :class:`Downloaded`, :class:`RetryPolicy`) and the callback types;
* ``_options``: the keyword options both clients take (:class:`ClientOptions`);
* ``_target``: where a client talks (fal, a given URL or transport, the built-in emulator);
* ``_http``: the one ``httpx.AsyncClient``, the key only to fal's hosts, idempotent retries;
* ``_responses``: reading fal's answers; ``_redact``: keys scrubbed from what the service says;
  ``_errormap``: the package's errors built from those answers;
* ``_status``: status JSON → updates, log merging, SSE lines; ``_wait``: stream, else poll;
* ``_download``: atomic, checked downloads; ``_upload``: fal's storage flow (CDN token, single,
  multipart, the legacy initiate + PUT) for local images and files;
* ``_async``: :class:`AsyncFalClient`; ``_sync_client``: :class:`FalClient`.
"""

from __future__ import annotations

from ._async import AsyncFalClient
from ._models import Downloaded, Job, LogLine, QueueUpdate, RetryPolicy
from ._options import ClientOptions
from ._sync_client import FalClient
from ._target import DEFAULT_QUEUE_URL, DEFAULT_RUN_URL, mark_emulator_announced

__all__ = [
    "DEFAULT_QUEUE_URL",
    "DEFAULT_RUN_URL",
    "AsyncFalClient",
    "ClientOptions",
    "Downloaded",
    "FalClient",
    "Job",
    "LogLine",
    "QueueUpdate",
    "RetryPolicy",
    "mark_emulator_announced",
]
