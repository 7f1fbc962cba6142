"""Model ids and small helpers the panel's tests share."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from sora2_widgets import AsyncFalClient, Emulator, Generator, History
from sora2_widgets.panel._widgets import panel_tree

TEXT_SORA, TEXT_PRO, TEXT_KLING = "sora2_text_to_video", "sora2_text_to_video_pro", "kling25_turbo_pro_text_to_video"


IMG_SORA, IMG_PRO, IMG_KLING = "sora2_image_to_video", "sora2_image_to_video_pro", "kling25_turbo_pro_image_to_video"


REMIX = "sora2_video_to_video_remix"


XSS = "<img src=x onerror=alert(1)>"


def shown(widget: Any) -> bool:
    return widget.layout.display != "none"


def classes(widget: Any) -> set[str]:
    return set(widget._dom_classes)


def find(root: Any, css: str) -> list[Any]:
    return [n for n in panel_tree(root) if css in getattr(n, "_dom_classes", ())]


def setting(panel: Any, name: str) -> Any:
    """The one visible widget of the setting ``name`` (``"delete_video"``: Sora's "Keep for remix")."""
    (widget,) = [w for w in find(panel, f"sw-setting-{name.replace('_', '-')}") if shown(w)]
    return widget


def run(panel: Any, prompt: str = "a paper boat on a river", models: tuple[str, ...] = (TEXT_SORA,)) -> list[Any]:
    panel.controller.select(models)
    panel.prompt.value = prompt
    panel.generate.click()
    panel.controller.wait(10)
    return [panel.cards[j.id] for j in panel.controller.jobs]


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        done.wait(0.01)
    raise AssertionError("condition not reached")


def wait_until(check: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def emulator_generator(tmp_path: Path, history: History, **kwargs: Any) -> Generator:
    # Slow enough that the first jobs are still running when the later clicks come.
    emulator = Emulator(state_dir=tmp_path / "emu", queue_delay=0.05, progress_time=2.0, seed=3)
    return Generator(client=AsyncFalClient(emulator=emulator), history=history, resume=False, **kwargs)


def _cost(panel: Any) -> list[str]:
    return panel.controller.cost_lines()
