"""Who waits ahead of a new job in the emulator's queue.

fal reports each request's own ``queue_position`` in its app's queue, so three requests sent
together read 0, 1 and 2, not one shared number. The emulator's ``queue_depth`` stands for other
people's jobs, ahead of every new one; this line adds this emulator's own jobs of the same app that
are still waiting. A new job keeps the start times of the jobs ahead of it in its record, so its
position stays a function of its record and the clock (any process sharing the state folder
answers alike), falling by one as each of them starts.
"""

from __future__ import annotations

import threading

__all__ = ["WaitingLine"]


class WaitingLine:
    """This process's waiting jobs per fal app: ``(start time, request id)`` each, in submit order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, list[tuple[float, str]]] = {}

    def join(self, app_id: str, request_id: str, starts_at: float, now: float) -> list[float]:
        """Put a new job in ``app_id``'s line; the start times of the jobs still waiting ahead of it.

        Only jobs that start before this one count: a job that starts later is not ahead of it."""
        with self._lock:
            line = [entry for entry in self._waiting.get(app_id, []) if entry[0] > now]
            ahead = [start for start, _ in line if start <= starts_at]
            line.append((starts_at, request_id))
            self._waiting[app_id] = line
        return ahead

    def leave(self, app_id: str, request_id: str) -> None:
        """A cancelled job leaves the line: jobs submitted after the cancel do not count it."""
        with self._lock:
            line = self._waiting.get(app_id, [])
            self._waiting[app_id] = [entry for entry in line if entry[1] != request_id]
