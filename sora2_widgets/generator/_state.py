"""The state one Generator's jobs share: its client and history, its lease owner, its rows in hand.

Every step (prepare, run, save, resume, cancel) takes this object, so the steps can live in their
own modules while the Generator keeps only the wiring and its public methods.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from decimal import Decimal
from typing import Any

from .._config import budget_from_env
from ..history import History, HistoryRecord, new_owner_token
from ._adapter import ClientAdapter

log = logging.getLogger("sora2_widgets.generator")


class RunState:
    """Client, history, budget and leases of one Generator, and which of its rows are taken.

    ``client`` and ``history`` are made on first use when none was given (an ``AsyncFalClient()``,
    a ``History()``); this object then owns them. ``budget`` (USD) falls back to
    ``$SORA2_WIDGETS_BUDGET``, read at each check.
    """

    def __init__(self, client: Any, history: History | None, budget: Decimal | None, *, lease_seconds: float) -> None:
        self._client_obj = client
        self.owns_client = client is None
        self._adapter: ClientAdapter | None = None
        self._history = history
        self.owns_history = history is None
        self.budget = budget
        self.lease_seconds = lease_seconds
        self.owner = new_owner_token()
        self._lock = threading.Lock()
        self.heartbeat: asyncio.Task[None] | None = None
        #: One event per job of ours that can be cancelled: set by ``cancel(history_id)``.
        self.cancels: dict[int, asyncio.Event] = {}
        # Rows a task of this generator is working on right now. Leases say which *process* looks
        # after a row; this says which rows of ours are taken, so that our own resume pass (it runs
        # beside the first generate calls) never picks up a job we are still submitting.
        self.live: set[int] = set()
        self._live_lock = threading.Lock()

    # -- wiring -----------------------------------------------------------------------------
    @property
    def history(self) -> History:
        with self._lock:
            if self._history is None:
                self._history = History()
            return self._history

    def client(self) -> ClientAdapter:
        with self._lock:
            if self._adapter is None:
                if self._client_obj is None:
                    # Imported late: a generator given its own client never builds the default one.
                    from ..client import AsyncFalClient

                    self._client_obj = AsyncFalClient()
                self._adapter = ClientAdapter(self._client_obj)
            return self._adapter

    @property
    def made_client(self) -> ClientAdapter | None:
        """The adapter if the client was ever used (nothing to close otherwise)."""
        return self._adapter

    def close_history(self) -> None:
        """Close the history if this generator made it."""
        if self.owns_history and self._history is not None:
            self._history.close()

    def budget_now(self) -> Decimal | None:
        return self.budget if self.budget is not None else budget_from_env()

    # -- rows in hand -----------------------------------------------------------------------
    def add_live(self, fields: dict[str, Any], budget: Decimal | None, high: Decimal) -> tuple[int | None, Decimal]:
        """Insert the row and mark it taken in one step, as far as our resume pass can see."""
        with self._live_lock:
            hid, committed = self.history.add_with_budget(fields, budget=budget, high=high)
            if hid is not None:
                self.live.add(hid)
            return hid, committed

    def claim(self, provider: str) -> list[HistoryRecord]:
        """Lease the unfinished rows no one looks after (none of ours that are taken)."""
        with self._live_lock:
            claimed = self.history.claim(self.owner, self.lease_seconds, provider=provider, exclude=self.live)
            self.live.update(rec.id for rec in claimed)
            return claimed

    # -- leases -----------------------------------------------------------------------------
    def ensure_heartbeat(self) -> None:
        """Start renewing this process's leases (on the running loop) unless that already runs."""
        if self.heartbeat is None or self.heartbeat.done():
            self.heartbeat = asyncio.get_running_loop().create_task(self._beat())

    async def _beat(self) -> None:
        # Renew this process's leases while it lives; a killed process's leases are reclaimed at
        # once on this host (dead pid) or when they expire elsewhere.
        while True:
            await asyncio.sleep(self.lease_seconds / 4)
            try:
                await asyncio.to_thread(self.history.renew_leases, self.owner, self.lease_seconds)
            except Exception:
                log.exception("history: could not renew leases")
