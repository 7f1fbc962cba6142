"""Prompt experiments: sweeps (a grid of prompts × models × settings run as one), their results and
exports, and ``compare`` (generations side by side, rated in place).

``sweep`` builds a :class:`Sweep`; one idea per module: ``_grid`` (combinations and keys),
``_plan`` (validation and prices), ``_results`` (what the ledger holds), ``_runner`` (running and
resuming), ``_progress`` (the bars), ``_sheet`` and ``_report`` (exports), ``_sweep`` (the object),
``_compare`` (the comparison grid widget).
"""

from __future__ import annotations

from ._compare import Compare, compare
from ._plan import InvalidCombinationError
from ._sweep import Sweep, sweep

__all__ = ["Compare", "InvalidCombinationError", "Sweep", "compare", "sweep"]
