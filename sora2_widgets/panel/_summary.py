"""What the panel is when no widget can be drawn: one line of text, and a small static HTML table.

The line is the panel's ``repr`` (``text/plain``); the table goes into its ``text/html``, which
front ends without widgets show (GitHub, nbviewer, a reopened notebook whose widget state was
not saved). Every value is escaped: prompts and errors are user and service text.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from .._pricing import format_usd
from ._jobs import JobState, JobStatus

__all__ = ["RESTORED_CSS", "SUMMARY_CLASS", "summary_html", "summary_line"]

#: A panel drawn from a saved notebook's widget state has no kernel behind it; ipywidgets marks each
#: such widget with a broken-link icon, dozens of them here. The players already say "run the
#: notebook", so inside the panel the icons go.
RESTORED_CSS = (
    "<style>.sw-panel.jupyter-widgets-disconnected::before,"
    " .sw-panel .jupyter-widgets-disconnected::before { display: none; }"
    # The summary output under a panel is for front ends that draw no widget; where the panel is
    # drawn (this style comes with it), the summary would only repeat the cards.
    " .jp-OutputArea-child:has(.sw-saved-summary), .output_area:has(.sw-saved-summary),"
    " .sw-saved-summary { display: none; }</style>"
)

SUMMARY_CLASS = "sw-saved-summary"
_PROMPT_CHARS = 80
_ROWS = 50


def _counts(jobs: Sequence[JobState]) -> str:
    if not jobs:
        return "no jobs yet"
    order = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)
    words = {JobStatus.DONE: "done", JobStatus.FAILED: "failed", JobStatus.CANCELLED: "cancelled"}
    parts = [f"{sum(j.status == s for j in jobs)} {words[s]}" for s in order if any(j.status == s for j in jobs)]
    running = sum(not j.done for j in jobs)
    if running:
        parts.insert(0, f"{running} running")
    return f"{len(jobs)} job{'s' if len(jobs) != 1 else ''} ({', '.join(parts)})"


def summary_line(provider: str, jobs: Sequence[JobState]) -> str:
    """The panel in one readable line: ``sora2-widgets panel · Emulator (offline) · 3 jobs (3 done)``."""
    return f"sora2-widgets panel · {provider} · {_counts(jobs)}"


def _prompt(job: JobState) -> str:
    text = " ".join(str(job.params.get("prompt") or "").split())
    return text if len(text) <= _PROMPT_CHARS else text[: _PROMPT_CHARS - 1] + "…"


def summary_html(provider: str, jobs: Sequence[JobState]) -> str:
    """A static table of this panel's jobs, newest first: model, status, cost, prompt, file."""
    title = f"<b>{html.escape(summary_line(provider, jobs))}</b>"
    if not jobs:
        return f'<div class="{SUMMARY_CLASS}">{title}</div>'
    rows = []
    for job in jobs[:_ROWS]:
        cost = format_usd(job.cost) if job.cost is not None else "—"
        status = job.status if job.status != JobStatus.FAILED else f"{job.status}: {job.error_title or ''}"
        cells = (job.spec.name, status, cost, _prompt(job), job.local_path.name if job.local_path else "")
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    more = f"<div>… and {len(jobs) - _ROWS} more</div>" if len(jobs) > _ROWS else ""
    head = "".join(f"<th>{h}</th>" for h in ("Model", "Status", "Cost", "Prompt", "File"))
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return f'<div class="{SUMMARY_CLASS}">{title}{table}{more}</div>'
