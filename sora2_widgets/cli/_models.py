"""``sora2-widgets models [refresh]``: the catalog, one model a line (or ``--json``), as plain text.

``models refresh`` reads fal's Platform API for the catalog's endpoints (the built-in emulator
without a key), stores what it says and prints the differences from the shipped catalog.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from .. import _catalog
from .._catalog import ModelSpec
from ._exits import EXIT_OK

__all__ = ["cmd_models", "configure", "model_facts"]

_COLUMNS = ("id", "endpoint", "mode", "price", "status", "checked")


def model_facts(spec: ModelSpec) -> dict[str, Any]:
    """What ``models --json`` prints for one model (and what the table's columns show)."""
    return {
        "id": spec.id,
        "name": spec.name,
        "endpoint": spec.endpoint,
        "mode": spec.mode.value,
        "family": spec.family,
        "price": spec.price_text,  # the status column says retired, and what instead
        "price_kind": spec.entry.price["kind"],
        "price_source": spec.price_source,
        "price_checked": spec.entry.price_checked,
        "price_unconfirmed": spec.price_unconfirmed,
        "status": spec.status,
        "retired": spec.retired,
        "suggested": spec.suggested,
        "registry_status": spec.entry.registry_status,
        "refreshed": spec.entry.refreshed,
        "listed_price": dict(spec.entry.listed) if spec.entry.listed else None,
        "checked": spec.checked,
        "to_confirm": dict(spec.to_confirm),
    }


def _status_cell(facts: dict[str, Any]) -> str:
    # A retired model names the live one to use instead, where the table is read.
    return f"{facts['status']}, try {facts['suggested']}" if facts["suggested"] else str(facts["status"])


def cmd_refresh(args: argparse.Namespace) -> int:
    from ..catalog._refresh import refresh_catalog

    report = refresh_catalog()
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print("\n".join(report.lines()))
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    if args.action == "refresh":
        return cmd_refresh(args)
    facts = [model_facts(m) for m in _catalog.MODELS]  # read now: a refresh may have replaced them
    if args.json:
        print(json.dumps(facts, ensure_ascii=False, indent=2))
        return EXIT_OK
    rows = [[_status_cell(f) if c == "status" else str(f[c]) for c in _COLUMNS] for f in facts]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(_COLUMNS)]
    for line in ([*_COLUMNS], *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    return EXIT_OK


def configure(models: argparse.ArgumentParser) -> None:
    """The ``models`` subcommand's options (set up only when ``models`` is used)."""
    models.description = (
        "List the catalog: every model's id, fal endpoint, mode, price, status (live, new or "
        "retired with its date and a live model to use instead) and the date its facts were last "
        "checked against fal. `models refresh` reads fal's Platform API (FAL_KEY; the built-in "
        "emulator without one) for every catalog endpoint, stores its schemas and prices in the data "
        "directory, uses them from then on, and prints how they differ from the shipped catalog."
    )
    models.epilog = (
        "exit codes: 0 success, 2 bad usage, 3 key refused, 6 service error, 9 configuration error\n\n"
        "examples:\n  sora2-widgets models\n  sora2-widgets models --json\n"
        "  sora2-widgets models refresh\n  sora2-widgets models refresh --json"
    )
    models.add_argument(
        "action", nargs="?", choices=("refresh",), help="refresh: read fal's current schemas and prices, then report"
    )
    models.add_argument("--json", action="store_true", help="print the same as a JSON list (with sources and notes)")
    models.set_defaults(func=cmd_models)
