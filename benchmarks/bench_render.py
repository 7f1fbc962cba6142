"""How fast does the emulator render its fake videos, with and without sound?

    python benchmarks/bench_render.py [--repeat N]

Prints one row per case: frames, the best wall-clock and CPU seconds over N runs (CPU counts
every thread: what the render costs on one core, whatever else the machine is doing), file size
in MB and frames per second of wall time. The targets, as ratios of CPU time: sound (a fixed
0.1-0.2 s for 8 s of AAC) adds at most 25% to an 8 s clip, and a 4k frame costs no more per pixel
than a 1080p one (10% allowed for a shared machine's noise); and an 8 s 4k clip with sound takes
at most 10 s of one core.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sora2_widgets.emulator._render import RenderedVideo, render_video

PROMPT = (
    "A golden retriever surfing a huge wave at sunset, cinematic drone shot, slow motion spray "
    "glittering in the light, the camera circling as the dog grins at the lens"
)
SUBTITLE = "fal-ai/sora-2/text-to-video · SIMULATED by sora2-widgets emulator"
#: (name, width, height, seconds, audio)
CASES = [
    ("4 s 720p 16:9", 1280, 720, 4, False),
    ("12 s 1080p 16:9", 1920, 1080, 12, False),
    ("20 s 1080p 9:16", 1080, 1920, 20, False),
    ("8 s 1080p", 1920, 1080, 8, False),
    ("8 s 1080p +audio", 1920, 1080, 8, True),
    ("8 s 4k", 3840, 2160, 8, False),
    ("8 s 4k +audio", 3840, 2160, 8, True),
]
AUDIO_COST = 1.25
PER_PIXEL_4K = 1.10
CPU_4K_SECONDS = 10.0


def _render(
    tmp: Path, width: int, height: int, duration: int, audio: bool, seed: int
) -> tuple[float, float, RenderedVideo]:
    """One render's wall-clock and CPU seconds, and the video."""
    start, start_cpu = time.perf_counter(), time.process_time()
    video = render_video(
        tmp / f"{seed}.mp4",
        width=width,
        height=height,
        duration=duration,
        title=PROMPT,
        subtitle=SUBTITLE,
        seed=seed,
        thumbnail_path=tmp / f"{seed}.jpg",
        audio=audio,
    )
    return time.perf_counter() - start, time.process_time() - start_cpu, video


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best is reported")
    args = parser.parse_args()
    print(f"{'case':<20}{'frames':>8}{'seconds':>10}{'cpu s':>8}{'MB':>8}{'frames/s':>10}")
    wall = dict.fromkeys((c[0] for c in CASES), float("inf"))
    cpu = dict(wall)
    videos: dict[str, RenderedVideo] = {}
    with tempfile.TemporaryDirectory() as tmp:
        # Rounds over all cases rather than all runs of one case, then the next: on a shared
        # machine the load drifts, and the ratios compare cases measured side by side.
        for seed in range(max(1, args.repeat)):
            for name, width, height, duration, audio in CASES:
                w, c, videos[name] = _render(Path(tmp), width, height, duration, audio, seed)
                wall[name], cpu[name] = min(wall[name], w), min(cpu[name], c)
    for name, *_ in CASES:
        video = videos[name]
        print(
            f"{name:<20}{video.num_frames:>8}{wall[name]:>10.2f}{cpu[name]:>8.2f}{video.file_size / 1e6:>8.2f}"
            f"{video.num_frames / wall[name]:>10.0f}"
        )
    checks = [
        ("sound's cost, 8 s 1080p (cpu)", cpu["8 s 1080p +audio"] / cpu["8 s 1080p"], AUDIO_COST, "×"),
        ("sound's cost, 8 s 4k (cpu)", cpu["8 s 4k +audio"] / cpu["8 s 4k"], AUDIO_COST, "×"),
        ("4k per pixel vs 1080p (cpu)", cpu["8 s 4k"] / cpu["8 s 1080p"] / 4, PER_PIXEL_4K, "×"),
        ("8 s 4k +audio, one core", cpu["8 s 4k +audio"], CPU_4K_SECONDS, " s"),
    ]
    print()
    for label, value, target, unit in checks:
        verdict = "met" if value <= target else "NOT met"
        print(f"{label:<32}{value:>6.2f}{unit}  target ≤ {target:.2f}{unit}  {verdict}")


if __name__ == "__main__":
    main()
