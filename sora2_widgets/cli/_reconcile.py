"""``sora2-widgets reconcile``: what fal billed for each finished job, stored beside its estimate.

Needs ``FAL_ADMIN_KEY`` (a fal key with ADMIN scope) to read fal's billing events; without a fal
key at all it reconciles against the built-in emulator (simulated billing). A missing or non-admin
key is one sentence and exit 9 / 3: billed costs then stay unknown, never $0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

from ._exits import EXIT_OK

__all__ = ["cmd_reconcile", "configure"]

_EXAMPLES = (
    "examples:\n"
    "  FAL_ADMIN_KEY=... sora2-widgets reconcile\n"
    "  sora2-widgets reconcile --days 30 --json\n"
    "  sora2-widgets reconcile --settle 0   # ask about jobs that just finished too"
)
_CODES = (
    "exit codes: 0 done (differences are reported, not errors), 3 the key is not an admin key,\n"
    "  6 fal's Platform API failed, 9 FAL_ADMIN_KEY is not set or unusable, 10 the ledger cannot be used"
)


def _whole_seconds(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text.strip(), re.ASCII):
        raise argparse.ArgumentTypeError(f"takes a whole number of seconds (0 or more), got {text.strip()[:40]!r}")
    return int(text)


def _days(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text.strip(), re.ASCII) or int(text) > 90:
        raise argparse.ArgumentTypeError(f"takes a whole number of days from 0 to 90, got {text.strip()[:40]!r}")
    return int(text)


def configure(reconcile: argparse.ArgumentParser) -> None:
    reconcile.description = (
        "Fetch fal's billing event of each finished job in the ledger (FAL_ADMIN_KEY), store the billed\n"
        "cost beside the estimate, and report every job billed differently from its estimate and every\n"
        "day whose billed total in fal's usage differs from the ledger's. A job without a billing event\n"
        "stays pending for --give-up seconds, then is marked 'no billing event' (unknown, not $0)."
    )
    reconcile.epilog = f"{_CODES}\n\n{_EXAMPLES}"
    reconcile.formatter_class = argparse.RawDescriptionHelpFormatter
    reconcile.add_argument(
        "--settle",
        type=_whole_seconds,
        default=300,
        metavar="SECONDS",
        help="ask about jobs finished this long ago (default 300 s)",
    )
    reconcile.add_argument(
        "--give-up",
        type=_whole_seconds,
        default=3600,
        metavar="SECONDS",
        help="after this long without an event, a job is marked 'no billing event' (default 3600 s)",
    )
    reconcile.add_argument(
        "--days",
        type=_days,
        default=7,
        metavar="N",
        help="UTC days checked against fal's daily usage (default 7; 0: none)",
    )
    reconcile.add_argument("--json", action="store_true", help="print the report as one JSON object (for scripts)")
    reconcile.set_defaults(func=cmd_reconcile)


def _usd(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:f}"


def cmd_reconcile(args: argparse.Namespace) -> int:
    from .._errors import ConfigError
    from ..history import History

    if args.give_up < args.settle:
        raise ConfigError("--give-up", "must be no shorter than --settle")
    with History() as hist:
        report = hist.reconcile(
            settle=dt.timedelta(seconds=args.settle), give_up=dt.timedelta(seconds=args.give_up), days=args.days
        )
    if args.json:
        rows: list[dict[str, Any]] = [
            {
                "id": r.history_id,
                "request_id": r.request_id,
                "model_id": r.model_id,
                "billing_status": r.state,
                "estimated_usd": _usd(r.estimated),
                "provisional_usd": _usd(r.provisional),
                "billed_usd": _usd(r.billed),
                "difference_usd": _usd(r.difference),
            }
            for r in report.rows
        ]
        days = [
            {"day": d.day.isoformat(), "ledger_billed_usd": _usd(d.ledger_billed), "fal_billed_usd": _usd(d.fal_billed)}
            for d in report.day_mismatches
        ]
        mismatched = [r.history_id for r in report.mismatches]
        summary = {"provider": report.provider, "rows": rows, "mismatches": mismatched, "settling": report.settling}
        print(json.dumps({**summary, "day_mismatches": days, "recovered": list(report.recovered)}))
        return EXIT_OK
    if report.provider == "emulator":
        print("No fal key: reconciling against the built-in emulator (simulated billing, nothing was charged).")
    for line in report.lines():
        print(line)
    return EXIT_OK
