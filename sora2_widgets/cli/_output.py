"""What the CLI shows people: tables and a live progress line in a terminal, plain text otherwise.

Rich draws them when the stream is a terminal (boxes, colour, a spinner with a running clock);
piped or redirected output gets the same table without boxes or colour, and progress as one line
per change of stage, so that a log file holds no control codes. Rich is imported by the commands
that print, never by ``--help``. Machines use ``--json`` instead of parsing either.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import IO, TYPE_CHECKING, Literal

from ._exits import one_line

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

#: Stages of a job that has started (a first update with any other stage is an early refusal).
_UNDER_WAY = frozenset({"submitted", "in_queue", "in_progress", "downloading"})
#: Shown where a value is missing (never "None" or "NaN").
BLANK = "—"


def console(stream: IO[str] | None = None) -> Console:
    """A Rich console on ``stream``: colour and boxes on a terminal, plain and unwrapped otherwise."""
    from rich.console import Console

    out = sys.stdout if stream is None else stream
    tty = out.isatty()
    # Off a terminal nothing is cut to 80 columns: a script or a pager gets whole lines.
    return Console(file=out, highlight=False, emoji=False, markup=False, soft_wrap=not tty, width=None if tty else 500)


@dataclass(frozen=True)
class Column:
    header: str
    justify: Literal["left", "right"] = "left"
    #: The one column that gives way (cut with "…") when the terminal is narrow.
    flexible: bool = False
    #: Left out, right to left, when the terminal is too narrow for every column to stay whole.
    optional: bool = False


#: The least a flexible column (a prompt) keeps before optional columns make way for it.
_FLEXIBLE_MIN = 16


def print_table(columns: Sequence[Column], rows: Sequence[Sequence[str]], *, stream: IO[str] | None = None) -> None:
    from rich import box
    from rich.cells import cell_len
    from rich.table import Table

    con = console(stream)
    cells = [[one_line(cell) for cell in row] for row in rows]
    # Whole width of each column, +3 for its padding and the rule between columns.
    widths = [max([cell_len(col.header), *(cell_len(row[i]) for row in cells)]) + 3 for i, col in enumerate(columns)]
    shown = list(range(len(columns)))

    def fixed() -> int:
        return sum(widths[i] for i in shown if not columns[i].flexible)

    if con.is_terminal:
        for i in reversed(range(len(columns))):
            if fixed() + _FLEXIBLE_MIN <= con.width:
                break
            if columns[i].optional:
                shown.remove(i)
    table = Table(box=box.SIMPLE_HEAD if con.is_terminal else None, show_edge=False, pad_edge=False)
    for i in shown:
        col = columns[i]
        table.add_column(
            col.header,
            justify=col.justify,
            no_wrap=True,
            overflow="ellipsis",
            # What the terminal has left once the other columns are whole (they never shrink).
            max_width=max(12, con.width - fixed()) if col.flexible and con.is_terminal else None,
        )
    for row in cells:
        table.add_row(*(row[i] for i in shown))
    if con.is_terminal:
        con.print(table)
        return
    with con.capture() as captured:
        con.print(table)
    # Plain text for files and pipes: no padding after the last column.
    con.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def cut(text: str, limit: int) -> str:
    """``text`` on one line, at most ``limit`` terminal cells, cut at a word with "…" when it is longer.

    Cells, not characters: a CJK character or an emoji takes two, so a column of prompts lines up.
    """
    from rich.cells import cell_len

    flat = one_line(" ".join(text.split()))  # line breaks and tabs are spaces; anything else unprintable is shown
    if cell_len(flat) <= limit:
        return flat
    head = flat[:limit]
    while cell_len(head) > limit - 1:
        head = head[:-1]
    space = head.rfind(" ")
    # Back to the last whole word when the cut falls inside one (and that word is not most of the line).
    if flat[len(head)] != " " and space >= len(head) // 2:
        head = head[:space]
    return head.rstrip(" ,;:.-") + "…"


def local_time(when: dt.datetime) -> str:
    """Minutes in the local time zone, without seconds' fractions or an offset (the header names the zone)."""
    return when.astimezone().strftime("%Y-%m-%d %H:%M")


def local_zone() -> str:
    return dt.datetime.now().astimezone().strftime("%Z") or "local"


class JobProgress:
    """One job's progress: a live line with a running clock on a terminal, one line per stage otherwise.

    The clock starts when the job does and never restarts (not at the download, not at a new
    stage); on a terminal it ticks by itself, so a slow job shows it is alive without printing.
    """

    def __init__(self, *, quiet: bool, stream: IO[str] | None = None) -> None:
        self._stream = sys.stderr if stream is None else stream
        self._quiet = quiet
        self._tty = self._stream.isatty()
        self._start: float | None = None
        self._last = ""
        self._live: RichProgress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> JobProgress:
        return self

    def _start_live(self, first: str) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._live = Progress(
            SpinnerColumn(),
            TimeElapsedColumn(),
            # Service text (logs) is shown as written: never read as Rich markup.
            TextColumn("{task.description}", markup=False),
            console=console(self._stream),
            transient=False,
            refresh_per_second=4,
        )
        self._live.start()
        self._task = self._live.add_task(first, total=None)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._live is not None:
            self._live.stop()

    def update(self, stage: str, *, position: int | None = None, log: str | None = None) -> None:
        if self._quiet:
            return
        if self._start is None:
            if stage not in _UNDER_WAY:
                return  # refused before it started (a bad --source): the error line says it all
            self._start = time.monotonic()
            if self._tty:
                self._start_live(stage.replace("_", " "))
        label = stage.replace("_", " ")
        if stage == "in_queue" and position is not None:
            label += f" (position {position})"
        if self._live is not None and self._task is not None:
            detail = f" · {cut(log, 70)}" if log else ""
            self._live.update(self._task, description=label + detail, refresh=True)  # drawn now, not at the next tick
        elif stage != self._last:  # plain: one line per stage, not one per log, poll or queue move
            elapsed = time.monotonic() - self._start
            print(f"[{elapsed:5.1f}s] {label}", file=self._stream, flush=True)
        self._last = stage

    def finish(self, stage: str) -> None:
        """The final stage: the live line stops on it (its clock frozen), or one last plain line."""
        if self._start is not None:
            self.update(stage)
        if self._live is not None:
            self._live.stop()
            self._live = None
