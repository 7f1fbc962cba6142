"""The Image tab's start image: by URL, upload or local path, with a preview."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ._controller import PanelController
from ._media import ImageChoice, image_from_bytes, image_from_path, image_from_url
from ._widgets import EventGuard, cls, esc, show

__all__ = ["ImageSource"]


class ImageSource:
    """The start image's inputs and preview; a chosen image goes to the controller at once."""

    def __init__(self, ctl: PanelController, event: EventGuard) -> None:
        self._ctl = ctl
        self._event = event
        self.image_url = cls(w.Text(description="Image URL", placeholder="https://…"), "sw-image-url")
        self.image_use_url = cls(w.Button(description="Use URL", icon="link"), "sw-image-use-url", "sw-action")
        self.image_use_url.on_click(lambda _b: self._load(lambda: image_from_url(self.image_url.value)))
        self.upload = cls(
            w.FileUpload(accept="image/*", multiple=False, description="Upload"), "sw-upload", "sw-action"
        )
        self.upload.observe(self._on_upload, names="value")
        self.image_path = cls(w.Text(description="Local path", placeholder="~/pictures/start.png"), "sw-image-path")
        self.image_load = cls(w.Button(description="Load file", icon="folder-open"), "sw-image-load", "sw-action")
        self.image_load.on_click(lambda _b: self._load(lambda: image_from_path(self.image_path.value)))
        # A URL's preview is the URL (the browser fetches it); a file's or an upload's is streamed
        # from the kernel (``_player.py``), so its bytes are never widget state in a saved notebook.
        self.image_preview = cls(w.Image(layout=w.Layout(max_width="240px", max_height="160px")), "sw-image-preview")
        self._player: Any = None
        self.image_info = cls(w.HTML(), "sw-image-error")
        self._preview_row = w.HBox([self.image_preview, self.image_info])
        self.box = cls(
            w.VBox(
                [
                    cls(w.HBox([self.image_url, self.image_use_url]), "sw-row"),
                    w.HBox([self.upload]),
                    cls(w.HBox([self.image_path, self.image_load]), "sw-row"),
                    self._preview_row,
                ]
            ),
            "sw-image",
            "sw-box",
        )

    # -- events -> controller ---------------------------------------------------------------
    def _on_upload(self, change: dict[str, Any]) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        data = bytes(item["content"]) if isinstance(item, dict) else bytes(item.content)
        name = str(item["name"] if isinstance(item, dict) else item.name)
        self._load(lambda: image_from_bytes(data, name))
        # The upload's bytes are widget state too; drop them once copied into the controller.
        with self._event.redrawing():
            self.upload.value = ()

    def _load(self, load: Callable[[], ImageChoice]) -> None:
        try:
            choice = load()
        except (ValueError, OSError) as exc:
            self._ctl.set_image(None, str(exc))
            return
        self._ctl.set_image(choice)

    # -- controller -> widgets --------------------------------------------------------------
    def draw(self) -> None:
        ctl = self._ctl
        choice = ctl.image
        by_url = choice is not None and choice.preview_format == "url"
        streamed = choice is not None and bool(choice.preview) and not by_url
        changed = choice is not None and (
            self.image_preview.value != choice.preview or self.image_preview.format != "url"
        )
        if by_url and changed and choice is not None:
            with self.image_preview.hold_sync():  # format and value together: never URL bytes as a PNG
                self.image_preview.format = "url"
                self.image_preview.value = choice.preview
        show(self.image_preview, by_url)
        if streamed and choice is not None:
            self.image_player(choice)
        elif self._player is not None:
            show(self._player, False)
        if ctl.image_error:
            self.image_info.value = f'<span class="sw-card-error">{esc(ctl.image_error)}</span>'
        elif choice is not None:
            self.image_info.value = esc(f"Start image: {choice.label}")
        else:
            self.image_info.value = esc("No start image yet.")

    def image_player(self, choice: ImageChoice) -> Any:
        """The streamed preview of a file's or an upload's bytes (made on first use: anywidget loads then)."""
        mime = f"image/{choice.preview_format}"
        if self._player is None:
            from ._player import MediaPlayer

            self._player = cls(
                MediaPlayer(choice.preview, mime, kind="image", label=choice.label, width="240px", max_height="160px"),
                "sw-image-player",
            )
            self._preview_row.children = (self.image_preview, self._player, self.image_info)
        elif self._player.source != choice.preview:
            self._player.set_source(choice.preview, mime, label=choice.label)
        show(self._player, True)
        return self._player
