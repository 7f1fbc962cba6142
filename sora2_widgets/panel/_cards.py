"""One card per job: status, queue position, elapsed time, progress, latest log line, Cancel, and the video.

How the finished video is shown (the trade-off, and the choice):

* ``ipywidgets.Video`` with the file's bytes sent over the widget comm works the same
  in JupyterLab, Notebook 7, Voila and VS Code: the front end turns the bytes into a
  ``blob:`` URL, nothing has to be served over HTTP, and it works for the offline
  emulator (whose URLs only exist inside the kernel process). Its cost: the bytes are
  widget state, so a notebook saved *with widget state* carries them base64-encoded.
  JupyterLab/Notebook 7 do not save widget state unless the user turns on "Save
  Widget State Automatically" and VS Code never does; still, we cap it.
* An HTML ``<video src="files/...">`` served by the Jupyter server works only when the
  file sits under the server's root, not in Voila (which serves no arbitrary files)
  nor in VS Code (no Jupyter file server at all).
* An HTML ``<video src="https://...">`` to fal's CDN costs nothing in the notebook but
  the link expires, and the emulator's URLs are not reachable from a browser.

Choice: the local file's bytes go into an ``ipywidgets.Video`` when it is at most
``INLINE_VIDEO_LIMIT`` = 8 MB, i.e. at most ~11 MB of base64 per card in a notebook saved
with widget state. Why 8 MB: a short 720p clip (the common case: Sora 2's only size, a few
MB at typical web bitrates) still plays everywhere, offline emulator and VS Code included,
while long or 1080p Pro clips, the ones that made notebooks balloon, do not go inline.
(The limit used to be 25 MB: ~33 MB per card.)

Above the limit nothing is embedded. The card shows an ``ipywidgets.Video`` with
``format="url"`` (the browser streams the file itself; only the URL is widget state)
when the result URL is one a browser can reach (see ``browser_video_url``): fal's https
CDN URL, or a loopback ``http://127.0.0.1:…`` URL of an emulator served with
``sora2-widgets emulator``. The in-process emulator's URLs (``*.invalid``) exist only
inside the kernel, so for those the card says so; its clips are small and inline anyway.
The local path is always shown beside it, copyable.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w

from .._pricing import format_usd
from ._jobs import JobState, JobStatus
from ._media import INLINE_VIDEO_LIMIT, browser_video_url

__all__ = ["JobCard", "human_size"]


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
        inline_limit: int = INLINE_VIDEO_LIMIT,
    ) -> None:
        self.job = job
        self._on_remix = on_remix
        self._inline_limit = inline_limit
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
        self.error = w.HTML()
        self.error.add_class("sw-card-error")
        self.result_box = w.VBox()
        self._shown_result = False
        header = w.HBox([self.title, self.status, self.cancel])
        header.add_class("sw-card-header")
        # The progress bar gets its own line (beside the name it looked detached) and goes when done.
        super().__init__([header, self.progress, self.info, self.log_line, self.error, self.result_box])
        self.add_class("sw-card")
        self.add_class(f"sw-card-{job.id}")
        job.observe(self._refresh)
        self._refresh(job)

    def _refresh(self, job: JobState) -> None:
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

    def _player(self, job: JobState) -> w.Widget:
        path: Path | None = job.local_path
        if path is not None and path.is_file() and path.stat().st_size <= self._inline_limit:
            video = w.Video(value=path.read_bytes(), format="mp4", autoplay=False, loop=False, controls=True)
            video.layout.max_width = "640px"
            video.add_class("sw-video")
            return video
        src = browser_video_url(job.url)
        if src is not None:
            # The browser fetches the file: the URL is the only widget state (no base64 in the notebook).
            video = w.Video(value=src.encode("utf-8"), format="url", autoplay=False, loop=False, controls=True)
            video.layout.max_width = "640px"
            video.add_class("sw-video")
            return video
        limit = human_size(self._inline_limit)
        why = f"The video is over {limit}, too large to embed, and its URL is not reachable from the browser"
        return w.HTML(html.escape(f"{why}; open the local file below."))

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
