"""The Generator: one object that runs generations for the panel, the CLI and notebook code.

It wires a client, a history and a budget to the steps that run a job (``_prepare``, ``_run``,
``_save``, ``_resume``) and offers each as a sync method and an async one. Unfinished rows of
earlier sessions are resumed in the background when it starts, and lost submits (``unknown`` rows)
are looked up on fal beside them (``_recover``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from .._config import parse_usd
from .._sync import LoopThread
from ..history import History
from ._bridge import callback_on_caller, run_on, run_with_grace, stop_leaving_loop_open
from ._generation import Generation, OnUpdate
from ._prepare import JobSpec, normalize
from ._recover import RECOVERY_WINDOW, RecoveryReport, recover_pass
from ._resume import resume_pass
from ._run import SweepTag, cancel, run_many, run_one
from ._state import RunState

T = TypeVar("T")

log = logging.getLogger("sora2_widgets.generator")


class Generator:
    """Runs generations: budget, ledger, client, media. Shared by the panel and the CLI.

    ``Generator(client=None, history=None, budget=None)``: ``client`` defaults to an
    ``AsyncFalClient()`` (FAL_KEY set → fal.ai, unset → the built-in emulator), ``history`` to
    ``History()``, ``budget`` (USD) to ``$SORA2_WIDGETS_BUDGET`` (read at each check). With
    ``resume=True`` the unfinished rows of earlier sessions are resumed in the background at once,
    and their lost submits recovered through fal's request list: ``platform`` is the Platform
    API client for that (``AsyncPlatformClient``/``PlatformClient`` of the same account); by default
    one is made from the environment when the generator makes its own client, else none is used.
    """

    def __init__(
        self,
        client: Any = None,
        history: History | None = None,
        budget: Decimal | int | str | None = None,
        *,
        resume: bool = True,
        lease_seconds: float = 120.0,
        platform: Any = None,
    ) -> None:
        self._state = RunState(
            client, history, None if budget is None else parse_usd(budget, field="budget="), lease_seconds=lease_seconds
        )
        self._platform = platform
        self._lock = threading.Lock()
        self._loop_thread = LoopThread("sora2-widgets-generator")
        self._resume_future: concurrent.futures.Future[list[Generation]] | None = None
        self._closed = False
        if resume:
            self._resume_future = self._loop().submit(self._resume_in_background())

    # -- wiring -----------------------------------------------------------------------------
    @property
    def history(self) -> History:
        return self._state.history

    @property
    def client(self) -> Any:
        return self._state.client().client

    @property
    def budget(self) -> Decimal | None:
        """The spending limit in USD; ``None`` reads ``$SORA2_WIDGETS_BUDGET`` at each check."""
        return self._state.budget

    @budget.setter
    def budget(self, amount: Decimal | int | str | None) -> None:
        self._state.budget = None if amount is None else parse_usd(amount, field="budget=")

    @property
    def owner(self) -> str:
        """The lease owner token of this generator's rows."""
        return self._state.owner

    @property
    def lease_seconds(self) -> float:
        """How long a claimed row's lease lasts; this process renews it every quarter of that."""
        return self._state.lease_seconds

    @lease_seconds.setter
    def lease_seconds(self, seconds: float) -> None:
        self._state.lease_seconds = seconds

    def _loop(self) -> LoopThread:
        with self._lock:
            if self._closed:
                raise RuntimeError("this Generator is closed")
            return self._loop_thread

    def _sync(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            lt = self._loop()
        except RuntimeError:
            coro.close()  # never started: without this Python warns "coroutine was never awaited"
            raise
        return run_with_grace(lt, coro)

    async def _on_private(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            lt = self._loop()
        except RuntimeError:
            coro.close()
            raise
        return await run_on(lt, coro)

    # -- public API ---------------------------------------------------------------------------
    def generate(self, model_id: str, *, on_update: OnUpdate | None = None, **params: Any) -> Generation:
        """Generate one video and wait for it. Raises on any failure (the row keeps what happened);
        the returned :class:`Generation` has the local file, cost and history id."""
        return self._sync(self._one(0, model_id, params, on_update)).raise_for_status()

    async def agenerate(
        self, model_id: str, *, on_update: OnUpdate | None = None, raise_on_error: bool = True, **params: Any
    ) -> Generation:
        """Async :meth:`generate`; with ``raise_on_error=False`` a failure comes back as a Generation."""
        gen = await self._on_private(self._one(0, model_id, params, callback_on_caller(on_update)))
        return gen.raise_for_status() if raise_on_error else gen

    def generate_many(
        self, jobs: Iterable[JobSpec], *, on_update: OnUpdate | None = None, sweeps: Sequence[SweepTag] | None = None
    ) -> list[Generation]:
        """Run several jobs concurrently: ``[{"model_id": ..., **params}, ...]`` or ``[(model_id,
        params), ...]``. Returns one Generation per job, in order; one failure never sinks the rest.
        Raises :class:`BudgetExceededError` (nothing sent) when the whole batch cannot fit the budget.
        ``sweeps`` (one ``(sweep name, combination key)`` per job) is stored on each job's row."""
        return self._sync(run_many(self._state, normalize(jobs), on_update, sweeps))

    async def agenerate_many(
        self, jobs: Iterable[JobSpec], *, on_update: OnUpdate | None = None, sweeps: Sequence[SweepTag] | None = None
    ) -> list[Generation]:
        """Async :meth:`generate_many`; ``on_update`` runs on the caller's loop. ``sweeps`` (one
        ``(sweep name, combination key)`` per job) is stored on each job's row, for ``sw.sweep``."""
        return await self._on_private(run_many(self._state, normalize(jobs), callback_on_caller(on_update), sweeps))

    def resume(self, *, on_update: OnUpdate | None = None) -> list[Generation]:
        """Finish the jobs earlier sessions left running (and videos never saved locally).

        Each row is claimed under a lease first, so two kernels resuming together finish every
        job exactly once. Returns what this call (and the start-up pass) resumed."""
        return self._sync(self._resume_all(on_update))

    async def aresume(self, *, on_update: OnUpdate | None = None) -> list[Generation]:
        """Async :meth:`resume`; ``on_update`` runs on the caller's loop."""
        return await self._on_private(self._resume_all(callback_on_caller(on_update)))

    def recover_unknown(
        self, *, window: dt.timedelta = RECOVERY_WINDOW, on_update: OnUpdate | None = None
    ) -> RecoveryReport:
        """Look up the lost submits (``unknown`` rows) in fal's request list now: a found job is
        followed to its end and saved, one not listed within ``window`` of its attempt becomes
        ``not_created`` (cost $0), the rest stay ``unknown``. See ``generator/_recover.py``."""
        return self._sync(recover_pass(self._state, self._platform, window=window, on_update=on_update))

    async def arecover_unknown(
        self, *, window: dt.timedelta = RECOVERY_WINDOW, on_update: OnUpdate | None = None
    ) -> RecoveryReport:
        """Async :meth:`recover_unknown`; ``on_update`` runs on the caller's loop."""
        coro = recover_pass(self._state, self._platform, window=window, on_update=callback_on_caller(on_update))
        return await self._on_private(coro)

    def cancel(self, history_id: int) -> bool:
        """Cancel a running job by its history id; True if a cancel was requested."""
        return self._sync(cancel(self._state, history_id))

    async def acancel(self, history_id: int) -> bool:
        """Async :meth:`cancel`."""
        return await self._on_private(cancel(self._state, history_id))

    def close(self) -> None:
        """Stop the background loop; close the client and history if this generator made them."""
        with self._lock:
            lt = self._loop_thread
            if self._closed or not lt.started:
                self._closed = True
                self._state.close_history()
                return
        with contextlib.suppress(Exception):
            lt.submit(self._shutdown()).result(timeout=10)
        if self._state.owns_client:
            lt.close()
        else:
            stop_leaving_loop_open(lt)  # the client's owner may still close it, from any loop
        with self._lock:
            self._closed = True
            self._state.close_history()

    def __enter__(self) -> Generator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- on the loop --------------------------------------------------------------------------
    async def _one(
        self, index: int, model_id: str, params: Mapping[str, Any], on_update: OnUpdate | None
    ) -> Generation:
        return await run_one(self._state, index, model_id, params, on_update)

    async def _resume_all(self, on_update: OnUpdate | None) -> list[Generation]:
        """What the start-up resume pass finished (reported once, to the first call), then a new pass."""
        earlier: list[Generation] = []
        if self._resume_future is not None:
            fut, self._resume_future = self._resume_future, None
            with contextlib.suppress(Exception):
                earlier = await asyncio.wrap_future(fut)
        return earlier + await resume_pass(self._state, on_update)

    async def _resume_in_background(self) -> list[Generation]:
        # A method rather than resume_pass itself: while it runs it keeps this generator, and so
        # its loop thread, alive (the thread of an owner that was dropped is stopped).
        # Beside the resume pass: a lost submit found on fal is one more job to finish.
        recovered, resumed = await asyncio.gather(
            recover_pass(self._state, self._platform), resume_pass(self._state), return_exceptions=True
        )
        if isinstance(resumed, BaseException):
            raise resumed
        if isinstance(recovered, BaseException):
            if not isinstance(recovered, Exception):
                raise recovered
            log.error("recovering lost submits failed; they stay unknown: %s", recovered)
            return resumed
        return [r.generation for r in recovered.found if r.generation is not None] + resumed

    async def _shutdown(self) -> None:
        state = self._state
        if state.heartbeat is not None:
            state.heartbeat.cancel()
        current = asyncio.current_task()
        for task in [t for t in asyncio.all_tasks() if t is not current]:
            task.cancel()
        adapter = state.made_client
        if state.owns_client and adapter is not None:
            with contextlib.suppress(Exception):
                await adapter.aclose()
