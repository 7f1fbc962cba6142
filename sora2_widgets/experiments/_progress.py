"""A sweep's progress bar: an ipywidgets bar in a notebook, Rich's bar in a terminal, lines otherwise.

The bar counts combinations, including those an earlier run finished (they start it off), so a
resumed sweep shows how much of the whole is done, not of what is left.
"""

from __future__ import annotations

import html
import sys
from typing import IO, Any, Literal, Protocol

from .._errors import ConfigError

__all__ = ["ProgressKind", "SweepProgress", "make_progress"]

ProgressKind = Literal["auto", "notebook", "terminal", "plain", "none"]


class SweepProgress(Protocol):
    def start(self, total: int, done: int) -> None: ...
    def advance(self, label: str, status: str) -> None: ...
    def close(self) -> None: ...


class _Silent:
    def start(self, total: int, done: int) -> None:
        pass

    def advance(self, label: str, status: str) -> None:
        pass

    def close(self) -> None:
        pass


class _Lines:
    """One line per finished job: for logs and pipes, where a redrawn bar would be noise."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._total = 0
        self._done = 0

    def start(self, total: int, done: int) -> None:
        self._total, self._done = total, done
        already = f" ({done} done before)" if done else ""
        print(f"sweep: {total} job(s){already}", file=self._stream, flush=True)

    def advance(self, label: str, status: str) -> None:
        self._done += 1
        print(f"[{self._done}/{self._total}] {label}: {status}", file=self._stream, flush=True)

    def close(self) -> None:
        pass


class _Terminal:
    def __init__(self, stream: IO[str]) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("sweep"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=Console(file=stream),
            transient=False,
        )
        self._task: Any = None

    def start(self, total: int, done: int) -> None:
        self._progress.start()
        self._task = self._progress.add_task("", total=total, completed=done)

    def advance(self, label: str, status: str) -> None:
        # Rich markup in a prompt or label must print as text, not style it.
        from rich.markup import escape

        # The short name only ("combination 3"): the bar keeps its width in an 80-column terminal.
        short = label.split(" (", 1)[0]
        self._progress.update(self._task, advance=1, description=escape(f"{short}: {status}"))

    def close(self) -> None:
        self._progress.stop()


class _Notebook:
    def __init__(self) -> None:
        import ipywidgets as widgets
        from IPython.display import display

        self._bar = widgets.IntProgress(value=0, min=0, max=1, description="sweep")
        self._label = widgets.HTML("")
        self._box = widgets.HBox([self._bar, self._label])
        self._failed = 0
        display(self._box)  # type: ignore[no-untyped-call]

    def start(self, total: int, done: int) -> None:
        self._bar.max = max(total, 1)
        self._bar.value = done
        self._label.value = html.escape(f"{done}/{total}")

    def advance(self, label: str, status: str) -> None:
        self._bar.value += 1
        if status != "completed":
            self._failed += 1
            self._bar.bar_style = "warning"
        failed = f", {self._failed} not completed" if self._failed else ""
        # Labels hold prompts' model names and parameters: escaped, as the label renders HTML.
        self._label.value = html.escape(f"{self._bar.value}/{self._bar.max}{failed} · {label}: {status}")

    def close(self) -> None:
        if not self._failed:
            self._bar.bar_style = "success"


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ip = shell.get_ipython()
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def make_progress(kind: ProgressKind = "auto", stream: IO[str] | None = None) -> SweepProgress:
    """The bar for where the code runs (``auto``), or the one asked for."""
    out = stream if stream is not None else sys.stderr
    if kind == "auto":
        kind = "notebook" if _in_notebook() else "terminal" if out.isatty() else "plain"
    if kind == "notebook":
        return _Notebook()
    if kind == "terminal":
        return _Terminal(out)
    if kind == "plain":
        return _Lines(out)
    if kind == "none":
        return _Silent()
    raise ConfigError("progress=", f"must be auto, notebook, terminal, plain or none, got {kind!r:.40}")
