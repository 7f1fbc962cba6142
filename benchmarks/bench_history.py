"""The ledger at 100 000 rows: open, DataFrame, durable append, spend group-bys.

    python benchmarks/bench_history.py [--rows 100000] [--team]

``--team`` adds the team-ledger figures, PostgreSQL beside SQLite (see :func:`run_team`).

Rows are bulk-loaded once (realistic mix of models, statuses, costs, 60 days). Then, each
best/median of several runs: open = ``History(path)`` in a fresh subprocess (schema check,
WAL) — reported with and without the first ``.df``. pandas is imported before the clock starts
(a notebook that wants a DataFrame has it already). The very first ``.df`` builds the frame from
SQLite and writes the snapshot file beside the ledger; later fresh processes load that and replay
only the rows changed since (also measured after 200 appends). Durable append = ``add()`` +
``update()`` to completed, each a committed, fsynced (``synchronous=FULL``) transaction; warm
``.df`` = the next ``.df`` in a process that had one before the appends; spend by model/day.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from _common import ROOT, table

import sora2_widgets as sw
from sora2_widgets._catalog import MODELS


def populate(path: Path, rows: int) -> None:
    sw.History(path).close()  # creates the schema
    db = sqlite3.connect(path / "history.sqlite3")
    rng = random.Random(1)
    start = dt.datetime(2026, 9, 1, tzinfo=dt.timezone.utc)
    batch = []
    for i in range(rows):
        m = rng.choice(MODELS)
        created = (start + dt.timedelta(seconds=i * 50)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        status = rng.choices(["completed", "failed", "cancelled"], [0.9, 0.07, 0.03])[0]
        cost = 400_000 if status == "completed" else 0
        batch.append(
            (created, created, m.id, m.endpoint, m.mode.value, f"prompt {i} " + "x" * rng.randint(20, 300),
             json.dumps({"duration": 4}), "fal", f"req-{i}", status, cost, 400_000, 400_000,
             f"https://v3.fal.media/files/{i}.mp4", f"media/{i:06d}.mp4", "0" * 64, 1280, 720, 4.0, 24.0,
             f"video_{i:032x}")
        )  # fmt: skip
    db.executemany(
        "INSERT INTO generations (created_at, updated_at, model_id, endpoint, mode, prompt, params_json, provider,"
        " request_id, status, cost_micros, est_low_micros, est_high_micros, video_url, local_path, sha256,"
        " width, height, duration, fps, video_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        batch,
    )
    db.commit()
    db.close()


_OPEN = """
import sys, time, json
sys.path.insert(0, {root!r})
import pandas
import sora2_widgets as sw
t0 = time.perf_counter(); h = sw.History({path!r}); t1 = time.perf_counter()
df = h.df; t2 = time.perf_counter()
print(json.dumps({{"open": t1 - t0, "open_df": t2 - t0, "rows": len(df)}}))
"""


def run(rows: int = 100_000, appends: int = 200) -> dict[str, Any]:
    out: dict[str, Any] = {"rows": rows}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp)
        t = time.perf_counter()
        populate(path, rows)
        out["populate_s"] = time.perf_counter() - t

        def fresh_open() -> dict[str, Any]:
            res = subprocess.run(
                [sys.executable, "-c", _OPEN.format(root=str(ROOT), path=str(path))],
                capture_output=True,
                text=True,
                check=True,
            )
            return dict(json.loads(res.stdout))

        first = fresh_open()  # no snapshot yet: builds the frame and writes the snapshot
        assert first["rows"] == rows
        out["open_df_cold_s"] = first["open_df"]
        opens = [fresh_open() for _ in range(3)]
        out["open_s"] = min(o["open"] for o in opens)
        out["open_df_s"] = min(o["open_df"] for o in opens)
        hist = sw.History(path)
        _ = hist.df  # warm: the process has the frame before the appends
        times = []
        for i in range(appends):
            t = time.perf_counter()
            hid = hist.add(
                model_id="sora2_text_to_video",
                endpoint="fal-ai/sora-2/text-to-video",
                mode="text",
                prompt=f"append {i}",
                provider="fal",
                est_low_micros=400_000,
                est_high_micros=400_000,
            )
            times.append(time.perf_counter() - t)
            hist.update(hid, status="completed", cost_micros=400_000)
        out["append_median_ms"] = 1000 * statistics.median(times)
        out["append_p95_ms"] = 1000 * sorted(times)[int(0.95 * len(times))]
        for by in ("model", "day"):
            t = time.perf_counter()
            hist.spend(by=by)  # type: ignore[arg-type]  # the first call after a change runs the SQL
            out[f"spend_{by}_ms"] = 1000 * (time.perf_counter() - t)
            best = float("inf")
            for _ in range(5):
                t = time.perf_counter()
                hist.spend(by=by)  # type: ignore[arg-type]  # nothing changed since: kept
                best = min(best, time.perf_counter() - t)
            out[f"spend_{by}_again_ms"] = 1000 * best
        t = time.perf_counter()
        frame = hist.df
        out["df_warm_ms"] = 1000 * (time.perf_counter() - t)
        assert len(frame) == rows + appends
        t = time.perf_counter()
        _ = hist.df
        out["df_unchanged_ms"] = 1000 * (time.perf_counter() - t)
        hist.close()
        after = [fresh_open() for _ in range(3)]  # the snapshot is now 400 revisions behind
        out["open_df_behind_s"] = min(o["open_df"] for o in after)
        assert after[0]["rows"] == rows + appends
    return out


def render(out: dict[str, Any]) -> str:
    return table(
        ["measure", f"{out['rows']:,} rows"],
        [
            ["History(path) open, fresh process (s)", f"{out['open_s']:.3f}"],
            ["open + first .df, no snapshot yet (s)", f"{out['open_df_cold_s']:.3f}"],
            ["open + first .df (s)", f"{out['open_df_s']:.3f}"],
            ["open + first .df, 200 appends after the snapshot (s)", f"{out['open_df_behind_s']:.3f}"],
            [".df in a warm process after 200 appends (ms)", f"{out['df_warm_ms']:.1f}"],
            [".df again, nothing changed (ms)", f"{out['df_unchanged_ms']:.1f}"],
            ["durable append, median (ms)", f"{out['append_median_ms']:.2f}"],
            ["durable append, p95 (ms)", f"{out['append_p95_ms']:.2f}"],
            ["spend(by='model') (ms)", f"{out['spend_model_ms']:.1f}"],
            ["spend(by='day') (ms)", f"{out['spend_day_ms']:.1f}"],
            ["spend(by='model') again, nothing changed (ms)", f"{out['spend_model_again_ms']:.2f}"],
        ],
    )


_WRITER = """
import sys, time
sys.path.insert(0, {root!r})
import sora2_widgets as sw
h = sw.History({target!r})
end = time.monotonic() + {seconds}
while time.monotonic() < end:
    h.add(model_id="sora2_text_to_video", endpoint="e", mode="text", provider="fal", status="completed",
          cost_micros=1)
"""


def _bulk(hist: sw.History, rows: int) -> None:
    """``rows`` completed rows from four users, written in one transaction through the ledger's own
    connection (the same SQL on both backends)."""
    rng = random.Random(1)
    start = dt.datetime(2026, 9, 1, tzinfo=dt.timezone.utc)
    cols = "created_at, updated_at, model_id, endpoint, mode, prompt, provider, status, cost_micros, est_high_micros"
    sql = f'INSERT INTO generations ({cols}, "user", machine) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)'
    with hist._db.write() as conn:
        for i in range(rows):
            m = rng.choice(MODELS)
            created = (start + dt.timedelta(seconds=i * 50)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            conn.execute(
                sql,
                (created, created, m.id, m.endpoint, m.mode.value, f"prompt {i}", "fal", "completed", 400_000,
                 400_000, f"user{i % 4}", "bench"),
            )  # fmt: skip


def _quantiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return 1000 * statistics.median(ordered), 1000 * ordered[int(0.95 * len(ordered))]


def _team_figures(target: str, rows: int, appends: int) -> dict[str, float]:
    """The team figures on one ledger (a folder for SQLite, a URL for PostgreSQL)."""
    out: dict[str, float] = {}
    hist = sw.History(target)
    _bulk(hist, rows)
    times = []
    for i in range(appends):
        t = time.perf_counter()
        hist.add(model_id="sora2_text_to_video", endpoint="e", mode="text", provider="fal", prompt=f"a {i}")
        times.append(time.perf_counter() - t)
    out["append_median_ms"], out["append_p95_ms"] = _quantiles(times)
    hist.close()
    fresh = sw.History(target)
    if fresh.cache_path.exists():
        fresh.cache_path.unlink()  # the figure is the build from the database, not the snapshot
    t = time.perf_counter()
    assert len(fresh.df) == rows + appends
    out["df_s"] = time.perf_counter() - t
    t = time.perf_counter()
    fresh.spend(by="user")
    out["spend_user_ms"] = 1000 * (time.perf_counter() - t)
    fresh.set_budget(1_000_000)
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER.format(root=str(ROOT), target=target, seconds=8)])
        for _ in range(8)
    ]
    time.sleep(1.5)  # the writers are connected and writing
    checks = []
    fields = {"model_id": "sora2_text_to_video", "endpoint": "e", "mode": "text", "provider": "fal"}
    for _ in range(100):
        t = time.perf_counter()
        fresh.add_with_budget(fields, budget=None, high=Decimal("0.4"))
        checks.append(time.perf_counter() - t)
    for w in writers:
        w.wait(timeout=120)
    out["budget_median_ms"], out["budget_p95_ms"] = _quantiles(checks)
    fresh.close()
    return out


def run_team(rows: int = 100_000, appends: int = 200) -> dict[str, Any]:
    """Append latency, ``.df`` at ``rows`` rows, ``spend(by="user")`` and the budget check (insert
    with the team budget, in one transaction) while 8 other processes write — on SQLite, and on a
    throwaway PostgreSQL server on loopback with default durability (fsync on)."""
    import pandas  # noqa: F401 - imported before the clocks start, as in a notebook

    from tests.team._server import running_server

    out: dict[str, Any] = {"rows": rows}
    with tempfile.TemporaryDirectory() as tmp:
        out["sqlite"] = _team_figures(tmp, rows, appends)
    with running_server(durable=True) as server:
        out["postgresql"] = _team_figures(server.new_database(), rows, appends)
    return out


def render_team(out: dict[str, Any]) -> str:
    sq, pg = out["sqlite"], out["postgresql"]
    rows = [
        ("append, median (ms)", "append_median_ms", "{:.2f}"),
        ("append, p95 (ms)", "append_p95_ms", "{:.2f}"),
        (f".df at {out['rows']:,} rows, built from the database (s)", "df_s", "{:.2f}"),
        ("spend(by='user') (ms)", "spend_user_ms", "{:.1f}"),
        ("budget check + row, 8 writers, median (ms)", "budget_median_ms", "{:.2f}"),
        ("budget check + row, 8 writers, p95 (ms)", "budget_p95_ms", "{:.2f}"),
    ]
    return table(["measure", "SQLite", "PostgreSQL"], [[n, f.format(sq[k]), f.format(pg[k])] for n, k, f in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--team", action="store_true", help="also the team figures: PostgreSQL beside SQLite")
    args = parser.parse_args()
    print(render(run(args.rows)))
    if args.team:
        print(render_team(run_team(args.rows)))


if __name__ == "__main__":
    main()
