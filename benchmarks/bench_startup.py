"""Start-up: ``import sora2_widgets`` against ``import fal_client``, and ``sora2-widgets --help``.

    python benchmarks/bench_startup.py [--repeat 15]

Every sample is a fresh interpreter (nothing cached in ``sys.modules``); the three kinds of run
are interleaved so that a busy moment of the machine hits them alike. An import is timed inside
its process (``perf_counter`` around the ``import`` statement: what a notebook cell pays); the
``--help`` is timed from outside, interpreter start included (what a person at a shell waits for).
Reported: medians, and the ratio to fal_client's import from the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import ROOT, table

_TIMED_IMPORT = "import time; t = time.perf_counter(); import {name}; print(time.perf_counter() - t)"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def _import_seconds(name: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _TIMED_IMPORT.format(name=name)], capture_output=True, text=True, env=_env(), check=True
    )
    return float(out.stdout.strip())


def _help_command() -> list[str]:
    # The console script a user types, when it is installed beside this interpreter.
    script = Path(sys.executable).with_name("sora2-widgets")
    if script.exists():
        return [str(script), "--help"]
    found = shutil.which("sora2-widgets")
    return [found, "--help"] if found else [sys.executable, "-m", "sora2_widgets.cli", "--help"]


def _wall_seconds(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, capture_output=True, env=_env(), check=True)
    return time.perf_counter() - start


def run(repeat: int = 15) -> dict[str, Any]:
    help_cmd = _help_command()
    samples: dict[str, list[float]] = {"fal_client": [], "sora2_widgets": [], "help": [], "python": []}
    _import_seconds("fal_client")  # warm the OS file cache once for both
    _import_seconds("sora2_widgets")
    for _ in range(repeat):
        samples["fal_client"].append(_import_seconds("fal_client"))
        samples["sora2_widgets"].append(_import_seconds("sora2_widgets"))
        samples["help"].append(_wall_seconds(help_cmd))
        samples["python"].append(_wall_seconds([sys.executable, "-c", "pass"]))
    med = {k: statistics.median(v) for k, v in samples.items()}
    return {
        "repeat": repeat,
        "help_command": " ".join(Path(help_cmd[0]).name if i == 0 else a for i, a in enumerate(help_cmd)),
        "import_fal_ms": med["fal_client"] * 1000,
        "import_ours_ms": med["sora2_widgets"] * 1000,
        "import_ratio": med["sora2_widgets"] / med["fal_client"],
        "help_s": med["help"],
        "python_s": med["python"],
    }


def render(r: dict[str, Any]) -> str:
    return table(
        ["measure (median of fresh processes)", "sora2-widgets", "fal-client", "ratio"],
        [
            ["import (ms, in-process)", f"{r['import_ours_ms']:.1f}", f"{r['import_fal_ms']:.1f}",
             f"×{r['import_ratio']:.2f}"],
            [f"`{r['help_command']}` (s, wall, interpreter included)", f"{r['help_s']:.3f}", "—", "—"],
            ["bare `python -c pass` (s, wall: the floor)", f"{r['python_s']:.3f}", "—", "—"],
        ],
    )  # fmt: skip


def targets(r: dict[str, Any]) -> list[list[str]]:
    def mark(ok: bool) -> str:
        return "met" if ok else "NOT met"

    return [
        ["import sora2_widgets ≤ 1.5× import fal_client (same run)",
         f"{r['import_ours_ms']:.1f} vs {r['import_fal_ms']:.1f} ms (×{r['import_ratio']:.2f})",
         mark(r["import_ratio"] <= 1.5)],
        ["sora2-widgets --help ≤ 0.3 s", f"{r['help_s']:.3f} s (bare python {r['python_s']:.3f} s)",
         mark(r["help_s"] <= 0.3)],
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    result = run(parser.parse_args().repeat)
    print(render(result))
    print()
    print(table(["target", "measured", "status"], targets(result)))


if __name__ == "__main__":
    main()
