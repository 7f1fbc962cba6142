"""The sweep's progress bar in each place it can run: a notebook, a terminal, a pipe."""

from __future__ import annotations

import io

import pytest

import sora2_widgets as sw
from sora2_widgets.experiments._progress import make_progress


def test_the_notebook_bar_counts_jobs_done_before_and_escapes_its_label() -> None:
    bar = make_progress("notebook")
    bar.start(4, 1)
    bar.advance("combination 2 (sora2_text_to_video, prompt '<b>x</b>')", "completed")
    widget = bar._bar  # type: ignore[attr-defined]
    assert (widget.value, widget.max) == (2, 4)
    label = bar._label.value  # type: ignore[attr-defined]
    assert "<b>" not in label and "&lt;b&gt;" in label and label.startswith("2/4")
    bar.advance("combination 3", "failed")
    assert widget.bar_style == "warning" and "1 not completed" in bar._label.value  # type: ignore[attr-defined]
    bar.advance("combination 4", "completed")
    bar.close()
    assert widget.value == widget.max and widget.bar_style == "warning"


def test_a_terminal_bar_ends_full_names_the_job_and_prints_markup_as_text() -> None:
    out = io.StringIO()
    bar = make_progress("terminal", out)
    bar.start(2, 1)
    bar.advance("combination 2 (kling, [bold]x[/bold])", "[red]failed[/red]")
    bar.close()
    text = out.getvalue()
    assert "2/2" in text and "combination 2: [red]failed[/red]" in text


def test_off_a_terminal_auto_prints_one_line_per_job() -> None:
    out = io.StringIO()
    bar = make_progress("auto", out)
    bar.start(2, 1)
    bar.advance("combination 2", "failed")
    bar.close()
    assert out.getvalue().splitlines() == ["sweep: 2 job(s) (1 done before)", "[2/2] combination 2: failed"]


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(sw.ConfigError, match=r"^progress= must be auto, notebook"):
        make_progress("fancy")  # type: ignore[arg-type]
