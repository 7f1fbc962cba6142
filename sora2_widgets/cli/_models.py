"""``sora2-widgets models``: the catalog, one model a line (or ``--json``), as plain text."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .._catalog import MODELS, ModelSpec
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
        "price": spec.price_hint,
        "price_kind": spec.entry.price["kind"],
        "price_source": spec.price_source,
        "price_checked": spec.entry.price_checked,
        "price_unconfirmed": spec.price_unconfirmed,
        "status": spec.status,
        "retired": spec.retired,
        "checked": spec.checked,
        "to_confirm": dict(spec.to_confirm),
    }


def cmd_models(args: argparse.Namespace) -> int:
    facts = [model_facts(m) for m in MODELS]
    if args.json:
        print(json.dumps(facts, ensure_ascii=False, indent=2))
        return EXIT_OK
    rows = [[str(f[c]) for c in _COLUMNS] for f in facts]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(_COLUMNS)]
    for line in ([*_COLUMNS], *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    return EXIT_OK


def configure(models: argparse.ArgumentParser) -> None:
    """The ``models`` subcommand's options (set up only when ``models`` is used)."""
    models.description = (
        "List the catalog: every model's id, fal endpoint, mode, price, status (live, new or "
        "retired with its date) and the date its facts were last checked against fal."
    )
    models.epilog = (
        "exit codes: 0 success, 2 bad usage\n\nexamples:\n  sora2-widgets models\n  sora2-widgets models --json"
    )
    models.add_argument("--json", action="store_true", help="print the same as a JSON list (with sources and notes)")
    models.set_defaults(func=cmd_models)
