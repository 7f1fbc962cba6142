"""``sw.compare``'s first render in a real browser: 24 cells (12 prompts × 2 models), from running
the cell to the grid on screen, and on to every cell's video ready to play.

    python benchmarks/bench_compare.py [--repeat 3]

JupyterLab and Debian's Chromium through Playwright (``_lab.py``), as in ``bench_panel_render.py``.
The 24 emulator videos are made once, before Lab starts, in this process's own
``SORA2_WIDGETS_HOME`` (the one Lab's kernels get). Each round restarts the kernel,
reads the ledger (untimed), then runs ``sw.compare(df)`` and measures in the page from the run
command to the first frame in which the grid has a size (target ≤ 1 s), and then to every video's
metadata loaded (streamed from the kernel over the comm; reported, no target).
"""

from __future__ import annotations

import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from _common import table
from _lab import command_line, fresh_kernel, missing, notebook_page, timed

TARGET_S = 1.0
CELLS = 24
PROMPTS = [f"Benchmark scene {i}: a lighthouse in a storm, wide shot" for i in range(CELLS // 2)]
MODELS = ["sora2_text_to_video", "sora2_text_to_video_pro"]
SETUP = "import sora2_widgets as sw\ndf = sw.History().df"
READY = """() => { const el = document.querySelector('.sw-cmp');
  return el && el.dataset.readyMs ? Number(el.dataset.readyMs) / 1000 : null; }"""


def _make_videos(home: Path) -> None:
    """The 24 videos, on the built-in emulator (no key), in ``home``."""
    for name in ("FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET", "SORA2_WIDGETS_BUDGET"):
        os.environ.pop(name, None)
    os.environ["SORA2_WIDGETS_HOME"] = str(home)
    import sora2_widgets as sw

    jobs = [{"model_id": m, "prompt": p, "duration": 4} for p in PROMPTS for m in MODELS]
    done = sw.generate_many(jobs)
    failed = [g.error for g in done if not g.ok]
    if failed:
        raise RuntimeError(f"{len(failed)} of {CELLS} emulator jobs failed: {failed[0]}")


def run(repeat: int = 3) -> dict[str, Any]:
    """Rounds of (grid on screen, every video ready) in seconds; ``skipped`` when there is no browser."""
    if (why := missing()) is not None:
        return {"skipped": why}
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        _make_videos(Path(tmp) / "home")  # notebook_page gives Lab's kernels this home
        with notebook_page(Path(tmp), "compare.ipynb", [SETUP, "sw.compare(df)"]) as pg:
            for _ in range(repeat):
                fresh_kernel(pg)
                timed(pg, 0, None)
                grid = timed(pg, 1, ".sw-cmp-grid")
                cells = pg.locator(".sw-cmp-grid .sw-cmp-cell").count()
                if cells != CELLS:
                    raise RuntimeError(f"the grid has {cells} cells, not {CELLS}")
                pg.wait_for_function(f"() => ({READY})() !== null", timeout=120_000)
                # readyMs counts from the widget's render; add the grid's time before it was drawn.
                rendered = pg.evaluate("() => Number(document.querySelector('.sw-cmp').dataset.renderMs) / 1000")
                videos = grid - rendered + pg.evaluate(READY)
                rounds.append({"grid_s": grid, "videos_s": videos, "front_end_s": rendered})
    return {
        "rounds": rounds,
        "grid_median_s": statistics.median(r["grid_s"] for r in rounds),
        "videos_median_s": statistics.median(r["videos_s"] for r in rounds),
        # The box's load while measuring: on a shared 2-core machine the first render scales with it.
        "load_average": os.getloadavg()[0],
    }


def render(out: dict[str, Any]) -> str:
    if "skipped" in out:
        return f"skipped: {out['skipped']}"
    rows = [
        [i + 1, f"{r['grid_s']:.3f}", f"{r['front_end_s']:.3f}", f"{r['videos_s']:.3f}"]
        for i, r in enumerate(out["rounds"])
    ]
    rows.append(["median", f"{out['grid_median_s']:.3f}", "", f"{out['videos_median_s']:.3f}"])
    head = ["round (fresh kernel)", f"`sw.compare(df)` → {CELLS}-cell grid on screen (s)", "of which drawing it (s)"]
    load = f"\n\nload average while measuring: {out['load_average']:.1f}"
    return table([*head, "→ every video ready (s)"], rows) + load


def main() -> None:
    command_line(__doc__, run, render, "grid_median_s", TARGET_S)


if __name__ == "__main__":
    main()
