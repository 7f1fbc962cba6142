"""``sora2-widgets history`` and ``spend``: the ledger as a table in a terminal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._exits import EXIT_NOT_SAVED, EXIT_OK, one_line


def cmd_history(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..history import History

    hist = History()
    # The id is the frame's index: a column here, since --source and remixes refer to rows by it.
    everything = hist.df.reset_index()
    df = everything
    if args.model:
        df = df[df["model_id"] == args.model]
    if args.status:
        df = df[df["status"] == args.status]
    if args.csv:
        csv = Path(args.csv)
        try:
            csv.parent.mkdir(parents=True, exist_ok=True)
            df.to_csv(csv, index=False)
        except OSError as exc:
            print(f"Not saved: could not write {csv}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_NOT_SAVED
        print(f"wrote {len(df)} rows to {csv}", file=sys.stderr)
        return EXIT_OK
    if not len(df):
        print("No generations match these filters." if len(everything) else "No generations yet.")
        return EXIT_OK
    cols = ("id", "created_at", "model_id", "status", "cost_usd", "duration", "video_id", "prompt")
    # Newest first, as --help says: the frame is oldest first (ids grow with time).
    view = df.sort_values("id", ascending=False)[[c for c in cols if c in df.columns]].head(args.limit)
    if "prompt" in view.columns:
        view = view.assign(prompt=view["prompt"].astype(str).map(one_line).str.slice(0, 40))
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(view.to_string(index=False))
    return EXIT_OK


def cmd_spend(args: argparse.Namespace) -> int:
    from ..history import History

    hist = History()
    table = hist.spend(by=args.by, since=args.since)
    print(table.to_string() if len(table) else "Nothing spent yet.")
    print(f"total spent: ${hist.total_spent():.2f}")
    maybe = hist.possibly_charged()
    if maybe:
        # Not spent as far as anyone knows, but not nothing either: say so apart from the total.
        print(f"possibly charged (submit outcome unknown, see history --status unknown): up to ${maybe:.2f}")
    return EXIT_OK
