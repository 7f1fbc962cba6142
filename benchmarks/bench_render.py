"""How fast does the emulator render its fake Sora 2 videos?

    python benchmarks/bench_render.py [--repeat N]

Prints one row per case: frames, best wall-clock seconds over N runs, file
size in MB and frames per second.  The target is a 12 s 1080p clip in about
1-2 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sora2_widgets.emulator._render import dimensions, render_video

PROMPT = (
    "A golden retriever surfing a huge wave at sunset, cinematic drone shot, slow motion spray "
    "glittering in the light, the camera circling as the dog grins at the lens"
)
SUBTITLE = "fal-ai/sora-2/text-to-video · SIMULATED by sora2-widgets emulator"
CASES = [
    ("4 s 720p 16:9", "720p", "16:9", 4),
    ("12 s 1080p 16:9", "1080p", "16:9", 12),
    ("20 s 1080p 9:16", "1080p", "9:16", 20),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best is reported")
    args = parser.parse_args()
    print(f"{'case':<18}{'frames':>8}{'seconds':>10}{'MB':>8}{'frames/s':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, resolution, aspect, duration in CASES:
            width, height = dimensions(resolution, aspect)
            best = float("inf")
            for i in range(max(1, args.repeat)):
                start = time.perf_counter()
                video = render_video(
                    Path(tmp) / f"{i}.mp4",
                    width=width,
                    height=height,
                    duration=duration,
                    title=PROMPT,
                    subtitle=SUBTITLE,
                    seed=i,
                    thumbnail_path=Path(tmp) / f"{i}.jpg",
                )
                best = min(best, time.perf_counter() - start)
            mb = video.file_size / 1e6
            print(f"{name:<18}{video.num_frames:>8}{best:>10.2f}{mb:>8.2f}{video.num_frames / best:>10.0f}")


if __name__ == "__main__":
    main()
