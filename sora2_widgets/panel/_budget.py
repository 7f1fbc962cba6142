"""Money on the panel: what the ledger says was spent and is committed, the budget left, the
cost label's lines, and the budget's reason to keep Generate disabled.

The budget itself lives on the generator, which enforces it atomically with the ledger row; the
panel only reads it here, to say early and in plain words what the generator would refuse.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal

from .._pricing import CostEstimate, format_usd, total
from ._form import Estimate
from ._protocols import HistoryLike

__all__ = ["LedgerMoney", "budget_blocker", "cost_lines"]

log = logging.getLogger("sora2_widgets.panel")


class LedgerMoney:
    """Spent and committed USD as the ledger has them, read once per change of the ledger.

    The cost label is redrawn per keystroke; SQLite is read again only after :meth:`forget`
    (a job ended, a row was deleted, the provider changed) or when the set of running jobs changed.
    """

    def __init__(self) -> None:
        self._spent: Decimal | None = None
        self._committed: tuple[tuple[int, ...], Decimal] | None = None

    def forget(self) -> None:
        self._spent = None
        self._committed = None

    def spent(self, history: HistoryLike | None) -> Decimal:
        """Total spent so far according to the ledger."""
        if self._spent is None:
            self._spent = _read_spent(history)
        return self._spent

    def committed(
        self, history: HistoryLike | None, running: tuple[int, ...], exclude_owners: Sequence[str]
    ) -> Decimal:
        """Spent plus the high estimates of the running jobs not leased by ``exclude_owners``.

        ``running`` (the panel's running job ids) keys the cache: a job that starts or ends
        changes what the ledger holds for it.
        """
        cached = self._committed
        if cached is None or cached[0] != running:
            cached = self._committed = (running, _read_committed(history, exclude_owners))
        return cached[1]


def _read_spent(history: HistoryLike | None) -> Decimal:
    if history is None:
        return Decimal(0)
    try:
        return history.total_spent()
    except Exception:
        log.exception("could not read the total spent")
        return Decimal(0)


def _read_committed(history: HistoryLike | None, exclude_owners: Sequence[str]) -> Decimal:
    if history is None:
        return Decimal(0)
    try:
        return history.committed(exclude_owners=sorted(exclude_owners))
    except Exception:
        log.exception("could not read the committed spend")
    return _read_spent(history)


def cost_lines(estimates: Sequence[Estimate], budget: Decimal | None, left: Decimal | None) -> list[str]:
    """The cost label as lines: the total first, then one line per model, then the budget."""
    if not estimates:
        return ["Total: $0.00 — select a model"]
    est = total(one for _, one, _ in estimates if one is not None)
    notes = list(dict.fromkeys(one.note for _, one, _ in estimates if one is not None and one.note))
    lines = [f"Total: {est}" + (f" (a range: {'; '.join(notes)})" if not est.is_exact and notes else "")]
    for spec, one, why in estimates:
        if one is None:
            lines.append(f"{spec.name}: cannot price — {why}")
        else:
            note = f" ({one.note})" if one.note else ""
            lines.append(f"{spec.name}: {one}{note}")
    if left is not None and budget is not None:
        lines.append(f"Budget left: {format_usd(left)} of {format_usd(budget)}")
    return lines


def budget_blocker(cost: CostEstimate, left: Decimal | None) -> str | None:
    """Why the budget refuses a selection that could cost ``cost`` (``None``: it fits)."""
    if left is not None and cost.high > left:
        return f"This could cost {cost} but only {format_usd(left)} of your budget is left."
    return None
