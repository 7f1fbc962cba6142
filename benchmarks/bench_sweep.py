"""A 24-job sweep's wall time against its slowest job (issue 15: ≤ 1.1× at max_concurrency ≥ 24).

    python benchmarks/bench_sweep.py [--jobs 24] [--seconds 3]

The emulator runs in its own process on loopback (renders cached, so its CPU does not compete with
ours on a 2-core box), each job lasting about ``--seconds`` on the service. The sweep runs through
``Sweep.run`` exactly as a user's would: plan, ledger rows, submit, follow, download, save, with
``max_concurrency`` = the number of jobs. Measured:

* wall: from ``run()`` called to ``run()`` returned (it reads the results back from the ledger);
* slowest job: the longest job of the sweep itself, from its ledger row's creation to its last
  update (the saved video), so both numbers include this process's own overhead per job;
* a single job alone, same settings, for reference.

The target is a ratio (wall / slowest job), so it holds on any machine; the absolute times are
reported for context only.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import EmulatorProcess, table

MODEL = "sora2_text_to_video"


def _client(base: str, concurrency: int) -> Any:
    import sora2_widgets as sw

    return sw.AsyncFalClient("bench-key", queue_url=base, max_concurrency=concurrency)


def _sweep_once(base: str, home: Path, prompts: list[str], name: str) -> tuple[float, Any]:
    import asyncio

    import sora2_widgets as sw

    s = sw.sweep(prompts, MODEL, name=name, duration=4)
    client = _client(base, len(prompts))
    with sw.Generator(client=client, history=sw.History(home), resume=False) as gen:
        start = time.perf_counter()
        results = s.run(generator=gen, progress="none")
        wall = time.perf_counter() - start
    asyncio.run(client.aclose())
    return wall, results


def run(jobs: int = 24, seconds: float = 3.0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["SORA2_WIDGETS_HOME"] = str(root / "home")
        options = {"queue_delay": 0.3, "progress_time": max(seconds - 0.3, 0.1)}
        with EmulatorProcess(root / "emu", cache_renders=True, **options) as emu:
            # Warm-up: imports, the ledger's creation and the render cache's first file.
            _sweep_once(emu.base_url, root / "home", ["warm-up"], "warm-up")
            single, alone = _sweep_once(emu.base_url, root / "home", ["a single job"], "single")
            prompts = [f"a lighthouse in a storm, take {i}" for i in range(jobs)]
            wall, results = _sweep_once(emu.base_url, root / "home", prompts, "bench")
    completed = int((results["status"] == "completed").sum())
    slowest = float(results["seconds"].max())
    return {
        "jobs": jobs,
        "completed": completed,
        "wall": wall,
        "slowest": slowest,
        "fastest": float(results["seconds"].min()),
        "single_wall": single,
        "single_job": float(alone["seconds"].iloc[0]),
        "ratio": wall / slowest,
    }


def render(out: dict[str, Any]) -> str:
    rows = [
        ["jobs (max_concurrency)", out["jobs"]],
        ["completed", out["completed"]],
        ["sweep wall (run() call)", f"{out['wall']:.2f} s"],
        ["slowest job of the sweep", f"{out['slowest']:.2f} s"],
        ["fastest job of the sweep", f"{out['fastest']:.2f} s"],
        ["one job alone: its job / run() wall", f"{out['single_job']:.2f} s / {out['single_wall']:.2f} s"],
        ["wall / slowest job (target ≤ 1.1)", f"×{out['ratio']:.2f}"],
    ]
    return "## Sweep (issue 15)\n\n" + table(["measure", "value"], rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--jobs", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    out = run(args.jobs, args.seconds)
    print(render(out))
    status = "met" if out["ratio"] <= 1.1 and out["completed"] == out["jobs"] else "NOT met"
    print(f"target wall ≤ 1.1× slowest job: ×{out['ratio']:.2f} ({status})")


if __name__ == "__main__":
    main()
