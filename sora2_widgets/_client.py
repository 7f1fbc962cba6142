# TEMPORARY merge shim (issue 11): the lead removes this after merging; import from sora2_widgets.client.
"""Re-exports for code outside the client's area that still imports ``sora2_widgets._client``."""

from __future__ import annotations

import sys
import types

from .client import _target
from .client._async import AsyncFalClient as AsyncFalClient
from .client._models import Downloaded as Downloaded
from .client._models import Job as Job
from .client._models import LogLine as LogLine
from .client._models import QueueUpdate as QueueUpdate
from .client._models import RetryPolicy as RetryPolicy
from .client._sync_client import FalClient as FalClient
from .client._target import DEFAULT_QUEUE_URL as DEFAULT_QUEUE_URL
from .client._target import DEFAULT_RUN_URL as DEFAULT_RUN_URL
from .client._target import mark_emulator_announced as mark_emulator_announced


class _ForwardingModule(types.ModuleType):
    """tests/panel/test_emulator_panel.py monkeypatches ``_client._announced_emulator``; the flag now
    lives in ``client._target``, so this one name reads and writes through to it."""

    @property
    def _announced_emulator(self) -> bool:
        return _target._announced_emulator

    @_announced_emulator.setter
    def _announced_emulator(self, value: bool) -> None:
        _target._announced_emulator = value


sys.modules[__name__].__class__ = _ForwardingModule
