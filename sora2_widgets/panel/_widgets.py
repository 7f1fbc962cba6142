"""Small helpers every part of the panel's view shares: CSS classes, showing and hiding,
escaping, thumbnails, redrawing a menu, and the guard between widget events and redraws."""

from __future__ import annotations

import contextlib
import html
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as w

from ._controller import PanelController

__all__ = [
    "HIDDEN",
    "EventGuard",
    "close_tree",
    "cls",
    "esc",
    "local_file",
    "panel_tree",
    "replace_children",
    "set_options",
    "set_status",
    "show",
    "thumb",
]

HIDDEN = "none"


def cls(widget: Any, *names: str) -> Any:
    """``widget`` with these CSS classes (the stable ``sw-…`` names tests and the stylesheet use)."""
    for name in names:
        widget.add_class(name)
    return widget


def show(widget: Any, visible: bool) -> None:
    widget.layout.display = "" if visible else HIDDEN


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def local_file(value: str | None) -> Path | None:
    """A thumbnail/video reference that is a readable local file, else ``None``."""
    if not value or "://" in value:
        return None
    path = Path(value)
    return path if path.is_file() else None


def thumb(ref: str | None, width: str = "96px") -> w.Widget | None:
    """A local thumbnail file, streamed to the browser on demand (no image bytes in widget state);
    ``None`` when there is none to show."""
    from ._player import MediaPlayer  # anywidget loads with the first thumbnail, not with the panel

    path = local_file(ref)
    if path is None:
        return None
    mime = "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
    image = MediaPlayer(path, mime, kind="image", width=width, label="thumbnail")
    image.layout.width = width
    return image


def set_options(widget: Any, options: Sequence[Any], value: Any) -> None:
    """Redraw a menu: new options and value only when they changed (each set is sent to the browser)."""
    if tuple(widget.options) != tuple(options):
        widget.options = options
    if widget.value != value:
        widget.value = value


def set_status(widget: Any, text: str, *, warn: bool = False) -> None:
    """A status line's text, marked as a warning or not."""
    widget.value = esc(text)
    if warn:
        widget.add_class("sw-warn")
    else:
        widget.remove_class("sw-warn")


def panel_tree(root: Any) -> list[Any]:
    """Every widget under ``root`` (children, recursively), for tests and checks."""
    seen: list[Any] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if any(node is s for s in seen):
            continue
        seen.append(node)
        stack.extend(getattr(node, "children", ()) or ())
    return seen


def widget_tree(root: Any) -> list[Any]:
    """``root`` and every widget model it holds: children, but also each ``layout`` and ``style``,
    which are models of their own (closing a box closes neither its children nor its layout)."""
    seen: dict[int, Any] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        for name in getattr(node, "keys", ()):
            value = getattr(node, name, None)
            for item in value if isinstance(value, (tuple, list)) else (value,):
                if isinstance(item, w.Widget):
                    stack.append(item)
    return list(seen.values())


def close_tree(root: Any) -> None:
    """Close ``root`` and every model under it, so none lives on in the kernel or a saved notebook."""
    for node in widget_tree(root):
        w.Widget.close(node)  # the base close: a subclass's close() may be what called us


def replace_children(box: Any, children: Sequence[Any]) -> None:
    """Set ``box.children`` and close the widgets that left it (a redraw must not leak models)."""
    keep = {id(c) for c in children}
    gone = [c for c in box.children if id(c) not in keep]
    box.children = tuple(children)
    for child in gone:
        close_tree(child)


class EventGuard:
    """Passes user events to the controller, but not the widget changes of the panel's own redraw.

    A redraw sets widget values, which fire the same observers a user's click does; while
    :meth:`redrawing` is active those are dropped. A ``ValueError`` from the controller (a value
    it refuses) becomes a warning in the status line, never a traceback.
    """

    def __init__(self, controller: PanelController) -> None:
        self._controller = controller
        self.syncing = False

    def __call__(self, fn: Callable[..., Any], *args: Any) -> None:
        if self.syncing:
            return  # our own redraw, not the user
        try:
            fn(*args)
        except ValueError as exc:
            self._controller.notify(str(exc), warn=True)

    @contextlib.contextmanager
    def redrawing(self) -> Iterator[None]:
        self.syncing = True
        try:
            yield
        finally:
            self.syncing = False
