"""A sweep's plan: each combination validated by the catalog and priced, before anything runs.

Every combination is checked (not only until the first bad one), so one refusal names them all;
the first is spelled out in the message, the rest are listed by number and kept on the error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._catalog import estimate_cost, get_model
from .._errors import FieldError, Sora2Error, ValidationError
from .._images import with_image_data_uris
from .._pricing import CostEstimate, total
from ._grid import Combination

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["InvalidCombinationError", "PlannedJob", "check", "plan_frame", "plan_total"]

#: The plan's columns before the grid's own (one per setting) and after them.
LEAD_COLUMNS = ("combination", "model_id", "prompt")
TAIL_COLUMNS = ("skipped", "est_low_usd", "est_high_usd", "sweep_key")


@dataclass(frozen=True)
class PlannedJob:
    """A combination the catalog accepts, with its price."""

    combination: Combination
    estimate: CostEstimate


class InvalidCombinationError(ValidationError):
    """Some combinations of a sweep are refused by the catalog; nothing was sent.

    ``problems`` holds each one as ``(combination, its errors)``; the message names the first
    (``combination 3 (sora2_text_to_video, duration=12): duration must be …``) and counts the rest."""

    def __init__(self, problems: Sequence[tuple[Combination, Sequence[FieldError]]]) -> None:
        self.problems = tuple((c, tuple(e)) for c, e in problems)
        first, errors = self.problems[0]
        super().__init__(first.model_id, errors)
        detail = "; ".join(str(e) for e in errors) or "refused"
        more = ""
        if len(self.problems) > 1:
            others = ", ".join(str(c.number) for c, _ in self.problems[1:])
            word = "combination" if len(self.problems) == 2 else "combinations"
            more = f" (and {len(self.problems) - 1} more invalid: {word} {others})"
        self.message = f"{first.label()}: {detail}{more}"
        self.args = (self.message,)


def _check_one(combo: Combination) -> CostEstimate:
    spec = get_model(combo.model_id)
    # Images as the generator will send them: a missing file is this combination's error, now.
    spec.validate(with_image_data_uris(spec.id, combo.request()))
    priced = {k: v for k, v in combo.params.items() if k not in spec.secret_fields}
    return estimate_cost(spec.id, **priced)


def check(combinations: Sequence[Combination]) -> list[PlannedJob]:
    """Validate and price every combination; raises :class:`InvalidCombinationError` naming them."""
    planned: list[PlannedJob] = []
    problems: list[tuple[Combination, Sequence[FieldError]]] = []
    for combo in combinations:
        try:
            planned.append(PlannedJob(combo, _check_one(combo)))
        except ValidationError as exc:
            problems.append((combo, exc.errors))
        except Sora2Error as exc:  # an unreadable image file and the like
            problems.append((combo, [FieldError("", str(exc))]))
    if problems:
        raise InvalidCombinationError(problems)
    return planned


def plan_total(jobs: Sequence[PlannedJob]) -> CostEstimate:
    """The whole sweep's price range."""
    return total(j.estimate for j in jobs)


def setting_names(jobs: Sequence[PlannedJob]) -> list[str]:
    """The grid's settings in the order first seen (secrets are never a column)."""
    names: list[str] = []
    for job in jobs:
        secret = get_model(job.combination.model_id).secret_fields
        for name in [*job.combination.params, *job.combination.skipped]:
            if name not in names and name not in secret:
                names.append(name)
    return names


def plan_rows(jobs: Sequence[PlannedJob]) -> list[dict[str, Any]]:
    """One dict per job: the plan's columns (a setting a model does not take is ``None``)."""
    names = setting_names(jobs)
    rows = []
    for job in jobs:
        c = job.combination
        row: dict[str, Any] = {"combination": c.number, "model_id": c.model_id, "prompt": c.prompt}
        row.update({n: c.params.get(n) for n in names})
        row.update(
            skipped=", ".join(c.skipped),
            est_low_usd=float(job.estimate.low),
            est_high_usd=float(job.estimate.high),
            sweep_key=c.key,
        )
        rows.append(row)
    return rows


def plan_frame(jobs: Sequence[PlannedJob]) -> pd.DataFrame:
    """The plan as a DataFrame indexed by combination number."""
    import pandas as pd

    columns = [*LEAD_COLUMNS, *setting_names(jobs), *TAIL_COLUMNS]
    frame = pd.DataFrame(plan_rows(jobs), columns=columns)
    return frame.set_index("combination")
