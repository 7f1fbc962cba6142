"""The panel's first render in a real browser: from running its cell to the panel on screen.

    python benchmarks/bench_panel_render.py [--repeat 3]

JupyterLab (loopback, no token) and Debian's Chromium through Playwright (``_lab.py``), as in
tests/browser. Each round restarts the kernel, runs ``import sora2_widgets as sw`` (timed too), then runs the
cell ``sw.Sora2Panel()`` and measures in the page, with ``performance.now()``, from the run
command to the first animation frame in which the panel's element has a size. The kernel is fresh
each round, so this is a first render every time. Reported: each round, and the median.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Any

from _common import table
from _lab import command_line, fresh_kernel, missing, notebook_page, timed

TARGET_S = 1.0
CELLS = ["import sora2_widgets as sw", "sw.Sora2Panel()"]


def run(repeat: int = 3) -> dict[str, Any]:
    """Rounds of (import, first panel render) in seconds; ``skipped`` when there is no browser."""
    if (why := missing()) is not None:
        return {"skipped": why}
    rounds = []
    with tempfile.TemporaryDirectory() as tmp, notebook_page(Path(tmp), "render.ipynb", CELLS) as pg:
        for _ in range(repeat):
            fresh_kernel(pg)
            imported = timed(pg, 0, None)
            panel = timed(pg, 1, ".sw-panel")
            rounds.append({"import_s": imported, "panel_s": panel})
    return {
        "rounds": rounds,
        "panel_median_s": statistics.median(r["panel_s"] for r in rounds),
        "import_median_s": statistics.median(r["import_s"] for r in rounds),
    }


def render(out: dict[str, Any]) -> str:
    if "skipped" in out:
        return f"skipped: {out['skipped']}"
    rows = [[i + 1, f"{r['import_s']:.3f}", f"{r['panel_s']:.3f}"] for i, r in enumerate(out["rounds"])]
    rows.append(["median", f"{out['import_median_s']:.3f}", f"{out['panel_median_s']:.3f}"])
    return table(
        ["round (fresh kernel)", "`import sora2_widgets` cell (s)", "`sw.Sora2Panel()` cell → on screen (s)"], rows
    )


def main() -> None:
    command_line(__doc__, run, render, "panel_median_s", TARGET_S)


if __name__ == "__main__":
    main()
