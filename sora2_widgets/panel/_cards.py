"""One card per job: status, queue position, elapsed time, progress, latest log line, Cancel, and the video.

How the finished video is shown: a :class:`MediaPlayer` (``_player.py``) over the local file. The
browser asks the kernel for the bytes over the widget's comm and plays them from a ``blob:`` URL,
so the widget state (and a notebook saved with it) holds only the file's name, whatever the clip's
size. It works alike in JupyterLab, Notebook 7 and Voila, and for the in-process emulator, whose
URLs exist only inside the kernel. Without a local file, a URL a browser can reach (fal's CDN, a
loopback emulator; see ``browser_video_url``) plays as an ``ipywidgets.Video`` with
``format="url"``: only the URL is state. Nothing is ever embedded as base64.

A card can be collapsed (its body hidden, the header kept) and, once its job ended, dismissed:
the view then closes every widget of the card, so no model outlives it in the kernel or in a
saved notebook. The video is as wide as the output allows, up to ``VIDEO_WIDTH``, and never
taller than ``VIDEO_MAX_HEIGHT``: a card no longer takes three screens.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w

from .._pricing import format_usd
from ._jobs import JobState, JobStatus
from ._media import browser_video_url
from ._player import MediaPlayer
from ._widgets import close_tree

__all__ = ["CARD_CSS", "VIDEO_MAX_HEIGHT", "VIDEO_WIDTH", "JobCard", "human_size"]

#: The player's widest size: wide enough to judge a 720p clip, narrow enough for two cards a screen.
VIDEO_WIDTH = "480px"
#: A portrait clip at full width would be taller than the screen; this keeps its card in view.
VIDEO_MAX_HEIGHT = "360px"

#: The card's own rules (the panel's stylesheet is ``_style.py``): small header buttons on the right,
#: a player no wider than the output, a collapsed card reduced to its header.
CARD_CSS = """
<style>
.sw-panel .sw-card-header .sw-card-collapse, .sw-panel .sw-card-header .sw-card-dismiss { width: auto; }
.sw-panel .sw-card-header .sw-card-collapse { margin-left: auto; }
.sw-panel .sw-video { max-width: 100%; }
.sw-panel .sw-video video { display: block; max-width: 100%; height: auto; background: #000; }
.sw-panel .sw-clear-finished { align-self: flex-end; }
</style>
"""


def human_size(size: int | None) -> str:
    if size is None:
        return "size unknown"
    step = 1024.0
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < step or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= step
    return f"{size} B"


def _elapsed(seconds: float) -> str:
    secs = int(seconds)
    return f"{secs // 60}:{secs % 60:02d}"


class JobCard(w.VBox):  # type: ignore[misc]
    """The view of one :class:`JobState`; redraws on each of its notifications (from any thread)."""

    def __init__(
        self,
        job: JobState,
        *,
        on_cancel: Callable[[JobState], Any],
        on_remix: Callable[[JobState], Any] | None = None,
        on_dismiss: Callable[[JobCard], Any] | None = None,
    ) -> None:
        self.job = job
        self._on_remix = on_remix
        self._closed = False
        self.collapsed: bool = False
        self.title = w.HTML()
        self.title.add_class("sw-card-name")
        # The status is a pill beside the name; its text is the plain status ("Done", "In queue · #2").
        self.status = w.HTML()
        self.status.add_class("sw-card-status")
        self.progress = w.FloatProgress(value=0.0, min=0.0, max=1.0, layout=w.Layout(width="auto"))
        self.progress.add_class("sw-progress")
        self.info = w.HTML()
        self.info.add_class("sw-muted")
        self.log_line = w.HTML()
        self.log_line.add_class("sw-log")
        self.cancel = w.Button(description="Cancel", icon="stop", tooltip="Cancel this job on the service")
        self.cancel.add_class("sw-cancel")
        self.cancel.on_click(lambda _b: on_cancel(self.job))
        self.collapse = w.Button(
            description="Hide", icon="chevron-up", tooltip="Hide this card's details and video (the header stays)"
        )
        self.collapse.add_class("sw-card-collapse")
        self.collapse.on_click(lambda _b: self.set_collapsed(not self.collapsed))
        self.dismiss = w.Button(
            description="Clear", icon="times", tooltip="Remove this card (the file and history stay)"
        )
        self.dismiss.add_class("sw-card-dismiss")
        if on_dismiss is not None:
            self.dismiss.on_click(lambda _b: on_dismiss(self))
        self.error = w.HTML()
        self.error.add_class("sw-card-error")
        self.result_box = w.VBox()
        self._shown_result = False
        header = w.HBox([self.title, self.status, self.cancel, self.collapse, self.dismiss])
        header.add_class("sw-card-header")
        # The progress bar gets its own line (beside the name it looked detached) and goes when done.
        self.body = w.VBox([self.progress, self.info, self.log_line, self.error, self.result_box])
        self.body.add_class("sw-card-body")
        super().__init__([header, self.body])
        self.add_class("sw-card")
        self.add_class(f"sw-card-{job.id}")
        job.observe(self._refresh)
        self._refresh(job)

    def set_collapsed(self, collapsed: bool) -> None:
        """Hide (or show again) everything but the header; a playing video is hidden, not closed."""
        self.collapsed = collapsed
        self.body.layout.display = "none" if collapsed else ""
        self.collapse.description = "Show" if collapsed else "Hide"
        self.collapse.icon = "chevron-down" if collapsed else "chevron-up"
        if collapsed:
            self.add_class("sw-card-collapsed")
        else:
            self.remove_class("sw-card-collapsed")

    def close(self) -> None:
        """Close the card and every widget in it; the job's later notifications are ignored."""
        self._closed = True
        close_tree(self)

    def _refresh(self, job: JobState) -> None:
        if self._closed:
            return  # the job outlives its dismissed card
        self.title.value = html.escape(job.spec.name)
        pill = job.status
        if job.status == JobStatus.QUEUED and job.queue_position is not None:
            pill += f" · #{job.queue_position + 1}"  # fal counts from 0 (= next in line)
        self.status.value = html.escape(pill)
        for state in ("done", "failed", "cancelled"):
            self.status.remove_class(f"sw-pill-{state}")
        if job.done:
            self.status.add_class(f"sw-pill-{job.status.lower()}")
        self.progress.value = job.progress
        self.progress.layout.display = "none" if job.done else ""
        self.progress.bar_style = {
            JobStatus.DONE: "success",
            JobStatus.FAILED: "danger",
            JobStatus.CANCELLED: "",
        }.get(job.status, "info")
        parts = [f"elapsed {_elapsed(job.elapsed)}"]
        if job.request_id:
            parts.append(f"request {job.request_id}")
        self.info.value = html.escape(" · ".join(parts))
        self.log_line.value = html.escape(job.last_log)
        self.log_line.layout.display = "" if job.last_log and not job.done else "none"
        self.cancel.disabled = job.done or job.status == JobStatus.CANCELLING
        self.cancel.layout.display = "none" if job.done else ""
        # A running job's card stays: its Cancel is the only way to stop the job from the panel.
        self.dismiss.layout.display = "" if job.done else "none"
        if job.status == JobStatus.FAILED or job.status == JobStatus.CANCELLED:
            title = html.escape(job.error_title or "Error")
            self.error.value = f"<b>{title}</b>: {html.escape(job.error_message or '')}"
            self.error.layout.display = ""
        else:
            self.error.value = ""
            self.error.layout.display = "none"
        for state in ("done", "failed", "cancelled"):
            self.remove_class(f"sw-card-{state}")
        if job.status == JobStatus.DONE:
            self.add_class("sw-card-done")
            if not self._shown_result:
                self._shown_result = True
                self.result_box.children = self._result_children(job)
        elif job.status == JobStatus.FAILED:
            self.add_class("sw-card-failed")
        elif job.status == JobStatus.CANCELLED:
            self.add_class("sw-card-cancelled")

    @staticmethod
    def _player(job: JobState) -> w.Widget:
        path: Path | None = job.local_path
        if path is not None and path.is_file():
            # Streamed from the kernel on demand: the file's name is the only widget state.
            video: w.Widget = MediaPlayer(
                path, "video/mp4", kind="video", width=VIDEO_WIDTH, max_height=VIDEO_MAX_HEIGHT
            )
        else:
            src = browser_video_url(job.url)
            if src is None:
                why = "The local file is gone and the service's URL is not reachable from the browser"
                return w.HTML(html.escape(f"{why}; see the path below."))
            # The browser fetches the file: the URL is the only widget state (no base64 in the notebook).
            video = w.Video(value=src.encode("utf-8"), format="url", autoplay=False, loop=False, controls=True)
            video.layout.width = VIDEO_WIDTH
            video.layout.max_width = "100%"
            video.layout.max_height = VIDEO_MAX_HEIGHT
        video.add_class("sw-video")
        return video

    def _result_children(self, job: JobState) -> list[w.Widget]:
        facts = [
            f"cost {format_usd(job.cost)}" if job.cost is not None else "cost unknown",
            human_size(job.size),
        ]
        if job.video_id:
            facts.append(f"video_id {job.video_id}")
        facts.append("kept on the service for remix" if job.kept else "not kept on the service (cannot be remixed)")
        lines = [html.escape(" · ".join(facts))]
        if job.local_path is not None:
            # The whole path stays copyable; it may wrap anywhere inside the <code> (CSS), nowhere else.
            full = html.escape(str(job.local_path), quote=True)
            lines.append(f'saved to <code class="sw-path" title="{full}">{full}</code>')
        children: list[w.Widget] = [self._player(job), w.HTML("<br>".join(lines))]
        children[1].add_class("sw-result-facts")
        if job.kept and self._on_remix is not None:
            remix = w.Button(description="Remix this", icon="random", tooltip="Open the Remix tab with this video")
            remix.add_class("sw-remix-this")
            on_remix = self._on_remix
            remix.on_click(lambda _b: on_remix(job))
            children.append(remix)
        return children
