"""``sora2-widgets history`` and ``spend``: the ledger as a table for people, or JSON/CSV for machines."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._pricing import format_usd, plain_usd
from ._exits import EXIT_NOT_SAVED, EXIT_OK
from ._output import BLANK, Column, cut, local_time, local_zone, print_table

if TYPE_CHECKING:
    from ..history import History, HistoryRecord

#: A prompt in the table: enough to recognise it; the whole one is in --json and --csv.
PROMPT_CHARS = 60


def _model_names() -> dict[str, str]:
    from .._catalog import MODELS

    return {m.id: m.name for m in MODELS}


def _usd(amount: Decimal | None) -> str | None:
    return None if amount is None else plain_usd(amount)


def _money(amount: Decimal | None) -> str:
    return BLANK if amount is None else format_usd(amount)


def _seconds(value: float | None) -> str:
    return BLANK if value is None else f"{value:g} s"


def _history_rows(hist: History, args: argparse.Namespace) -> list[HistoryRecord]:
    """The rows the filters keep, newest first (ids grow with time)."""
    where, values = [], []
    if args.model:
        where.append("model_id = ?")
        values.append(args.model)
    if args.status:
        where.append("status = ?")
        values.append(args.status)
    return list(reversed(hist.records(" AND ".join(where), values)))


def _as_json(rec: HistoryRecord, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": rec.id,
        "created_at": rec.created_at.isoformat(),
        "model_id": rec.model_id,
        "model": names.get(rec.model_id, rec.model_id),
        "mode": rec.mode,
        "provider": rec.provider,
        "status": rec.status,
        "cost_usd": _usd(rec.cost),
        "duration": rec.duration,
        "video_id": rec.video_id,
        "remixable": rec.remixable,
        "remixed_from": rec.remixed_from,
        "local_path": str(rec.local_path) if rec.local_path else None,
        "prompt": rec.prompt,
        "error": rec.error,
    }


def _write_csv(hist: History, args: argparse.Namespace) -> int:
    csv = Path(args.csv)
    frame = hist.df.reset_index()  # the id is the frame's index: the first column, as --source takes it
    if args.model:
        frame = frame[frame["model_id"] == args.model]
    if args.status:
        frame = frame[frame["status"] == args.status]
    try:
        csv.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(csv, index=False)
    except OSError as exc:
        print(f"Not saved: could not write {csv}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_NOT_SAVED
    print(f"wrote {len(frame)} rows to {csv}", file=sys.stderr)
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from ..history import History

    hist = History()
    if args.csv:
        return _write_csv(hist, args)
    rows = _history_rows(hist, args)
    shown = rows[: args.limit]
    names = _model_names()
    if args.json:
        print(json.dumps([_as_json(rec, names) for rec in shown]))
        return EXIT_OK
    if not shown:
        print("No generations match these filters." if hist.records() else "No generations yet.")
        return EXIT_OK
    columns = [
        Column("id", "right"),
        Column(f"created ({local_zone()})", optional=True),
        Column("model"),
        Column("status"),
        Column("cost", "right"),
        Column("length", "right", optional=True),
        Column("remix", optional=True),
        Column("prompt", flexible=True),
    ]
    table = [
        [
            str(rec.id),
            local_time(rec.created_at),
            names.get(rec.model_id, rec.model_id),
            rec.status.replace("_", " "),
            _money(rec.cost) + ("*" if rec.provider == "emulator" and rec.cost is not None else ""),
            _seconds(rec.duration),
            # "from #N": this row is a remix of N; "source": generate --source takes this row (both
            # for a remix kept for remix, the default).
            ", ".join(
                part
                for part in (f"from #{rec.remixed_from}" if rec.remixed_from else "", "source" if rec.remixable else "")
                if part
            ),
            cut(rec.prompt, PROMPT_CHARS),
        ]
        for rec in shown
    ]
    print_table(columns, table)
    # Notes go to stderr: standard output stays the table alone, for sort, grep or awk.
    if any(rec.provider == "emulator" and rec.cost is not None for rec in shown):
        print("* simulated on the built-in emulator: nothing was charged", file=sys.stderr)
    if len(rows) > len(shown):
        print(f"{len(shown)} newest of {len(rows)}; --limit N shows more, --json or --csv FILE all", file=sys.stderr)
    return EXIT_OK


def _spend_key(value: Any, by: str, names: dict[str, str]) -> str:
    if by == "model":
        return names.get(str(value), str(value))
    return str(value)


def cmd_spend(args: argparse.Namespace) -> int:
    from ..history import History

    hist = History()
    table = hist.spend(by=args.by, since=args.since)
    total, maybe = hist.total_spent(since=args.since), hist.possibly_charged(since=args.since)
    names = _model_names()
    records: list[dict[str, Any]] = [
        {
            args.by: str(key),
            "count": int(row["count"]),
            "completed": int(row["completed"]),
            "total_usd": _usd(row["total"]),
            "unknown": int(row["unknown"]),
            "possibly_charged_usd": _usd(row["possibly_charged"]),
            # fal's side: null where unknown (never "0.00": nothing says fal billed nothing).
            "provisional_usd": _usd(row["provisional"]),
            "billed_usd": _usd(row["billed"]),
            "billed_count": int(row["billed_count"]),
            "difference_usd": _usd(row["difference"]),
        }
        for key, row in table.iterrows()
    ]
    if args.json:
        summary = {"by": args.by, "since": args.since, "rows": records, "total_usd": _usd(total)}
        summary["possibly_charged_usd"] = _usd(maybe)
        print(json.dumps(summary))
        return EXIT_OK
    if records:
        columns: list[Column] = [Column(args.by), Column("jobs", "right"), Column("completed", "right")]
        columns.append(Column("spent", "right"))
        # fal's figures beside the estimate, once the ledger has any (results carry the header since 0.3).
        with_billing = any(r["provisional_usd"] is not None or r["billed_count"] for r in records)
        if with_billing:
            columns += [Column(h, "right") for h in ("provisional", "billed", "difference")]
        with_unknown = any(r["unknown"] for r in records)
        if with_unknown:  # only when there is something to say: most ledgers never have one
            columns += [Column("outcome unknown", "right"), Column("possibly charged", "right")]
        cells: list[Sequence[str]] = [
            [
                _spend_key(r[args.by], args.by, names),
                str(r["count"]),
                str(r["completed"]),
                f"${r['total_usd']}",
                *(_billing_cells(r) if with_billing else ()),
                *(_unknown_cells(r) if with_unknown else ()),
            ]
            for r in records
        ]
        print_table(columns, cells)
    else:
        print("Nothing spent yet.")
    simulated = " (includes simulated emulator jobs: not charged)" if _any_emulated(hist) else ""
    print(f"total spent: ${total:.2f}{simulated}")
    print(_billed_line(records))
    if maybe:
        # Not spent as far as anyone knows, but not nothing either: say so apart from the total.
        print(f"possibly charged (submit outcome unknown, see history --status unknown): up to ${maybe:.2f}")
    return EXIT_OK


def _billing_cells(row: dict[str, Any]) -> tuple[str, str, str]:
    """Provisional, billed (with how many jobs, when fal has not billed all that completed) and billed − spent."""
    provisional = "unknown" if row["provisional_usd"] is None else f"${row['provisional_usd']}"
    if row["billed_usd"] is None:
        return (provisional, "unknown", BLANK)
    billed = f"${row['billed_usd']}"
    if row["billed_count"] < row["completed"]:
        billed += f" ({row['billed_count']} of {row['completed']})"
    diff = row["difference_usd"]
    shown = BLANK if diff is None else (f"-${diff[1:]}" if diff.startswith("-") else f"+${diff}")
    return (provisional, billed, shown)


def _billed_line(records: list[dict[str, Any]]) -> str:
    """fal's billed total, or that it is unknown: never $0 for a bill nobody has read."""
    billed = [Decimal(r["billed_usd"]) for r in records if r["billed_usd"] is not None]
    if not billed:
        return "billed by fal: unknown (sora2-widgets reconcile reads it, with FAL_ADMIN_KEY)"
    jobs = sum(int(r["billed_count"]) for r in records)
    diffs = [Decimal(r["difference_usd"]) for r in records if r["difference_usd"] is not None]
    diff = sum(diffs, Decimal(0))
    sign = "-" if diff < 0 else "+"
    total = format_usd(sum(billed, Decimal(0)))
    return f"billed by fal: {total} for {jobs} job(s), {sign}{format_usd(abs(diff))} against the estimate"


def _unknown_cells(row: dict[str, Any]) -> tuple[str, str]:
    if not row["unknown"]:
        return ("", "")
    return (str(row["unknown"]), f"up to ${row['possibly_charged_usd']}")


def _any_emulated(hist: History) -> bool:
    return bool(hist.records("provider = ? AND cost_micros IS NOT NULL", ["emulator"]))
