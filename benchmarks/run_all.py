"""Run every benchmark in one go and write benchmarks/RESULTS.md (ratios come from one run).

    python benchmarks/run_all.py [--quick]

Not a test: nothing passes or fails here. Targets are printed next to the numbers.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import bench_client
import bench_compare
import bench_download
import bench_history
import bench_panel
import bench_panel_render
import bench_startup
import bench_sweep
import bench_upload
from _common import ROOT, machine, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer jobs/rows (a smoke run, not for RESULTS.md)")
    args = parser.parse_args()
    jobs, rows, mb = (5, 10_000, 50) if args.quick else (20, 100_000, 200)

    facts = machine()
    print("machine:", facts, flush=True)
    # First, while nothing else of this run is warm in the OS cache or the interpreter's memory.
    startup = bench_startup.run(7 if args.quick else 15)
    print(bench_startup.render(startup), flush=True)
    client = bench_client.run(jobs)
    print(bench_client.render(client), flush=True)
    hist = bench_history.run(rows)
    print(bench_history.render(hist), flush=True)
    team = bench_history.run_team(rows)
    print(bench_history.render_team(team), flush=True)
    panel = bench_panel.run(100 if args.quick else 300)
    print(bench_panel.render(panel), flush=True)
    first_render = bench_panel_render.run(2 if args.quick else 5)
    print(bench_panel_render.render(first_render), flush=True)
    sweep = bench_sweep.run(24 if not args.quick else 8)
    print(bench_sweep.render(sweep), flush=True)
    compare = bench_compare.run(2 if args.quick else 3)
    print(bench_compare.render(compare), flush=True)
    dl = bench_download.run(mb, repeat=2)
    upload = bench_upload.run(50 if args.quick else 100)
    print(bench_upload.render(upload), flush=True)
    render = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_render.py"), "--repeat", "2"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()

    def mark(ok: bool) -> str:
        return "met" if ok else "NOT met"

    cpu_targets = []
    for length in client["lengths"]:
        by_client = {r["client"]: r for r in length["rows"]}
        pairs = [
            ("sync", by_client["sora2-widgets FalClient (sync)"], by_client["fal-client SyncClient.subscribe"]),
            ("async", by_client["sora2-widgets AsyncFalClient"], by_client["fal-client AsyncClient.subscribe"]),
        ]
        measured = "; ".join(
            f"{kind} {o['cpu_ms']:.2f} vs {f['cpu_ms']:.2f} ms (×{o['cpu_ms'] / f['cpu_ms']:.2f})"
            for kind, o, f in pairs
        )
        # The targets are jobs a person waits for (≈1.4 s, ≈5 s); shorter ones are reported, not chased:
        # there the whole job is a few ms of HTTP, and the client uses httpx's own transport on purpose.
        if length["label"].startswith(("≈1.4", "≈5")):
            status = ", ".join(f"{kind} {mark(o['cpu_ms'] <= f['cpu_ms'] / 2)}" for kind, o, f in pairs)
            name = f"client CPU/job ≤ ½ fal-client's, job {length['label']}"
        else:
            status, name = "reported, not a target", f"client CPU/job vs fal-client's, job {length['label']}"
        cpu_targets.append([name, measured, status])
        if length is client["lengths"][0]:
            ours_req = by_client["sora2-widgets FalClient (sync)"]["requests"]
            fal_req = by_client["fal-client SyncClient.subscribe"]["requests"]
    raw = next(r for r in dl if r["variant"] == "raw httpx")
    ours_dl = next(r for r in dl if r["variant"] == "sora2-widgets")
    dl_ratio = float(ours_dl["MB/s"]) / float(raw["MB/s"]) if "MB/s" in ours_dl else float("nan")

    render_target = bench_panel_render.TARGET_S
    targets = [
        *bench_startup.targets(startup),
        *cpu_targets,
        ["requests/job ≤ fal-client's (sync, shortest job)", f"{ours_req:.1f} vs {fal_req:.1f}",
         mark(ours_req <= fal_req)],
        ["fan-out wall ≤ 1.1× slowest single", f"×{client['fan_out']['ratio']:.2f}",
         mark(client["fan_out"]["ratio"] <= 1.1)],
        ["100k-row history opens ≤ 0.5 s", f"open {hist['open_s']:.3f} s; open + first .df {hist['open_df_s']:.2f} s "
         f"(pandas imported; {hist['open_df_cold_s']:.2f} s before any snapshot exists)",
         f"{mark(hist['open_s'] <= 0.5)} (open); {mark(hist['open_df_s'] <= 0.5)} (with .df)"],
        ["durable append ≤ 2 ms median", f"{hist['append_median_ms']:.2f} ms", mark(hist["append_median_ms"] <= 2)],
        ["PostgreSQL append ≤ 5 ms median (loopback, fsync on)", f"{team['postgresql']['append_median_ms']:.2f} ms",
         mark(team["postgresql"]["append_median_ms"] <= 5)],
        ["cost label recompute ≤ 2 ms (worst scenario: every model of a tab ticked, median)",
         f"label {panel['worst_label_median_ms']:.2f} ms; with the Generate button's checks "
         f"{panel['worst_redraw_median_ms']:.2f} ms (reported)",
         mark(panel["worst_label_median_ms"] <= 2)],
        ["panel first render ≤ 1 s after its cell runs (JupyterLab, fresh kernel, median)",
         first_render.get("skipped") or f"{first_render['panel_median_s']:.3f} s",
         "skipped" if "skipped" in first_render else mark(first_render["panel_median_s"] <= render_target)],
        [f"sweep of {sweep['jobs']} jobs (max_concurrency {sweep['jobs']}): wall ≤ 1.1× its slowest job",
         f"×{sweep['ratio']:.2f} ({sweep['wall']:.2f} s / {sweep['slowest']:.2f} s)",
         mark(sweep["ratio"] <= 1.1 and sweep["completed"] == sweep["jobs"])],
        [f"compare grid of {bench_compare.CELLS} cells on screen ≤ 1 s (JupyterLab, fresh kernel, median)",
         compare.get("skipped") or f"{compare['grid_median_s']:.3f} s",
         "skipped" if "skipped" in compare else mark(compare["grid_median_s"] <= 1.0)],
        ["download ≥ 0.8× raw httpx", f"×{dl_ratio:.2f}", mark(dl_ratio >= 0.8)],
        ["upload (100 MiB) ≥ 0.8× raw httpx", f"×{upload['ratio']:.2f}", mark(upload["ratio"] >= 0.8)],
        ["download RSS growth ≤ 16 MB", f"{ours_dl.get('rss_growth_mb', float('nan')):.1f} MB",
         mark(float(ours_dl.get("rss_growth_mb", 1e9)) <= 16)],
    ]  # fmt: skip
    dl_table = table(
        ["variant", "MB/s", "seconds", "peak RSS growth (MB)"],
        [[r["variant"], f"{r['MB/s']:.0f}", f"{r['seconds']:.2f}", f"{r['rss_growth_mb']:.1f}"] for r in dl],
    )
    text = "\n".join(
        [
            "# Benchmark results",
            "",
            "Written by `python benchmarks/run_all.py` (all ratios come from this one run).",
            "",
            *(f"- **{k}**: {v}" for k, v in facts.items()),
            "",
            "## Targets",
            "",
            table(["target", "measured", "status"], targets),
            "",
            f"## Start-up: import and --help against fal-client ({startup['repeat']} fresh processes each)",
            "",
            bench_startup.render(startup),
            "",
            "## Client vs fal-client, fan-out, concurrency",
            "",
            bench_client.render(client),
            "",
            f"## History ({rows:,} rows)",
            "",
            bench_history.render(hist),
            "",
            f"## Team ledger: PostgreSQL beside SQLite ({rows:,} rows; `bench_history.py --team`)",
            "",
            bench_history.render_team(team),
            "",
            bench_sweep.render(sweep),
            f"## Compare grid first render in the browser (benchmarks/bench_compare.py, {bench_compare.CELLS} cells)",
            "",
            bench_compare.render(compare),
            "",
            "## Panel first render in the browser (benchmarks/bench_panel_render.py)",
            "",
            bench_panel_render.render(first_render),
            "",
            f"## Download of a {mb} MB file (loopback server in its own process)",
            "",
            dl_table,
            "",
            f"## Upload of a {upload['mib']:.0f} MiB file through fal's storage flow (emulator in its own process)",
            "",
            bench_upload.render(upload),
            "",
            "## Emulator render time (benchmarks/bench_render.py)",
            "",
            "```",
            render,
            "```",
            "",
        ]
    )
    out = Path(__file__).with_name("RESULTS.md")
    if not args.quick:
        out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
