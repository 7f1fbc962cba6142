"""``MediaPlayer``: a video or image whose bytes stay in the kernel until a browser asks for them.

Why not ``ipywidgets.Video`` / ``Image``: their ``value`` is widget state, so a notebook saved
with widget state carries every clip and thumbnail base64-encoded (issue 18: 550 KB of video in a
three-clip notebook; tens of MB with real clips). Why not the Jupyter server's ``files/`` route:
the data directory is rarely under the server's root, and Voila serves no arbitrary files.

Here the widget state is a label, a size and a revision number. The front end (``_player.js``,
an anywidget ES module: no build step, rendered alike by JupyterLab, Notebook 7 and Voila) sends
a ``fetch`` message over the widget's comm; the kernel answers with the bytes as binary buffers,
in chunks, and the browser plays them from a ``blob:`` URL. A notebook reopened without a kernel
shows the label and says to run the notebook, instead of an error.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import anywidget
import traitlets

__all__ = ["CHUNK", "MediaPlayer"]

log = logging.getLogger("sora2_widgets.panel")

#: Bytes per answer message: a long clip goes as several messages, none large enough to stall a websocket.
CHUNK = 4 * 1024 * 1024
_ESM = Path(__file__).with_name("_player.js")


def _compact(source: str) -> str:
    """The module without comment lines and indentation: every player carries its code in a saved
    notebook's widget state, so each byte counts once per video and thumbnail."""
    lines = (line.strip() for line in source.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//"))


class MediaPlayer(anywidget.AnyWidget):
    """A video (``kind="video"``) or image from a local file or from bytes held in the kernel.

    ``set_source`` replaces what is shown (the Spend chart is redrawn that way); the browser is
    told by a new ``revision`` and asks again. Nothing but the label, sizes and the revision is
    widget state.
    """

    _esm = _compact(_ESM.read_text(encoding="utf-8"))
    kind = traitlets.Unicode("video").tag(sync=True)
    #: What a reader sees while the bytes load, or in a notebook reopened without a kernel.
    label = traitlets.Unicode("").tag(sync=True)
    width = traitlets.Unicode("").tag(sync=True)
    max_height = traitlets.Unicode("").tag(sync=True)
    revision = traitlets.Int(0).tag(sync=True)

    def __init__(
        self,
        source: Path | bytes,
        mime: str,
        *,
        kind: str = "video",
        label: str = "",
        width: str = "",
        max_height: str = "",
    ) -> None:
        if kind not in ("video", "image"):
            raise ValueError(f"kind must be 'video' or 'image', not {kind!r}")
        self._source: Path | bytes = source
        self.mime = mime
        super().__init__(kind=kind, label=label or _default_label(source), width=width, max_height=max_height)
        self.on_msg(self._on_message)

    @property
    def source(self) -> Path | bytes:
        return self._source

    def set_source(self, source: Path | bytes, mime: str, *, label: str = "") -> None:
        """Show other bytes; views ask for them again (only the revision and label are sent)."""
        self._source = source
        self.mime = mime
        with self.hold_sync():
            # Bytes have no name of their own: they keep the label they had ("spend chart").
            self.label = label or (source.name if isinstance(source, Path) else self.label)
            self.revision += 1

    def read(self) -> bytes | None:
        """The bytes to show, or ``None`` when the file is gone."""
        if isinstance(self._source, bytes):
            return self._source
        try:
            return self._source.read_bytes()
        except OSError:
            return None

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "fetch":
            return
        request = content.get("request")
        if not isinstance(request, str) or len(request) > 64:
            return
        data = self.read()
        if data is None:
            self.send({"type": "missing", "request": request, "text": f"{self.label}: the file is no longer there."})
            return
        total = max(1, -(-len(data) // CHUNK))
        view = memoryview(data)
        for index in range(total):
            part = view[index * CHUNK : (index + 1) * CHUNK]
            head = {"type": "chunk", "request": request, "index": index, "total": total, "mime": self.mime}
            self.send(head, buffers=[part])


def _default_label(source: Path | bytes) -> str:
    return source.name if isinstance(source, Path) else ""
