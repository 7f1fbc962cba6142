"""``sw.sweep(prompts, models, name=None, **grid)`` and the :class:`Sweep` it returns."""

from __future__ import annotations

import asyncio
import html
import os
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._config import parse_usd
from .._errors import ConfigError
from .._pricing import CostEstimate
from ._grid import default_name, expand
from ._plan import PlannedJob, check, plan_frame, plan_total
from ._progress import ProgressKind, SweepProgress, make_progress
from ._results import best_rows, result_rows, results_frame

if TYPE_CHECKING:
    import pandas as pd

    from ..generator import Generation, Generator
    from ..history import History

__all__ = ["Sweep", "sweep"]

#: Jobs in flight at once when the sweep makes its own client (fal's queue takes many more).
DEFAULT_CONCURRENCY = 8


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ConfigError("name=", f"must be a non-empty string of at most 200 characters, got {name!r:.60}")
    return name


def _check_concurrency(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError("max_concurrency=", f"must be a whole number of 1 or more, got {value!r:.40}")
    return value


class Sweep:
    """A grid of jobs (prompts × models × settings), validated and priced, that runs as one.

    ``plan`` has one row per job; ``estimate`` is the whole range; ``run()`` sends what the
    ledger does not already hold for this sweep's name; ``results`` reads each combination's
    outcome back from the ledger (so it also works in a new process, for a sweep run before).
    """

    def __init__(self, jobs: Sequence[PlannedJob], name: str, history: History | None = None) -> None:
        self._jobs = tuple(jobs)
        self.name = name
        self._history = history

    # -- what it is ----------------------------------------------------------------------------
    @property
    def jobs(self) -> tuple[PlannedJob, ...]:
        return self._jobs

    @property
    def plan(self) -> pd.DataFrame:
        """One row per job: model, prompt, each setting, estimate (USD) and the combination's key."""
        return plan_frame(self._jobs)

    @property
    def estimate(self) -> CostEstimate:
        """The price of every job together (a range where the service decides)."""
        return plan_total(self._jobs)

    @property
    def history(self) -> History:
        """The ledger the sweep's results are read from (``History()`` unless one was given)."""
        if self._history is None:
            from ..history import History

            self._history = History()
        return self._history

    def __len__(self) -> int:
        return len(self._jobs)

    def __repr__(self) -> str:
        return f"Sweep({self.name!r}, {len(self._jobs)} jobs, {self.estimate})"

    def _repr_html_(self) -> str:
        """In a notebook: the name, size and estimate over the plan (prompts escaped by pandas)."""
        head = html.escape(f"Sweep {self.name!r}: {len(self._jobs)} jobs, estimate {self.estimate}")
        return f"<p>{head}</p>" + self.plan.to_html(escape=True, max_rows=60)

    # -- running -------------------------------------------------------------------------------
    def run(
        self,
        budget: Decimal | int | str | None = None,
        max_concurrency: int | None = None,
        *,
        generator: Generator | None = None,
        progress: ProgressKind = "auto",
    ) -> pd.DataFrame:
        """Run the jobs this sweep has not done yet, concurrently, with a progress bar; returns
        :attr:`results`. One failure does not stop the others.

        Without ``generator`` the sweep makes its own (the default client: fal with ``FAL_KEY``,
        the emulator without), with ``budget`` (USD; the whole sweep must fit, or nothing is
        sent) and ``max_concurrency`` jobs at once (default 8). With a generator, its budget and
        its client's concurrency apply, and these two must not be given."""
        from .._sync import LoopThread

        settings = self._settings(budget, max_concurrency, generator)
        # Made here, in the caller's thread: a notebook shows a widget in the cell that displays it
        # from the kernel's own thread; the loop thread only moves the bar.
        bar = make_progress(progress)
        loop = LoopThread("sora2-widgets-sweep")
        try:
            loop.run(self._run(settings, generator, bar), owner="Sweep.run")
        finally:
            loop.close()
            bar.close()
        return self.results

    async def arun(
        self,
        budget: Decimal | int | str | None = None,
        max_concurrency: int | None = None,
        *,
        generator: Generator | None = None,
        progress: ProgressKind = "auto",
    ) -> list[Generation]:
        """Async :meth:`run`; returns the Generations of the jobs sent or resumed now."""
        settings = self._settings(budget, max_concurrency, generator)
        bar = make_progress(progress)
        try:
            return await self._run(settings, generator, bar)
        finally:
            bar.close()

    def _settings(
        self, budget: Decimal | int | str | None, max_concurrency: int | None, generator: Generator | None
    ) -> tuple[Decimal | None, int]:
        """The run's budget and concurrency, checked before anything else happens."""
        if generator is not None:
            for given, what in ((budget, "budget="), (max_concurrency, "max_concurrency=")):
                if given is not None:
                    raise ConfigError(what, "is the generator's own when one is given; set it on the generator")
            if self._history is None:
                self._history = generator.history  # results are read where the jobs were written
            elif self._history.location != generator.history.location:
                raise ConfigError("generator=", "writes to another history than the one this sweep reads results from")
            return None, 0
        limit = _check_concurrency(DEFAULT_CONCURRENCY if max_concurrency is None else max_concurrency)
        return (None if budget is None else parse_usd(budget, field="budget=")), limit

    async def _run(
        self, settings: tuple[Decimal | None, int], generator: Generator | None, bar: SweepProgress
    ) -> list[Generation]:
        from ._runner import run_sweep

        if generator is not None:
            return await run_sweep(self.name, self._jobs, generator, bar)
        from ..client import AsyncFalClient
        from ..generator import Generator

        budget, limit = settings
        client = AsyncFalClient(max_concurrency=limit)
        own = Generator(client=client, history=self.history, budget=budget, resume=False)
        try:
            return await run_sweep(self.name, self._jobs, own, bar)
        finally:
            await asyncio.to_thread(own.close)
            await client.aclose()

    # -- what came of it -----------------------------------------------------------------------
    @property
    def results(self) -> pd.DataFrame:
        """The plan's columns plus status (``"not run"`` where nothing ran), cost_usd, seconds,
        local_path, history_id, error, rating and notes, read from the ledger."""
        return results_frame(self._jobs, best_rows(self.history, self.name))

    def result_rows(self) -> list[dict[str, Any]]:
        """:attr:`results` as plain dicts (with each thumbnail's path), for exports and the CLI."""
        return result_rows(self._jobs, best_rows(self.history, self.name))

    def contact_sheet(self, path: str | os.PathLike[str], *, columns: int | None = None) -> Path:
        """A PNG grid of the jobs' thumbnails, each captioned; returns its path."""
        from ._sheet import contact_sheet

        return contact_sheet(self.result_rows(), Path(path), columns=columns)

    def report(self, path: str | os.PathLike[str]) -> Path:
        """An HTML page that plays the videos, with their prompts, settings and notes; the videos are
        copied into a folder beside it, so the page and that folder can be zipped and moved."""
        from ._report import write_report

        return write_report(self.name, self.result_rows(), Path(path))


def sweep(
    prompts: str | Sequence[str],
    models: str | Sequence[str],
    name: str | None = None,
    *,
    history: History | None = None,
    **grid: Any,
) -> Sweep:
    """A :class:`Sweep` of every prompt × model × grid combination, each validated and priced now.

    A list value in ``grid`` is an axis (``duration=[4, 8]``), anything else a fixed setting
    (``aspect_ratio="16:9"``). A setting a model does not take is left out for that model (the
    plan's ``skipped`` column names it); one no model takes is refused. A combination the catalog
    refuses raises :class:`InvalidCombinationError`, naming it, before anything is sent. ``name``
    defaults to one made from the combinations, so the same sweep run again resumes itself."""
    combos = expand(prompts, models, grid)
    jobs = check(combos)
    chosen = default_name([c.key for c in combos]) if name is None else _check_name(name)
    return Sweep(jobs, chosen, history)
