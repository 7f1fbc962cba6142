"""Orchestration shared by the panel and the CLI: budget → ledger → submit → wait → result → media.

One module per idea:

* ``_generation``: :class:`Generation` and :class:`Progress`, what callers get back (with notebook HTML);
* ``_adapter``: what the generator needs from a client; drives sync and async clients alike;
* ``_state``: what one Generator's jobs share (client, history, budget, leases, rows in hand);
* ``_prepare``: validate, price and build the ledger row of one job, before anything is recorded;
* ``_run``: one job from budget check to its end, batches, cancel;
* ``_outcome``: what each way a job ends leaves in its row, and the Generation built from it;
* ``_save``: record the result and cost once, then download, check and probe the media;
* ``_media``: the saved MP4 checked and probed with PyAV, thumbnails;
* ``_resume``: claim and finish the rows earlier sessions left unfinished;
* ``_marker``: the submit marker recorded with each row (the digest of the body sent);
* ``_recover``: lost submits (``unknown`` rows) found in fal's request list, or marked ``not_created``;
* ``_bridge``: the sync and async methods' way onto the loop thread, and Ctrl-C's grace;
* ``_generator``: :class:`Generator`, the wiring and the public methods;
* ``_default``: the module-level ``generate``/``generate_many`` and their default Generator.
"""

from __future__ import annotations

from ._default import default_generator, generate, generate_many
from ._generation import Generation, OnUpdate, Progress
from ._generator import Generator
from ._outcome import UNKNOWN_SUBMIT
from ._prepare import JobSpec
from ._recover import RecoveredRow, RecoveryReport, recover_unknown

__all__ = [
    "UNKNOWN_SUBMIT",
    "Generation",
    "Generator",
    "JobSpec",
    "OnUpdate",
    "Progress",
    "RecoveredRow",
    "RecoveryReport",
    "default_generator",
    "generate",
    "generate_many",
    "recover_unknown",
]
