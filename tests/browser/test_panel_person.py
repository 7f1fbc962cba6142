"""The panel as a person uses it (issue #18), in JupyterLab, Notebook 7 and Voila: a double-click on
Generate makes exactly one job per model (counted on the emulator), a second click on the same running
request asks first, each tab keeps its own prompt, and a screenshot of each tab; in Voila, History
rows' actions on a finished video.

The servers, the browser and the page come from ``conftest.py``; the kernel's emulator gets its
timings through the server's environment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sora2_widgets as sw

from ._panel import overflowing, select_models, tab, wait_for_chart, wait_for_video
from .conftest import BROWSER_MARKS, SHOTS, FrontEnd, Page, Served, expect, front_end, open_panel, voila_server

pytestmark = BROWSER_MARKS

#: The emulator keeps every job queued for ten minutes: time enough to click again while it runs.
SLOW = {"SORA2_WIDGETS_EMULATOR_QUEUE_DELAY": "600", "SORA2_WIDGETS_EMULATOR_PROGRESS_TIME": "600"}
FRONT_ENDS: list[FrontEnd] = ["jupyterlab", "notebook7", "voila"]
TABS = {"Text → video": "text", "Image → video": "image", "Remix": "remix", "History": "history", "Spend": "spend"}


def _emulator_jobs(home: Path) -> list[dict[str, Any]]:
    """The jobs the kernel's emulator was asked to make (one file per submitted request)."""
    folder = home / "emulator" / "jobs"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []


def _ledger(home: Path) -> Any:
    with sw.History(home) as hist:
        return hist.df


def _prompt(pg: Any) -> Any:
    return pg.locator(".sw-prompt textarea")


def _tabs_keep_their_prompts(pg: Any) -> None:
    """Type a prompt on each generation tab; each comes back as typed, none leaks into another."""
    typed = {"Text → video": "A lighthouse in a storm", "Image → video": "The sun rises", "Remix": "Make it night"}
    for title, text in typed.items():
        tab(pg, title)
        expect(_prompt(pg)).to_have_value("")  # a tab opens with its own (empty) prompt
        _prompt(pg).fill(text)
    for title, text in typed.items():
        tab(pg, title)
        expect(_prompt(pg)).to_have_value(text)


@pytest.fixture(params=FRONT_ENDS)
def slow_front_end(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    """One front end over the quickstart, its emulator keeping every job queued."""
    with front_end(request.param, tmp_path, SLOW) as served:
        yield served


# The server before the page: the page (and its closing screenshot) goes first, while the server still answers.
def test_double_click_question_and_tabs(slow_front_end: Served, page: Page, request: pytest.FixtureRequest) -> None:
    pg = page.page
    served, front = slow_front_end, request.node.callspec.id
    home = served.home
    panel = open_panel(pg, served)
    SHOTS.mkdir(parents=True, exist_ok=True)
    _tabs_keep_their_prompts(pg)
    tab(pg, "Text → video")
    expect(_prompt(pg)).to_have_value("A lighthouse in a storm")  # the kernel has redrawn the Text tab
    select_models(pg, "sora2_text_to_video", "sora2_text_to_video_pro")
    expect(pg.locator(".sw-cost")).to_contain_text("$2.40")

    generate = pg.locator("button.sw-generate")
    generate.dblclick()
    # Both jobs reach the (slow) service and stay queued; Generate comes back once they are submitted.
    expect(pg.locator(".sw-panel .sw-card")).to_have_count(2, timeout=60_000)
    for card in pg.locator(".sw-panel .sw-card").all():
        expect(card.locator(".sw-card-status")).to_have_text(re.compile(r"^In queue"), timeout=60_000)
    # Both wait in the one Sora queue behind the emulator's 2 others: each card shows its own place.
    places = sorted(pg.locator(".sw-panel .sw-card .sw-card-status").all_inner_texts())
    assert places == ["In queue · #3", "In queue · #4"], places
    expect(generate).to_be_enabled(timeout=60_000)
    expect(generate).to_have_text("Generate")
    jobs = _emulator_jobs(home)
    assert len(jobs) == 2, jobs  # one per model, not two per model
    assert sorted(job["endpoint"] for job in jobs) == sorted(
        sw.get_model(m).endpoint for m in ("sora2_text_to_video", "sora2_text_to_video_pro")
    )
    assert len(_ledger(home)) == 2

    # Another click on the same running request asks first; Cancel starts nothing.
    generate.click()
    question = pg.locator(".sw-question")
    expect(question).to_be_visible()
    expect(question).to_contain_text("Run the same 2 jobs again? $2.40")
    expect(generate).to_be_disabled()
    panel.screenshot(path=str(SHOTS / f"person_{front}_run_again_question.png"))
    pg.locator("button.sw-dismiss").click()
    expect(question).to_be_hidden()
    expect(pg.locator(".sw-panel .sw-card")).to_have_count(2)
    # Asked again and confirmed: exactly one more job per model.
    generate.click()
    expect(question).to_be_visible()
    pg.locator("button.sw-confirm").click()
    expect(pg.locator(".sw-panel .sw-card")).to_have_count(4, timeout=60_000)
    expect(generate).to_be_enabled(timeout=60_000)
    assert len(_emulator_jobs(home)) == 4
    assert len(_ledger(home)) == 4

    # Every tab, as this front end draws it; the generation tabs still hold their own prompts.
    kept = {"Text → video": "A lighthouse in a storm", "Image → video": "The sun rises", "Remix": "Make it night"}
    for title, slug in TABS.items():
        tab(pg, title)
        if title in kept:
            expect(_prompt(pg)).to_have_value(kept[title])
        if title == "History":
            expect(pg.locator(".sw-history-row")).to_have_count(4, timeout=60_000)
        if title == "Spend":
            # Queued jobs have cost nothing yet: a sentence says so, and no chart of $0 bars is drawn.
            expect(pg.locator(".sw-spend")).to_contain_text("Nothing spent yet", timeout=60_000)
            expect(pg.locator(".sw-spend-chart")).to_be_hidden()
        assert overflowing(pg) == [], title
        panel.screenshot(path=str(SHOTS / f"person_{front}_{slug}_tab.png"))
    assert page.dialogs == []


def test_double_click_tabs_history_and_spend_in_voila(page: Page, tmp_path: Path) -> None:
    pg = page.page
    with voila_server(tmp_path) as served:
        home = served.home
        pg.goto(served.url)
        panel = pg.locator(".sw-panel")
        expect(panel).to_be_visible(timeout=120_000)
        SHOTS.mkdir(parents=True, exist_ok=True)
        _tabs_keep_their_prompts(pg)
        tab(pg, "Text → video")
        expect(_prompt(pg)).to_have_value("A lighthouse in a storm")  # the kernel has redrawn the Text tab
        select_models(pg, "sora2_text_to_video")
        pg.locator("button.sw-generate").dblclick()
        wait_for_video(pg, 4.0)
        expect(pg.locator(".sw-panel .sw-card")).to_have_count(1)
        assert len(_emulator_jobs(home)) == 1  # the double-click made one job
        df = _ledger(home)
        assert list(df["prompt"]) == ["A lighthouse in a storm"]
        panel.screenshot(path=str(SHOTS / "person_voila_text_tab.png"))

        # History: names for people, a simulated cost, and the row's actions.
        tab(pg, "History")
        row = pg.locator(".sw-history-row").first
        expect(row).to_contain_text("Sora 2")
        expect(row).to_contain_text("Completed")
        expect(row).to_contain_text("(simulated)")
        expect(pg.locator(".sw-history-table")).not_to_contain_text("sora2_text_to_video")
        row.locator("button.sw-history-play").click()
        video = row.locator("video").first
        expect(video).to_be_visible(timeout=30_000)
        video.evaluate(
            """v => new Promise((resolve, reject) => {
                if (v.readyState >= 1) return resolve();
                v.addEventListener('loadedmetadata', () => resolve(), {once: true});
                setTimeout(() => reject(new Error('no metadata after 30 s')), 30000);
            })"""
        )
        row.locator("button.sw-history-file").click()
        expect(row.locator(".sw-history-where")).to_contain_text(str(home))
        panel.screenshot(path=str(SHOTS / "person_voila_history_tab.png"))

        # Remix from History: the Remix tab with that video chosen, shown once, and the remix's own prompt.
        row.locator("button.sw-history-remix").click()
        expect(pg.locator(".sw-remix-preview")).to_be_visible()
        expect(pg.locator(".sw-remix-preview")).to_contain_text("A lighthouse in a storm")
        expect(pg.locator(".sw-remix-picker")).to_be_hidden()
        assert pg.get_by_text("A lighthouse in a storm", exact=True).filter(visible=True).count() == 1
        expect(_prompt(pg)).to_have_value("Make it night")
        panel.screenshot(path=str(SHOTS / "person_voila_remix_tab.png"))

        tab(pg, "Image → video")
        panel.screenshot(path=str(SHOTS / "person_voila_image_tab.png"))

        tab(pg, "Spend")
        spend = pg.locator(".sw-spend")
        expect(spend).to_contain_text("simulated on the emulator")
        expect(spend.locator("th", has_text="Possibly charged").first).to_be_visible()
        expect(spend).not_to_contain_text("possibly_charged")
        wait_for_chart(pg)
        panel.screenshot(path=str(SHOTS / "person_voila_spend_tab.png"))
        assert overflowing(pg) == []
        assert page.dialogs == []
