"""The Image tab's images: the start frame, and a picker for each further image input the ticked
models take (an end frame: Kling 3.0's and Seedance's ``end_image_url``, Kling 2.5's
``tail_image_url``), each by URL, upload or local path, with a preview.

Which further pickers show comes from the catalog (``ui.image_fields`` beyond the first), not
from model names. They are optional: an empty one sends nothing, and a chosen one goes only to
the models whose entry lists it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ._controller import PanelController
from ._media import ImageChoice, image_from_bytes, image_from_path, image_from_url
from ._widgets import EventGuard, cls, esc, show

__all__ = ["ImagePicker", "ImageSource"]

#: Sets the controller's image: the choice, or ``None`` and why it could not be read.
SetImage = Callable[[ImageChoice | None, str | None], None]


def image_label(name: str) -> str:
    """``end_image_url`` → "End image": what a picker of that input is called."""
    return name.removesuffix("_url").replace("_", " ").capitalize()


class ImagePicker:
    """One image input's URL, upload and path inputs and its preview; a chosen image goes to ``store`` at once.

    ``prefix`` names the widgets' classes: the start frame keeps the classes it always had
    (``sw-image-url``, ``sw-upload``…); a further picker's start with its field's name
    (``sw-end-image-url``, ``sw-end-image-upload``…).
    """

    def __init__(self, event: EventGuard, store: SetImage, *, prefix: str = "sw-image", optional: bool = False) -> None:
        self._event = event
        self._store = store
        start = prefix == "sw-image"
        self.title = cls(w.HTML(), "sw-image-title")
        self.image_url = cls(w.Text(description="Image URL", placeholder="https://…"), f"{prefix}-url")
        self.image_use_url = cls(w.Button(description="Use URL", icon="link"), f"{prefix}-use-url", "sw-action")
        self.image_use_url.on_click(lambda _b: self._load(lambda: image_from_url(self.image_url.value)))
        self.upload = cls(
            w.FileUpload(accept="image/*", multiple=False, description="Upload"),
            "sw-upload" if start else f"{prefix}-upload",
            "sw-action",
        )
        self.upload.observe(self._on_upload, names="value")
        example = "~/pictures/start.png" if start else "~/pictures/last-frame.png"
        self.image_path = cls(w.Text(description="Local path", placeholder=example), f"{prefix}-path")
        self.image_load = cls(w.Button(description="Load file", icon="folder-open"), f"{prefix}-load", "sw-action")
        self.image_load.on_click(lambda _b: self._load(lambda: image_from_path(self.image_path.value)))
        # An optional image can be taken back: then nothing is sent for it.
        self.clear = cls(w.Button(description="Remove", icon="times"), f"{prefix}-clear", "sw-action")
        self.clear.on_click(lambda _b: store(None, None))
        show(self.clear, False)
        # A URL's preview is the URL (the browser fetches it); a file's or an upload's is streamed
        # from the kernel (``_player.py``), so its bytes are never widget state in a saved notebook.
        self.image_preview = cls(w.Image(layout=w.Layout(max_width="240px", max_height="160px")), f"{prefix}-preview")
        self._player: Any = None
        self.image_info = cls(w.HTML(), f"{prefix}-error")
        self._preview_row = w.HBox([self.image_preview, self.image_info])
        self._optional = optional
        self._prefix = prefix
        self.box = cls(
            w.VBox(
                [
                    self.title,
                    cls(w.HBox([self.image_url, self.image_use_url]), "sw-row"),
                    w.HBox([self.upload, self.clear]),
                    cls(w.HBox([self.image_path, self.image_load]), "sw-row"),
                    self._preview_row,
                ]
            ),
            "sw-image" if start else prefix,
            "sw-box",
        )
        show(self.title, optional)

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
            self._store(None, str(exc))
            return
        self._store(choice, None)

    # -- controller -> widgets --------------------------------------------------------------
    def draw(self, choice: ImageChoice | None, error: str | None, what: str) -> None:
        """Show ``choice`` (or ``error``); ``what`` names the image in the line beside it ("Start image")."""
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
        show(self.clear, self._optional and choice is not None)
        if error:
            self.image_info.value = f'<span class="sw-card-error">{esc(error)}</span>'
        elif choice is not None:
            self.image_info.value = esc(f"{what}: {choice.label}")
        else:
            none = f"{what}: none, nothing is sent." if self._optional else f"No {what.lower()} yet."
            self.image_info.value = esc(none)

    def image_player(self, choice: ImageChoice) -> Any:
        """The streamed preview of a file's or an upload's bytes (made on first use: anywidget loads then)."""
        mime = f"image/{choice.preview_format}"
        if self._player is None:
            from ._player import MediaPlayer

            self._player = cls(
                MediaPlayer(choice.preview, mime, kind="image", label=choice.label, width="240px", max_height="160px"),
                f"{self._prefix}-player",
            )
            self._preview_row.children = (self.image_preview, self._player, self.image_info)
        elif self._player.source != choice.preview:
            self._player.set_source(choice.preview, mime, label=choice.label)
        show(self._player, True)
        return self._player


class ImageSource:
    """The start image's picker, and one optional picker per further image input of the ticked models."""

    def __init__(self, ctl: PanelController, event: EventGuard) -> None:
        self._ctl = ctl
        self._event = event
        self.start = ImagePicker(event, ctl.set_image)
        # The start picker's widgets under the names the panel has always exposed (``panel.image_url``…).
        for name in ("image_url", "image_use_url", "upload", "image_path", "image_load", "image_preview", "image_info"):
            setattr(self, name, getattr(self.start, name))
        self.extras: dict[str, ImagePicker] = {}
        # Each further picker's box, held here so the panel's close() reaches those off screen too.
        self.extra_boxes: dict[str, w.VBox] = {}
        self.extras_box = w.VBox()
        self.box = w.VBox([self.start.box, self.extras_box])

    def picker(self, name: str) -> ImagePicker:
        """The picker of a further image input (made on first use, then re-used as ticks change)."""
        picker = self.extras.get(name)
        if picker is None:

            def store(choice: ImageChoice | None, error: str | None) -> None:
                self._event(self._ctl.set_extra_image, name, choice, error)

            css = "sw-" + image_label(name).lower().replace(" ", "-")
            picker = self.extras[name] = ImagePicker(self._event, store, prefix=css, optional=True)
            self.extra_boxes[name] = picker.box
        return picker

    def image_player(self, choice: ImageChoice) -> Any:
        return self.start.image_player(choice)

    # -- controller -> widgets --------------------------------------------------------------
    def draw(self) -> None:
        ctl = self._ctl
        self.start.draw(ctl.image, ctl.image_error, "Start image")
        boxes = []
        for name, takers in ctl.extra_image_fields.items():
            picker = self.picker(name)
            label = image_label(name)
            who = ", ".join(s.name for s in takers)
            picker.title.value = (
                f'<span class="sw-group-title">{esc(label)} (optional)</span> '
                f'<span class="sw-muted">{esc("sent to " + who)}</span>'
            )
            picker.draw(ctl.extra_images.get(name), ctl.extra_image_errors.get(name), label)
            boxes.append(picker.box)
        if tuple(self.extras_box.children) != tuple(boxes):
            self.extras_box.children = tuple(boxes)
