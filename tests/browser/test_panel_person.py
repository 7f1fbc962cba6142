"""The panel as a person uses it (issue #18), in a real browser: a double-click on Generate makes
exactly one job per model (counted on the emulator), a second click on the same running request
asks first, each tab keeps its own prompt, History rows have actions, and a screenshot of each tab.

The servers, the browser and the page come from ``test_browser.py``; JupyterLab gets its own small
fixture here because these tests give the kernel's emulator its timings through the environment.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sora2_widgets as sw

from . import test_browser as shared
from .test_browser import (
    KERNEL_IDLE,
    NOTEBOOK,
    SHOTS,
    Page,
    _free_port,
    _overflowing,
    _select_models,
    _serve,
    _stop,
    _tab,
    _voila,
    _wait_for_video,
    expect,
)

# test_browser's fixtures, used here by name: its Chromium and its offline page with screenshots.
browser = shared.browser
page = shared.page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: The emulator keeps every job queued for ten minutes: time enough to click again while it runs.
SLOW = {"SORA2_WIDGETS_EMULATOR_QUEUE_DELAY": "600", "SORA2_WIDGETS_EMULATOR_PROGRESS_TIME": "600"}


@contextlib.contextmanager
def _lab(tmp: Path, extra_env: dict[str, str] | None = None) -> Iterator[tuple[str, Path]]:
    """JupyterLab (light theme) over a copy of the quickstart: (its URL, the kernel's SORA2_WIDGETS_HOME)."""
    root = tmp / "notebooks"
    root.mkdir(parents=True)
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    settings = tmp / "lab-settings"
    settings.mkdir()
    overrides = {
        "@jupyterlab/apputils-extension:notification": {"fetchNews": "false"},
        "@jupyterlab/notebook-extension:tracker": {"autoStartDefaultKernel": True},
        "@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Light"},
    }
    (settings / "overrides.json").write_text(json.dumps(overrides))
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.token=",
        "--ServerApp.password=",
        "--LabApp.news_url=None",
        f"--LabApp.app_settings_dir={settings}",
        "--expose-app-in-browser",
        f"--ServerApp.root_dir={root}",
    ]
    proc = _serve(cmd, f"http://127.0.0.1:{port}/api/status", tmp, extra_env)
    try:
        yield f"http://127.0.0.1:{port}", tmp / "sora2-home"
    finally:
        _stop(proc)


def _open_in_lab(pg: Any, url: str) -> Any:
    pg.goto(f"{url}/lab/tree/{NOTEBOOK.name}?reset")
    pg.wait_for_function(KERNEL_IDLE, timeout=120_000)
    pg.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    panel = pg.locator(".jp-OutputArea .sw-panel")
    expect(panel).to_be_visible(timeout=120_000)
    return panel


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
        _tab(pg, title)
        expect(_prompt(pg)).to_have_value("")  # a tab opens with its own (empty) prompt
        _prompt(pg).fill(text)
    for title, text in typed.items():
        _tab(pg, title)
        expect(_prompt(pg)).to_have_value(text)


def test_double_click_question_and_tabs_in_jupyterlab(page: Page, tmp_path: Path) -> None:
    pg = page.page
    with _lab(tmp_path, SLOW) as (url, home):
        panel = _open_in_lab(pg, url)
        SHOTS.mkdir(parents=True, exist_ok=True)
        _tabs_keep_their_prompts(pg)
        _tab(pg, "Text → video")
        expect(_prompt(pg)).to_have_value("A lighthouse in a storm")  # the kernel has redrawn the Text tab
        _select_models(pg, "sora2_text_to_video", "sora2_text_to_video_pro")
        expect(pg.locator(".sw-cost")).to_contain_text("$2.40")
        panel.screenshot(path=str(SHOTS / "person_lab_text_tab.png"))

        generate = pg.locator("button.sw-generate")
        generate.dblclick()
        # Both jobs reach the (slow) service and stay queued; Generate comes back once they are submitted.
        expect(pg.locator(".sw-panel .sw-card")).to_have_count(2, timeout=60_000)
        for card in pg.locator(".sw-panel .sw-card").all():
            expect(card.locator(".sw-card-status")).to_have_text(re.compile(r"^In queue"), timeout=60_000)
        expect(generate).to_be_enabled(timeout=60_000)
        expect(generate).to_have_text("Generate")
        jobs = _emulator_jobs(home)
        assert len(jobs) == 2, jobs  # one per model, not two per model
        assert len(_ledger(home)) == 2

        # Another click on the same running request asks first; Cancel starts nothing.
        generate.click()
        question = pg.locator(".sw-question")
        expect(question).to_be_visible()
        expect(question).to_contain_text("Run the same 2 jobs again? $2.40")
        expect(generate).to_be_disabled()
        panel.screenshot(path=str(SHOTS / "person_lab_run_again_question.png"))
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

        # The Remix tab never opened with the text prompt, and still has its own.
        _tab(pg, "Remix")
        expect(_prompt(pg)).to_have_value("Make it night")
        _tab(pg, "Image → video")
        panel.screenshot(path=str(SHOTS / "person_lab_image_tab.png"))
        assert _overflowing(pg) == []
        assert page.dialogs == []


def test_double_click_tabs_history_and_spend_in_voila(page: Page, tmp_path: Path) -> None:
    pg = page.page
    with _voila(tmp_path) as (url, home):
        pg.goto(url)
        panel = pg.locator(".sw-panel")
        expect(panel).to_be_visible(timeout=120_000)
        SHOTS.mkdir(parents=True, exist_ok=True)
        _tabs_keep_their_prompts(pg)
        _tab(pg, "Text → video")
        expect(_prompt(pg)).to_have_value("A lighthouse in a storm")  # the kernel has redrawn the Text tab
        _select_models(pg, "sora2_text_to_video")
        pg.locator("button.sw-generate").dblclick()
        _wait_for_video(pg, 4.0)
        expect(pg.locator(".sw-panel .sw-card")).to_have_count(1)
        assert len(_emulator_jobs(home)) == 1  # the double-click made one job
        df = _ledger(home)
        assert list(df["prompt"]) == ["A lighthouse in a storm"]
        panel.screenshot(path=str(SHOTS / "person_voila_text_tab.png"))

        # History: names for people, a simulated cost, and the row's actions.
        _tab(pg, "History")
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

        _tab(pg, "Image → video")
        panel.screenshot(path=str(SHOTS / "person_voila_image_tab.png"))

        _tab(pg, "Spend")
        spend = pg.locator(".sw-spend")
        expect(spend).to_contain_text("simulated on the emulator")
        expect(spend.locator("th", has_text="Possibly charged").first).to_be_visible()
        expect(spend).not_to_contain_text("possibly_charged")
        chart = pg.locator(".sw-spend-chart img")  # the streamed player's <img>
        expect(chart).to_be_visible(timeout=30_000)
        pg.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=chart.element_handle(), timeout=30_000)
        panel.screenshot(path=str(SHOTS / "person_voila_spend_tab.png"))
        assert _overflowing(pg) == []
        assert page.dialogs == []
