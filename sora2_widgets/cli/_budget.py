"""``sora2-widgets budget``: read, set or clear the ledger's own budget (the team's, on PostgreSQL).

The budget lives in the ledger, so every client pointed at it enforces the same figure, checked
in the same transaction as each job's row. A local ``SORA2_WIDGETS_BUDGET`` applies as well.
"""

from __future__ import annotations

import argparse
import os

from .._config import BUDGET_ENV, budget_from_env
from ._exits import EXIT_OK

__all__ = ["cmd_budget", "configure"]

_EXAMPLES = (
    "examples:\n  sora2-widgets budget\n  sora2-widgets budget set 100 --period month\n  sora2-widgets budget clear"
)


def configure(budget: argparse.ArgumentParser) -> None:
    """The ``budget`` subcommand's ``set`` / ``clear`` actions (set up only when ``budget`` is used)."""
    from ._args import _usd

    budget.epilog = f"exit codes: 0 success, 2 bad usage, 10 the ledger cannot be used\n\n{_EXAMPLES}"
    actions = budget.add_subparsers(dest="budget_action")
    set_ = actions.add_parser("set", help="set the budget in USD")
    set_.add_argument("amount", type=_usd, help="USD, such as 100 or 12.50")
    set_.add_argument(
        "--period",
        choices=("total", "month", "week", "day"),
        default="total",
        help="calendar period in UTC the amount is for (default: total, since the beginning)",
    )
    actions.add_parser("clear", help="remove the budget (a local SORA2_WIDGETS_BUDGET still applies)")
    budget.set_defaults(func=cmd_budget)


def cmd_budget(args: argparse.Namespace) -> int:
    from ..history import History

    with History() as hist:
        if args.budget_action == "set":
            hist.set_budget(args.amount, period=args.period)
        elif args.budget_action == "clear":
            hist.clear_budget()
        team = hist.budget()
        where = hist.location
    if team is None:
        print(f"No budget is set in the ledger {where}.")
    else:
        per = "in total" if team.period == "total" else f"per {team.period}"
        print(f"Budget of the ledger {where}: ${team.amount:.2f} {per} (set by {team.set_by or 'unknown'}).")
        print(f"committed (spent + running jobs' high estimates): ${team.committed:.2f}; left: ${team.left:.2f}")
    if os.environ.get(BUDGET_ENV, "").strip():
        print(f"local budget ({BUDGET_ENV}) also applies: ${budget_from_env():.2f}")
    return EXIT_OK
