"""The panel's state and logic, as plain Python: no widgets, so tests drive it without a browser.

The view (``_view.py``) turns widget events into calls on :class:`PanelController` and redraws
itself from the controller's state whenever an observer fires. The controller is the form
(``_form.py``: what the user chose) joined to the ledger (remix sources, money), the generator
(provider, key, budget) and the running jobs (``_jobs.py``).

**Confirmation** — a selection whose cost can exceed ``confirm_above`` (default $5) needs a
second click on Generate in the *same* state; any change re-arms it.

**One click, one set of jobs** — a double-click must not pay twice. From the click until every
job of it has a request id on the service (or ended), :attr:`PanelController.submitting` holds
Generate disabled and :meth:`~PanelController.generate` refuses. A later click on the *same*
request while its jobs still run is asked about ("Run the same 2 jobs again? $1.60"); only
:meth:`~PanelController.confirm_repeat` starts them again. The guard is here, not in the button:
the browser queues a second click before the kernel's "disabled" reaches it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from .._catalog import get_model
from .._config import budget_from_env, parse_usd, resolve_key
from .._pricing import format_usd
from .._sync import LoopThread
from ._budget import LedgerMoney, budget_blocker, cost_lines
from ._form import GENERATION_TABS, PanelForm
from ._jobs import JobRunner, JobState, JobStatus
from ._ledger import delete_rows, history_frame, simulated_spend, spend_by_user, spend_frames
from ._protocols import GeneratorLike, HistoryLike
from ._provider import GeneratorFactory, GeneratorSlot
from ._remix import RemixCandidate, RemixSources

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_CONFIRM_ABOVE", "GeneratorLike", "HistoryLike", "PanelController"]

log = logging.getLogger("sora2_widgets.panel")
DEFAULT_CONFIRM_ABOVE = Decimal(5)


class PanelController(PanelForm):
    """All the state of one panel. Setters validate, update and notify; getters derive the rest."""

    def __init__(
        self,
        generator: GeneratorLike | None = None,
        history: HistoryLike | None = None,
        *,
        key: str | SecretStr | None = None,
        budget: Decimal | int | str | None = None,
        confirm_above: Decimal | int | str = DEFAULT_CONFIRM_ABOVE,
        generator_factory: GeneratorFactory | None = None,
        loop: LoopThread | None = None,
    ) -> None:
        super().__init__()
        self._observers: list[Callable[[str], None]] = []
        self._job_observers: list[Callable[[JobState], None]] = []
        resolved = resolve_key(key)
        self._key: SecretStr | None = resolved.secret if resolved else None
        self.key_source: str | None = resolved.source if resolved else None
        # The budget lives on the generator (it enforces it atomically with the ledger row); this
        # copy only serves the panel without a generator.
        self._budget: Decimal | None = parse_usd(budget, field="budget=") if budget is not None else None
        self._slot = GeneratorSlot(generator, history, key=self._key, budget=self._budget, factory=generator_factory)
        self.confirm_above = parse_usd(confirm_above, field="confirm_above=")
        self._runner = JobRunner(loop, on_unavailable=self.unavailable.add, on_end=self._job_ended)
        self._version = 0
        self._armed_version: int | None = None
        # The status line is derived (see ``status``): a one-off message said on the current tab,
        # else the state of the jobs last started from this tab.
        self._message = ""
        self._message_warn = False
        self._batches: dict[str, list[JobState]] = {}
        # Per tab, the request its last jobs were started with: a click on the same one asks first.
        self._requests: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self._question: str | None = None
        self.jobs: list[JobState] = []
        # Ledger reads are cached between changes: the cost label is redrawn per keystroke.
        self._remix = RemixSources()
        self._money = LedgerMoney()

    # -- observers ------------------------------------------------------------------------
    def observe(self, callback: Callable[[str], None]) -> None:
        """``callback(what)`` after every change; ``what`` names the changed part (or "jobs")."""
        self._observers.append(callback)

    def on_new_job(self, callback: Callable[[JobState], None]) -> None:
        self._job_observers.append(callback)

    def _changed(self, what: str, *, rearm: bool = True) -> None:
        if what == "tab":
            self._say("")  # a message belongs to the tab it was said on
        if what in ("jobs", "history", "tab", "provider"):
            self._remix.forget()
            self._money.forget()
        if rearm:
            # Any change of what would be generated invalidates a pending confirmation.
            self._version += 1
            if self._armed_version is not None:
                self._armed_version = None
                self._message = ""
            self._question = None  # it asked about the request as it was
        for callback in list(self._observers):
            try:
                callback(what)
            except Exception:
                log.exception("panel observer failed")

    # -- provider, key and generator ------------------------------------------------------
    @property
    def generator(self) -> GeneratorLike | None:
        """The generator new jobs start on."""
        return self._slot.generator

    @property
    def history(self) -> HistoryLike | None:
        """The ledger the panel reads: the one its generator writes to."""
        return self._slot.history

    @property
    def provider(self) -> str:
        if self.generator is not None:
            return str(self.generator.client.provider)
        return "fal" if self._key else "emulator"

    @property
    def provider_label(self) -> str:
        if self.provider == "fal":
            return "fal.ai"
        return "Emulator (offline — nothing is charged)"

    @property
    def has_key(self) -> bool:
        return self._key is not None

    def set_key(self, value: str | SecretStr | None) -> None:
        """Take a key typed into the panel: held as SecretStr here only, never in a widget.

        The new generator writes to the same ledger and keeps the same budget; the old one is
        closed (its loop thread and resume pass) if the panel made it, once its running jobs end.
        """
        resolved = resolve_key(value) if value is not None else None
        if resolved is None and value is not None:
            return  # blank input: keep whatever we had
        self._key = resolved.secret if resolved else None
        self.key_source = "the panel's key field" if resolved else None
        old = self._slot.switch(self._key, self._budget_setting())
        if old is not None:
            self._retire(old)
        self._say("Key set: generating on fal.ai (charged to your account)." if self._key else "")
        self._changed("provider")

    def _retire(self, generator: GeneratorLike) -> None:
        """Close a generator the panel made and no longer uses, unless a job still runs on it."""
        # A job still on it closes it when it ends (see ``_job_ended``).
        self._slot.retire(generator, busy=self._runner.runs_on(generator))

    # -- remix sources --------------------------------------------------------------------
    def remix_candidates(self) -> list[RemixCandidate]:
        """Earlier Sora videos of this provider that can still be remixed (cached until the history changes)."""
        return self._remix.candidates(self.history, self.provider)

    def remix_from(self, history_id: int | str) -> bool:
        """The Remix tab with this ledger row's video chosen (a History row's or a card's "Remix").

        False, with the reason in the status line, when the row is not a remixable video.
        """
        self.refresh_history()
        self.set_tab("remix")
        for cand in self.remix_candidates():
            if cand.key == str(history_id):
                self.set_remix_source(cand.key)
                return True
        self.notify(
            f"Generation #{history_id} cannot be remixed: only completed Sora videos kept on the service can.",
            warn=True,
        )
        return False

    def refresh_history(self) -> None:
        """Re-read the history (after something outside the panel changed it)."""
        self._changed("history", rearm=False)

    # -- money ----------------------------------------------------------------------------
    def _budget_setting(self) -> Decimal | None:
        """The budget set in code (generator or panel), without the environment's fallback."""
        return self.generator.budget if self.generator is not None else self._budget

    @property
    def budget(self) -> Decimal | None:
        """The budget in USD: the generator's (which it enforces), else ``$SORA2_WIDGETS_BUDGET``."""
        found = self._budget_setting()
        return found if found is not None else budget_from_env()

    def set_budget(self, value: Decimal | int | str | None) -> None:
        """Set the budget where it is enforced: on the generator (and here, for a panel without one)."""
        # The one parser of amounts (env, --budget, Python): the same refusals everywhere.
        amount = None if value is None else parse_usd(value, field="budget=")
        if amount == self._budget_setting():
            return
        self._budget = amount
        if self.generator is not None:
            self.generator.budget = amount
        self._changed("budget")

    def spent(self) -> Decimal:
        """Total spent so far according to the history (cached until the history changes)."""
        return self._money.spent(self.history)

    def simulated_spent(self) -> Decimal:
        """The part of :meth:`spent` made on the emulator: priced like fal's, charged to nobody."""
        return Decimal(0) if self.history is None else simulated_spend(self.history)

    def committed(self) -> Decimal:
        """Spent plus the high estimate of every job still running: what the budget must cover.

        The ledger gives what everyone else has spent and reserved (other kernels included); the
        panel adds its own running jobs' high estimates from the moment of the click, so quick
        clicks cannot each pass. The generator's check, atomic with the ledger row, still decides.
        """
        running = tuple(j.id for j in self.jobs if not j.done)
        # The panel's own running jobs count here, from the click to their end, and are left out
        # of the ledger's figure: counted once whether or not their row is written yet (a job
        # counted by both refused a click that fitted the budget).
        mine = {g.owner for g in (self.generator, *self._runner.generators()) if g is not None}
        return self._money.committed(self.history, running, sorted(mine)) + self._runner.reserved(running)

    @property
    def budget_left(self) -> Decimal | None:
        budget = self.budget
        return None if budget is None else max(budget - self.committed(), Decimal(0))

    def cost_lines(self) -> list[str]:
        """The cost label as lines: the total first, then one line per model, then the budget."""
        rows = self.estimates()
        return cost_lines(rows, self.budget, self.budget_left if rows else None)

    # -- can we generate? -----------------------------------------------------------------
    @property
    def blockers(self) -> list[str]:
        """Why Generate is disabled, in plain words (empty: it is enabled)."""
        reasons = self.form_blockers()
        if self.tab not in GENERATION_TABS:
            return reasons
        over = budget_blocker(self.total_cost, self.budget_left) if self.selected else None
        if over:
            reasons.append(over)
        if self.generator is None:
            reasons.append("Generation is not available in this installation (no generator).")
        return reasons

    @property
    def can_generate(self) -> bool:
        return not self.blockers

    @property
    def needs_confirmation(self) -> bool:
        return self.total_cost.high > self.confirm_above

    @property
    def confirmation_pending(self) -> bool:
        return self._armed_version == self._version

    # -- status line ----------------------------------------------------------------------
    def _say(self, text: str, *, warn: bool = False) -> None:
        self._message = text
        self._message_warn = warn and bool(text)

    def notify(self, text: str, *, warn: bool = False) -> None:
        """Show a one-off message in the status line of the current tab (until the tab changes)."""
        self._say(text, warn=warn)
        self._changed("status", rearm=False)

    @property
    def status(self) -> str:
        """The status line: a message said on this tab, else the state of this tab's last jobs.

        It follows the jobs ("1 job running: Sora 2." → "Done: 1 completed.") and is per tab:
        jobs started on the Text tab are not reported on the Remix tab.
        """
        if self._message:
            return self._message
        return self.jobs_summary(self._batches.get(self.tab, ()))

    @property
    def status_warn(self) -> bool:
        return bool(self._message) and (self._message_warn or self.confirmation_pending)

    @staticmethod
    def jobs_summary(jobs: Sequence[JobState]) -> str:
        if not jobs:
            return ""
        running = [j for j in jobs if not j.done]
        if running:
            names = ", ".join(j.spec.name for j in running)
            return f"{len(running)} job{'s' if len(running) > 1 else ''} running: {names}."
        counts = {
            "completed": sum(j.status == JobStatus.DONE for j in jobs),
            "failed": sum(j.status == JobStatus.FAILED for j in jobs),
            "cancelled": sum(j.status == JobStatus.CANCELLED for j in jobs),
        }
        return "Done: " + ", ".join(f"{n} {word}" for word, n in counts.items() if n) + "."

    # -- one click, one set of jobs -------------------------------------------------------
    @property
    def submitting(self) -> bool:
        """True from a click until each of its jobs is on the service (has a request id) or ended."""
        return any(not j.done and j.request_id is None for j in self._batches.get(self.tab, ()))

    @property
    def question(self) -> str | None:
        """A pending "Run the same jobs again?" question (answered by :meth:`confirm_repeat` / :meth:`dismiss`)."""
        return self._question if self.tab in GENERATION_TABS else None

    def _request(self) -> list[tuple[str, dict[str, Any]]]:
        """What a click would send now: each selected model with its full parameters."""
        return [(spec.id, self.params_for(spec)) for spec in self.selected]

    def _running_same(self) -> list[JobState]:
        """This tab's still-running jobs, if they were started with exactly the request a click would send."""
        running = [j for j in self._batches.get(self.tab, ()) if not j.done]
        return running if running and self._requests.get(self.tab) == self._request() else []

    def confirm_repeat(self) -> list[JobState]:
        """Yes to the pending question: start the same jobs again. Nothing without a question."""
        if self.question is None:
            return []
        self._question = None
        return self._start() if not self._refused() else []

    def dismiss(self) -> None:
        """No to the pending question: nothing is started."""
        if self._question is not None:
            self._question = None
            self._changed("question", rearm=False)

    def _refused(self) -> bool:
        """Say why Generate cannot start now, if it cannot."""
        reasons = self.blockers
        if reasons:
            self.notify(reasons[0], warn=True)
            return True
        return False

    # -- generate / cancel ----------------------------------------------------------------
    def generate(self) -> list[JobState]:
        """Start one job per selected model; a costly selection needs a second call to confirm.

        Refused while the last click's jobs are still being submitted (a double-click), and a
        question instead of jobs while the same request still runs (see the module notes).
        """
        if self.submitting or self.question is not None:
            return []  # the first click's jobs are on their way, or a question waits for its answer
        if self._refused():
            return []
        same = self._running_same()
        if same:
            count = len(self.selected)
            self._question = f"Run the same {count} job{'s' if count != 1 else ''} again? {self.total_cost}"
            self._changed("question", rearm=False)
            return []
        if self.needs_confirmation and not self.confirmation_pending:
            self._armed_version = self._version
            self.notify(
                f"This could cost {self.total_cost}, above {format_usd(self.confirm_above)}. "
                "Click Generate again to confirm.",
                warn=True,
            )
            return []
        return self._start()

    def _start(self) -> list[JobState]:
        self._armed_version = None
        generator = self.generator
        assert generator is not None  # a blocker otherwise
        highs = [est.high if est is not None else Decimal(0) for _, est, _ in self.estimates()]
        request = self._request()
        started = [JobState(get_model(model_id), params) for model_id, params in request]
        # Set before the first job is handed to the loop: from here on a second click is refused.
        self._batches[self.tab] = started
        self._requests[self.tab] = request
        for job, high in zip(started, highs, strict=True):
            job.observe(self._submit_watch(job))
            self._runner.reserve(job, generator, high)
            self.jobs.insert(0, job)
            for callback in list(self._job_observers):
                callback(job)
            # The generator prices a remix from its source in the history itself.
            self._runner.submit(job)
        self._say("")  # from now on the status follows these jobs
        self._changed("jobs", rearm=False)
        return started

    def _submit_watch(self, job: JobState) -> Callable[[JobState], None]:
        """An observer that redraws once, when ``job`` reaches the service (or ends): Generate comes back."""
        seen = {"submitted": False}

        def watch(state: JobState) -> None:
            if not seen["submitted"] and (state.request_id is not None or state.done):
                seen["submitted"] = True
                self._changed("submitted", rearm=False)

        return watch

    async def _job_ended(self, job: JobState, generator: GeneratorLike) -> None:
        if generator is not self.generator:
            # Its last job may just have ended after a key change; closing blocks, so not on this loop.
            await asyncio.to_thread(self._retire, generator)
        self._changed("jobs", rearm=False)

    def cancel(self, job: JobState) -> bool:
        """Cancel a running job on the service (see :meth:`JobRunner.cancel`). False if it already finished."""
        return self._runner.cancel(job, self.generator)

    def wait(self, timeout: float | None = None) -> None:
        """Block until every running job finished (for tests and scripts, not for notebook cells)."""
        self._runner.wait(timeout)

    def close(self) -> None:
        """Cancel running jobs and stop the panel's loop; close what the panel made (not yours)."""
        self._runner.close()
        self._slot.close()

    # -- history and spend ----------------------------------------------------------------
    def history_frame(self, *, model: str | None = None, status: str | None = None) -> pd.DataFrame | None:
        """The history DataFrame, newest first, optionally filtered by model id and status."""
        return None if self.history is None else history_frame(self.history, model=model, status=status)

    def delete_history(self, ids: Sequence[Any]) -> int:
        if self.history is None or not ids:
            return 0
        count = delete_rows(self.history, ids)
        self._say(f"Deleted {count} row{'s' if count != 1 else ''} from the history.")
        self._changed("history", rearm=False)
        return count

    def spend_frames(self) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        return (None, None) if self.history is None else spend_frames(self.history)

    def spend_by_user(self) -> pd.DataFrame | None:
        """Spend per person on a shared (team) ledger; ``None`` while one person is all there is."""
        return None if self.history is None else spend_by_user(self.history)
