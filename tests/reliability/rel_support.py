"""Shared set-up of the reliability suites: a fast loopback emulator and checks on its state."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any


def caching_renderer(real: Callable[..., Any], cache_dir: Path) -> Callable[..., Any]:
    """``render_video`` that renders each (size, duration, fps) once and copies it after that.

    The reliability suites run thousands of jobs; what they test is the protocol and the ledger,
    not the pixels, so identical-shaped videos may share one real H.264 file.

    ``real`` may itself be a caching renderer: the session's loopback emulator patches the module's
    ``render_video`` for the whole session, and a test that wraps it again renders through the
    uncached original. (Wrapping the wrapper once deadlocked: both held one non-reentrant lock.)
    """
    real = getattr(real, "uncached", real)
    cache_lock = threading.Lock()  # one per cache: a render under it never waits on another cache
    cache_dir.mkdir(parents=True, exist_ok=True)

    def render_video(path: Path, *, width: int, height: int, duration: float, fps: int = 24, **kw: Any) -> Any:
        key = f"{width}x{height}-{duration:g}s-{fps}"
        video, thumb = cache_dir / f"{key}.mp4", cache_dir / f"{key}.jpg"
        with cache_lock:
            if not video.exists():
                first = real(
                    video, width=width, height=height, duration=duration, fps=fps, **{**kw, "thumbnail_path": thumb}
                )
                (cache_dir / f"{key}.json").write_text(json.dumps({"num_frames": first.num_frames}))
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        shutil.copyfile(video, tmp)
        tmp.replace(path)
        target_thumb = kw.get("thumbnail_path")
        if target_thumb is not None:
            shutil.copyfile(thumb, target_thumb)
        frames = json.loads((cache_dir / f"{key}.json").read_text())["num_frames"]
        from sora2_widgets.emulator._render import RenderedVideo

        return RenderedVideo(
            path=path,
            width=width,
            height=height,
            fps=fps,
            duration=frames / fps,
            num_frames=frames,
            file_size=path.stat().st_size,
            thumbnail_path=Path(target_thumb) if target_thumb is not None else None,
        )

    render_video.uncached = real  # type: ignore[attr-defined]
    return render_video


def emulator_request_ids(state_dir: Path) -> list[str]:
    """Request ids the emulator accepted (one JSON record per job, whichever process wrote it)."""
    return sorted(p.stem for p in (state_dir / "jobs").glob("*.json"))


__all__ = ["caching_renderer", "emulator_request_ids", "replace"]
