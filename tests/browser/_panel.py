"""Driving the panel in a browser: ticking models, switching tabs, waiting for a video to play.

Shared by the browser suites; the servers, the browser and the page are in ``conftest.py``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

import sora2_widgets as sw

from .conftest import expect


def _ticks(page: Any, wanted: set[str]) -> tuple[Any, list[int]]:
    """This tab's model options, and the indexes of those whose tick differs from ``wanted``."""
    # Only this tab's: the other tabs' checkboxes are kept in the picker, hidden (no leaked models).
    options = page.locator(".sw-models .sw-model-option:visible")
    # ipywidgets shows spaces as no-break spaces in labels
    names = [label.replace("\xa0", " ").split(" · ")[0].strip() for label in options.all_inner_texts()]
    for name in wanted:
        assert names.count(name) == 1, f"{name!r} not offered once in {names}"
    ticked = [options.nth(i).locator("input").is_checked() for i in range(len(names))]
    return options, [i for i, name in enumerate(names) if ticked[i] != (name in wanted)]


def select_models(page: Any, *model_ids: str) -> None:
    """Tick exactly these models' checkboxes, found by their catalog names (labels add price and resolution).

    One click at a time, the list read again after each: a tick can redraw the list (a label's
    price follows the settings the new selection shares), so a box found before it may be gone.
    Done when two reads half a second apart agree, so a redraw still on its way cannot undo it.
    """
    wanted = {sw.get_model(model_id).name for model_id in model_ids}
    settled = 0
    for _ in range(60):
        options, wrong = _ticks(page, wanted)
        if not wrong:
            settled += 1
            if settled == 2:
                return
        else:
            settled = 0
            options.nth(wrong[0]).locator("input[type=checkbox]").click()  # the change event ipywidgets listens to
        page.wait_for_timeout(500)  # the kernel's answer (maybe a redrawn list) before the next look
    raise AssertionError(f"could not tick exactly {sorted(wanted)}")


OVERFLOW = """() => {
  const out = [];
  for (const el of document.querySelectorAll('.sw-panel *')) {
    if (!el.offsetParent || el.closest('.sw-jobs')) continue;  // hidden, or a card (video, log line)
    const r = el.getBoundingClientRect(), p = el.parentElement.getBoundingClientRect();
    if (r.width > 0 && r.right > p.right + 1) out.push(`${el.className} ${Math.round(r.right)}>${Math.round(p.right)}`);
  }
  return out;
}"""


def overflowing(page: Any) -> list[str]:
    """Visible elements of the panel (outside the job cards) whose right edge passes their parent's."""
    found: list[str] = page.evaluate(OVERFLOW)
    return found


def tab(page: Any, title: str) -> None:
    page.locator(".sw-tabs").get_by_role("tab", name=title).click()


def wait_for_video(page: Any, duration: float) -> float:
    """Wait until the card's <video> has loaded its metadata; return its duration in seconds."""
    card = page.locator(".sw-panel .sw-card").first
    expect(card).to_have_class(re.compile(r"\bsw-card-done\b"), timeout=180_000)
    expect(card.locator(".sw-card-status")).to_have_text("Done")
    video = card.locator("video.sw-video, .sw-video video").first
    expect(video).to_be_visible()
    video.evaluate(
        """v => new Promise((resolve, reject) => {
            if (v.readyState >= 1) return resolve();
            v.addEventListener('loadedmetadata', () => resolve(), {once: true});
            v.addEventListener('error', () => reject(new Error('video error ' + (v.error && v.error.code))));
            setTimeout(() => reject(new Error('no metadata after 30 s')), 30000);
        })"""
    )
    got: float = video.evaluate("v => v.duration")
    assert got == pytest.approx(duration, abs=0.25)
    # Seek into the clip: proves it decodes, and screenshots show a frame instead of a loading spinner.
    video.evaluate(
        """v => new Promise((resolve, reject) => {
            v.addEventListener('seeked', () => resolve(), {once: true});
            setTimeout(() => reject(new Error('seek did not finish in 30 s')), 30000);
            v.currentTime = v.duration / 2;
        })"""
    )
    return got


def wait_for_chart(page: Any) -> Any:
    """Wait until the Spend tab's chart image has loaded; return its locator.

    The kernel draws it with matplotlib on the tab's first visit (its first import there): on two
    busy cores that alone can take more than half a minute, so the wait is long."""
    chart = page.locator(".sw-spend-chart img")  # the streamed player's <img>
    expect(chart).to_be_visible(timeout=180_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=chart.element_handle(), timeout=60_000)
    return chart
