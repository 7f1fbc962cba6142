"""The panel's cost label: time to recompute it after one setting change.

    python benchmarks/bench_panel.py [--repeat 300]

A real ``PanelController`` over a real ``History`` (temp dir, a few hundred rows, some of them
remix sources). Each scenario flips one setting back and forth and times what the view redraws
for money after a change: ``cost_lines()`` (the label) and ``blockers`` (the Generate button,
which prices the selection again). Reported: median and p95 of both, in milliseconds.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import table

import sora2_widgets as sw
from sora2_widgets.panel import PanelController


def _fill(hist: sw.History, rows: int) -> None:
    spec = sw.get_model("sora2_text_to_video")
    for i in range(rows):
        hist.add(
            model_id=spec.id,
            endpoint=spec.endpoint,
            mode="text",
            prompt=f"a red fox running through snow, take {i}",
            provider="emulator",
            status="completed",
            cost_micros=400_000,
            video_id=f"video_{i:08d}",
            kept_for_remix=1 if i % 3 == 0 else 0,
            width=1280,
            height=720,
            duration=8.0,
        )


def _scenarios(ctl: PanelController) -> dict[str, tuple[Callable[[], None], Callable[[int], None]]]:
    """name -> (setup, change(i)): change(i) makes the i-th setting change of the scenario."""

    def text() -> None:
        ctl.set_tab("text")
        ctl.select(["sora2_text_to_video", "sora2_text_to_video_pro", "kling25_turbo_pro_text_to_video"])

    def image() -> None:
        ctl.set_tab("image")
        ctl.select(["sora2_image_to_video", "sora2_image_to_video_pro", "kling25_turbo_pro_image_to_video"])
        ctl.set_setting("sora:resolution", "auto")  # the Pro model's "auto": a price range

    def remix() -> None:
        ctl.set_tab("remix")
        ctl.select([m.id for m in ctl.models])
        ctl.set_remix_source(ctl.remix_candidates()[0].key)

    def text_all() -> None:
        ctl.set_tab("text")
        ctl.select([m.id for m in ctl.models])  # every text model of the catalog (Sora, Kling, Veo, Seedance)

    def image_all() -> None:
        ctl.set_tab("image")
        ctl.select([m.id for m in ctl.models])
        ctl.set_setting("sora:resolution", "auto")

    durations = itertools.cycle((4, 8, 12))
    aspects = itertools.cycle(("16:9", "9:16"))
    keeps = itertools.cycle((True, False))
    n_text = len(sw.models_for("text"))
    n_image = len(sw.models_for("image"))
    return {
        f"text, all {n_text} models, change duration": (
            text_all,
            lambda i: ctl.set_setting("sora:duration", next(durations)),
        ),
        f"image, all {n_image} models, auto resolution, change aspect": (
            image_all,
            lambda i: ctl.set_setting("sora:aspect_ratio", next(aspects)),
        ),
        "text, 3 models, change duration": (text, lambda i: ctl.set_setting("sora:duration", next(durations))),
        "image, auto resolution, change aspect": (image, lambda i: ctl.set_setting("sora:aspect_ratio", next(aspects))),
        "remix with a source, toggle keep": (remix, lambda i: ctl.set_setting("sora:delete_video", next(keeps))),
    }


def run(repeat: int = 300, rows: int = 300) -> dict[str, Any]:
    out: dict[str, Any] = {"repeat": repeat, "scenarios": []}
    with tempfile.TemporaryDirectory() as tmp:
        hist = sw.History(Path(tmp))
        _fill(hist, rows)
        ctl = PanelController(None, hist, budget="100", generator_factory=lambda key: None)
        try:
            for name, (setup, change) in _scenarios(ctl).items():
                setup()
                ctl.cost_lines()  # warm: imports, first history reads
                label, redraw = [], []
                for i in range(repeat):
                    t0 = time.perf_counter()
                    change(i)
                    lines = ctl.cost_lines()
                    t1 = time.perf_counter()
                    _ = ctl.blockers
                    t2 = time.perf_counter()
                    assert lines and lines[0].startswith("Total:"), lines
                    label.append(t1 - t0)
                    redraw.append(t2 - t0)
                out["scenarios"].append(
                    {
                        "scenario": name,
                        "label_median_ms": 1000 * statistics.median(label),
                        "label_p95_ms": 1000 * sorted(label)[int(0.95 * len(label))],
                        "redraw_median_ms": 1000 * statistics.median(redraw),
                        "redraw_p95_ms": 1000 * sorted(redraw)[int(0.95 * len(redraw))],
                    }
                )
        finally:
            ctl.close()
            hist.close()
    out["worst_label_median_ms"] = max(s["label_median_ms"] for s in out["scenarios"])
    out["worst_redraw_median_ms"] = max(s["redraw_median_ms"] for s in out["scenarios"])
    return out


def render(out: dict[str, Any]) -> str:
    return table(
        ["scenario", "label median (ms)", "label p95 (ms)", "label + Generate button median (ms)", "p95 (ms)"],
        [
            [
                s["scenario"],
                f"{s['label_median_ms']:.3f}",
                f"{s['label_p95_ms']:.3f}",
                f"{s['redraw_median_ms']:.3f}",
                f"{s['redraw_p95_ms']:.3f}",
            ]
            for s in out["scenarios"]
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    print(render(run(args.repeat)))


if __name__ == "__main__":
    main()
