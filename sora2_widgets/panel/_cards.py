"""One card per job: status, queue position, elapsed time, progress, latest log line, Cancel, and the video.

How the finished video is shown: a :class:`MediaPlayer` (``_player.py``) over the local file. The
browser asks the kernel for the bytes over the widget's comm and plays them from a ``blob:`` URL,
so the widget state (and a notebook saved with it) holds only the file's name, whatever the clip's
size. It works alike in JupyterLab, Notebook 7 and Voila, and for the in-process emulator, whose
URLs exist only inside the kernel. Without a local file, a URL a browser can reach (fal's CDN, a
loopback emulator; see ``browser_video_url``) plays as an ``ipywidgets.Video`` with
``format="url"``: only the URL is state. Nothing is ever embedded as base64.

Where a finished video is watched from (:func:`video_where`, shared with the History tab's rows):
its file when this kernel can read it (its own, or a shared ``SORA2_WIDGETS_MEDIA`` folder); else
fal's URL while fal still keeps the file (at least ``FAL_URL_DAYS`` days); else a sentence naming the
machine that saved it (a team ledger holds other machines' rows), never a player that cannot play.

A card can be collapsed (its body hidden, the header kept) and, once its job ended, dismissed:
the view then closes every widget of the card, so no model outlives it in the kernel or in a
saved notebook. The video is as wide as the output allows, up to ``VIDEO_WIDTH``, and never
taller than ``VIDEO_MAX_HEIGHT``: a card no longer takes three screens.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as w
from ipywidgets.widgets.widget_string import HTMLStyle

from .._config import machine_name
from .._pricing import format_usd
from ._jobs import JobState, JobStatus
from ._media import browser_video_url
from ._widgets import close_tree, local_file

__all__ = [
    "CARD_CSS",
    "FAL_URL_DAYS",
    "VIDEO_MAX_HEIGHT",
    "VIDEO_WIDTH",
    "JobCard",
    "VideoWhere",
    "human_size",
    "video_where",
]

#: The player's widest size: wide enough to judge a 720p clip, narrow enough for two cards a screen.
VIDEO_WIDTH = "480px"
#: A portrait clip at full width would be taller than the screen; this keeps its card in view.
VIDEO_MAX_HEIGHT = "360px"

#: fal keeps a generated file for at least this many days and may delete it any time after (fal's
#: FAQ, "retention policy"): past that, its URL is not offered as a player.
FAL_URL_DAYS = 7


@dataclass(frozen=True)
class VideoWhere:
    """Where this kernel can show a finished video from: ``path`` (a file it can read), else ``url``
    (one the browser can play and fal still keeps). ``note`` (plain text) says where the file is when
    it is not here: on another machine, or gone."""

    path: Path | None = None
    url: str | None = None
    note: str = ""

    @property
    def playable(self) -> bool:
        return self.path is not None or self.url is not None


def video_where(
    local_path: str | None,
    video_url: str | None,
    *,
    machine: str | None = None,
    made_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> VideoWhere:
    """Where to show a video saved as ``local_path`` by ``machine`` (None: this one), whose job was
    made at ``made_at`` (timezone-aware; None or NaT: unknown, so the URL is not judged expired)."""
    path = local_file(local_path)
    if path is not None:
        return VideoWhere(path=path)
    url = browser_video_url(video_url)
    expired = False
    if url is not None and made_at is not None:
        # A NaT made_at compares False: an unknown age does not hide a link.
        expired = bool((now or dt.datetime.now(dt.timezone.utc)) - made_at > dt.timedelta(days=FAL_URL_DAYS))
    elsewhere = bool(machine) and machine != machine_name()
    name = f" as {Path(local_path).name}" if local_path else ""
    if url is not None and not expired:
        # Its file path would be resolved under this machine's folder: name the machine instead.
        return VideoWhere(url=url, note=f"Saved on machine {machine}{name}." if elsewhere else "")
    if expired:
        gone = "fal's copy has expired"
    elif video_url is None:  # e.g. fal stopped serving the file and the row dropped the dead link
        gone = "there is no link to fal's copy"
    else:
        gone = "fal's link cannot be played here"
    if elsewhere:
        return VideoWhere(note=f"The video is on machine {machine} (saved there{name}); {gone}.")
    if local_path:
        return VideoWhere(note=f"The video file is no longer on disk here; {gone}.")
    return VideoWhere(note=f"No file was saved for this generation; {gone}.")


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
    """The view of one :class:`JobState`; redraws on each of its notifications (from any thread).

    Every widget model is one more entry in a notebook saved with widget state, so a card is
    frugal: widgets whose layout never changes share one ``Layout`` (and one style per kind),
    and the parts of a running job (progress bar, log line, Cancel) are closed when it ends.
    """

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
        self._on_dismiss = on_dismiss
        self._closed = False
        self._ended = False
        self.collapsed: bool = False
        # Shared by every widget of this card that is never shown, hidden or resized on its own.
        self._layout = w.Layout()
        self._html_style = HTMLStyle()
        self._button_style = w.ButtonStyle()
        self.title = self._html("sw-card-name")
        # The status is a pill beside the name; its text is the plain status ("Done", "In queue · #2").
        self.status = self._html("sw-card-status")
        self.progress = w.FloatProgress(value=0.0, min=0.0, max=1.0, layout=w.Layout(width="auto"))
        self.progress.add_class("sw-progress")
        self.info = self._html("sw-muted")
        self.log_line = self._html("sw-log")
        self.error = self._html("sw-card-error")
        self.cancel = self._button("Cancel", "stop", "Cancel this job on the service", "sw-cancel")
        self.cancel.on_click(lambda _b: on_cancel(self.job))
        self.collapse = self._button(
            "Hide", "chevron-up", "Hide this card's details and video (the header stays)", "sw-card-collapse"
        )
        self.collapse.on_click(lambda _b: self.set_collapsed(not self.collapsed))
        self.dismiss: w.Button | None = None  # made when the job ends: a running job's card stays
        self._header = w.HBox([self.title, self.status, self.cancel, self.collapse], layout=self._layout)
        self._header.add_class("sw-card-header")
        # The progress bar gets its own line (beside the name it looked detached) and goes when done.
        self.body = w.VBox([self.progress, self.info])
        self.body.add_class("sw-card-body")
        super().__init__([self._header, self.body], layout=self._layout)
        self.add_class("sw-card")
        self.add_class(f"sw-card-{job.id}")
        job.observe(self._refresh)
        self._refresh(job)

    def _html(self, css: str) -> w.HTML:
        widget = w.HTML(layout=self._layout, style=self._html_style)
        widget.add_class(css)
        return widget

    def _button(self, text: str, icon: str, tip: str, css: str) -> w.Button:
        button = w.Button(description=text, icon=icon, tooltip=tip, layout=self._layout, style=self._button_style)
        button.add_class(css)
        return button

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
        for name in ("progress", "log_line", "cancel", "error"):  # off screen by now, so not in the tree above
            widget = getattr(self, name, None)  # (ipywidgets' __del__ may close a card that never finished __init__)
            if widget is not None:
                self._drop(widget)

    def _drop(self, widget: w.Widget) -> None:
        """Close a widget of this card, and its layout and style unless the card's others share them."""
        shared = {id(self._layout), id(self._html_style), id(self._button_style)}
        for part in (widget, getattr(widget, "layout", None), getattr(widget, "style", None)):
            if isinstance(part, w.Widget) and id(part) not in shared:
                w.Widget.close(part)

    def _refresh(self, job: JobState) -> None:
        if self._closed:
            return  # the job outlives its dismissed card
        self.title.value = html.escape(job.spec.name)
        pill = job.status
        if job.status == JobStatus.QUEUED and job.queue_position is not None:
            pill += f" · #{job.queue_position + 1}"  # fal counts from 0 (= next in line)
        self.status.value = html.escape(pill)
        parts = [f"elapsed {_elapsed(job.elapsed)}"]
        if job.request_id:
            parts.append(f"request {job.request_id}")
        self.info.value = html.escape(" · ".join(parts))
        if job.done:
            self._end(job)
            return
        self.progress.value = job.progress
        self.progress.bar_style = "info"
        self.log_line.value = html.escape(job.last_log)
        self.cancel.disabled = job.status == JobStatus.CANCELLING
        running = [self.progress, self.info, *([self.log_line] if job.last_log else [])]
        if list(self.body.children) != running:
            self.body.children = running

    def _end(self, job: JobState) -> None:
        """Once: the final pill, the error or the result, Clear instead of Cancel; close what is over."""
        if self._ended:
            return
        self._ended = True
        self.status.add_class(f"sw-pill-{job.status.lower()}")
        self.add_class(f"sw-card-{job.status.lower()}")
        self.cancel.disabled = True
        self.progress.value = job.progress
        body: list[w.Widget] = [self.info]
        if job.status == JobStatus.FAILED or job.status == JobStatus.CANCELLED:
            title = html.escape(job.error_title or "Error")
            self.error.value = f"<b>{title}</b>: {html.escape(job.error_message or '')}"
            body.append(self.error)
        if job.status == JobStatus.DONE:
            body.extend(self._result_children(job))
        self.dismiss = self._button("Clear", "times", "Remove this card (the file and history stay)", "sw-card-dismiss")
        on_dismiss = self._on_dismiss
        if on_dismiss is not None:
            self.dismiss.on_click(lambda _b: on_dismiss(self))
        self._header.children = [self.title, self.status, self.collapse, self.dismiss]
        self.body.children = body
        for widget in (self.progress, self.log_line, self.cancel):
            self._drop(widget)
        if self.error not in body:
            self._drop(self.error)

    @staticmethod
    def _player(job: JobState) -> w.Widget:
        from ._player import MediaPlayer  # anywidget loads with the first video, not with the panel

        where = video_where(None if job.local_path is None else str(job.local_path), job.url)
        if where.path is not None:
            # Streamed from the kernel on demand: the file's name is the only widget state.
            video: w.Widget = MediaPlayer(
                where.path, "video/mp4", kind="video", width=VIDEO_WIDTH, max_height=VIDEO_MAX_HEIGHT
            )
        else:
            src = where.url
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
            f"cost {format_usd(job.cost)}" if job.cost is not None else "cost not known",
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
        facts = self._html("sw-result-facts")
        facts.value = "<br>".join(lines)
        children: list[w.Widget] = [self._player(job), facts]
        if job.kept and self._on_remix is not None:
            remix = self._button("Remix this", "random", "Open the Remix tab with this video", "sw-remix-this")
            on_remix = self._on_remix
            remix.on_click(lambda _b: on_remix(job))
            children.append(remix)
        return children
