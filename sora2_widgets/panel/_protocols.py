"""What the panel uses of the generator and of the ledger: the seam tests fill with fakes.

Each member is spelled as on ``sora2_widgets.Generator`` and ``sora2_widgets.History`` (same
parameters, same return types), and mypy checks the real classes against these, so a test
double that fits them is driven exactly like the real thing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias

from ..generator import Generation, Progress
from ..history import HistoryRecord

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GeneratorLike", "HistoryLike", "Since"]

#: How far back a spend figure goes (``History.spend``'s ``since``): a date or time, ISO text, or an age.
Since: TypeAlias = dt.datetime | dt.date | dt.timedelta | str | None


class HistoryLike(Protocol):
    """The ledger, as ``sora2_widgets.History`` offers it to the panel."""

    @property
    def df(self) -> pd.DataFrame:
        """Every row, indexed by ``id``, oldest first, with the ledger's own column names."""
        ...

    def remix_candidates(self, *, provider: str | None = ..., as_records: Literal[True]) -> list[HistoryRecord]:
        """Sora videos that can still be remixed, newest first."""
        ...

    def spend(
        self, by: Literal["model", "day", "mode", "provider", "user", "machine"] = ..., since: Since = ...
    ) -> pd.DataFrame:
        """Spend per group: ``count``, ``completed``, ``total`` (exact), ``unknown``, ``possibly_charged``."""
        ...

    def total_spent(self, since: Since = ...) -> Decimal: ...

    def committed(self, *, exclude_owners: Sequence[str] = ...) -> Decimal:
        """Spent plus the high estimate of every running job not leased by ``exclude_owners``."""
        ...

    def delete(self, history_id: int, files: bool = ...) -> HistoryRecord: ...

    def close(self) -> None: ...


class GeneratorLike(Protocol):
    """The generator, as ``sora2_widgets.Generator`` offers it to the panel."""

    #: USD; enforced by the generator atomically with the ledger row (``None``: no budget).
    budget: Decimal | None

    @property
    def owner(self) -> str:
        """The lease token on the ledger rows of this generator's running jobs."""
        ...

    @property
    def history(self) -> HistoryLike: ...

    @property
    def client(self) -> Any:
        """The client jobs run on; its ``provider`` is ``"fal"`` or ``"emulator"``."""
        ...

    async def agenerate(
        self,
        model_id: str,
        *,
        on_update: Callable[[Progress], None] | None = ...,
        raise_on_error: bool = ...,
        **params: Any,
    ) -> Generation: ...

    async def acancel(self, history_id: int) -> bool: ...

    def close(self) -> None: ...
