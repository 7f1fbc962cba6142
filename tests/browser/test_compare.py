"""``sw.compare`` in a real browser (Voila, dark theme; JupyterLab, light): the grid plays in step
after play and after a seek, and a star clicked in the browser is in ``History().df`` of this
(another) process; in JupyterLab, so are tags typed into a cell. The kernel makes four real
emulator videos of the same length first.

Servers, the browser and the page (offline: anything not on loopback is aborted) are the quickstart
browser test's; with ``CI`` set a missing Playwright or Chromium is an error, never a skip.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sora2_widgets as sw

from .conftest import BROWSER_MARKS, KERNEL_IDLE, SHOTS, Page, expect, free_port, serve, stop

# test_browser's fixtures, used here by name: its Chromium and its offline page with screenshots.

pytestmark = BROWSER_MARKS  # browser + slow, and the CI rule for a missing Chromium

XSS = "A kite <img src=x onerror=alert(1)> over <b>the</b> sea"
PROMPTS = [XSS, "A paper boat on a rainy street"]
MODELS = ["sora2_text_to_video", "sora2_text_to_video_pro"]
SOURCE = f"""import sora2_widgets as sw
jobs = [{{"model_id": m, "prompt": p, "duration": 4}} for p in {PROMPTS!r} for m in {MODELS!r}]
generations = sw.generate_many(jobs)
assert all(g.ok for g in generations), [g.error for g in generations]
sw.compare(generations)"""
NAME = "compare.ipynb"

#: Every video's currentTime, its paused/seeking flags, read in one go (one task: no drift between reads).
TIMES = """() => [...document.querySelectorAll('.sw-cmp-grid .sw-cmp-video')].map(
  v => ({t: v.currentTime, paused: v.paused, seeking: v.seeking, ready: v.readyState, d: v.duration}))"""
#: The widest gap between cells' currentTime, sampled on several animation frames while playing.
SPREAD = """async () => {
  const out = [];
  for (let i = 0; i < 8; i++) {
    await new Promise(r => requestAnimationFrame(r));
    const t = [...document.querySelectorAll('.sw-cmp-grid .sw-cmp-video')].map(v => v.currentTime);
    out.push(Math.max(...t) - Math.min(...t));
  }
  return out;
}"""


def _notebook(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": SOURCE}
    nb = {
        "cells": [cell],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (folder / NAME).write_text(json.dumps(nb))


@pytest.fixture
def voila(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    _notebook(tmp_path)
    port = free_port()
    cmd = [sys.executable, "-m", "voila", NAME, "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"]
    cmd += ["--theme=dark", "--show_tracebacks=True"]
    proc = serve(cmd, f"http://127.0.0.1:{port}/voila/static/voila.js", tmp_path)
    try:
        yield f"http://127.0.0.1:{port}/", tmp_path / "sora2-home"
    finally:
        stop(proc)


def _jupyter(tmp_path: Path, app: str) -> tuple[list[str], Path]:
    """The command for JupyterLab or Notebook 7 (``app``: ``jupyterlab`` or ``notebook``), light theme."""
    root = tmp_path / "notebooks"
    _notebook(root)
    settings = tmp_path / "lab-settings"
    settings.mkdir()
    overrides = {
        "@jupyterlab/apputils-extension:notification": {"fetchNews": "false"},
        "@jupyterlab/notebook-extension:tracker": {"autoStartDefaultKernel": True},
        "@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Light"},
    }
    (settings / "overrides.json").write_text(json.dumps(overrides))
    cmd = [sys.executable, "-m", app, "--no-browser", "--allow-root", "--ip=127.0.0.1"]
    cmd += ["--ServerApp.token=", "--ServerApp.password=", "--LabApp.news_url=None"]
    cmd += [f"--LabApp.app_settings_dir={settings}", "--expose-app-in-browser", f"--ServerApp.root_dir={root}"]
    return cmd, root


@contextlib.contextmanager
def _serving(tmp_path: Path, app: str) -> Iterator[tuple[str, Path]]:
    cmd, _root = _jupyter(tmp_path, app)
    port = free_port()
    proc = serve([*cmd, f"--port={port}"], f"http://127.0.0.1:{port}/api/status", tmp_path)
    try:
        yield f"http://127.0.0.1:{port}", tmp_path / "sora2-home"
    finally:
        stop(proc)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with _serving(tmp_path, "jupyterlab") as served:
        yield served


@pytest.fixture
def nb7(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with _serving(tmp_path, "notebook") as served:
        yield served


def _videos_loaded(pg: Any) -> None:
    grid = pg.locator(".sw-cmp-grid")
    expect(grid).to_be_visible(timeout=180_000)
    expect(pg.locator(".sw-cmp-grid .sw-cmp-cell")).to_have_count(4)
    expect(pg.locator(".sw-cmp-grid .sw-cmp-video")).to_have_count(4, timeout=60_000)
    pg.wait_for_function(f"() => ({TIMES})().every(v => v.ready >= 2 && v.d > 3)", timeout=60_000)


def _in_step(pg: Any, what: str) -> list[float]:
    spreads: list[float] = pg.evaluate(SPREAD)
    assert max(spreads) <= 0.15, f"{what}: cells apart by {spreads} s ({pg.evaluate(TIMES)})"
    return spreads


def _walk(pg: Any, home: Path, shot: str, *, tags: bool = False) -> None:
    """Captions, play, seek, pause, a rating (and with ``tags``, tags); the ledger checked from this process."""
    _videos_loaded(pg)
    # Text stays text: the XSS prompt is a row header, and no element came out of it.
    expect(pg.locator(".sw-cmp-rowhead").first).to_have_text(XSS)
    assert pg.locator(".sw-cmp img, .sw-cmp b").count() == 0
    expect(pg.locator(".sw-cmp-colhead")).to_have_text(["Sora 2", "Sora 2 Pro"])
    expect(pg.locator(".sw-cmp-facts").first).to_contain_text("(simulated)")

    pg.locator(".sw-cmp-play").click()
    pg.wait_for_function(f"() => ({TIMES})().every(v => !v.paused && v.t > 0.8)", timeout=30_000)
    _in_step(pg, "after play")
    pg.locator(".sw-cmp-seek").fill("600")  # 60 % of 4 s: every cell jumps to 2.4 s
    pg.wait_for_function(f"() => ({TIMES})().every(v => !v.seeking && v.t > 2.3 && v.t < 3.8)", timeout=30_000)
    _in_step(pg, "after a seek while playing")
    pg.locator(".sw-cmp-play").click()  # pause
    pg.wait_for_function(f"() => ({TIMES})().every(v => v.paused)", timeout=30_000)
    pg.locator(".sw-cmp-seek").fill("250")
    pg.wait_for_function(f"() => ({TIMES})().every(v => !v.seeking && Math.abs(v.t - 1.0) < 0.15)", timeout=30_000)
    _in_step(pg, "after a seek while paused")
    # Only the cell under the pointer has sound.
    pg.locator(".sw-cmp-grid .sw-cmp-cell").nth(1).hover()
    muted = pg.evaluate("() => [...document.querySelectorAll('.sw-cmp-grid .sw-cmp-video')].map(v => v.muted)")
    assert muted == [True, False, True, True]

    cell = pg.locator(".sw-cmp-grid .sw-cmp-cell").nth(1)
    history_id = int(cell.get_attribute("data-id") or "0")
    cell.locator(".sw-cmp-star").nth(3).click()
    expect(cell.locator(".sw-cmp-saved")).to_have_text("saved")
    expect(cell.locator(".sw-cmp-star[aria-pressed=true]")).to_have_count(4)
    cell.locator(".sw-cmp-notes").fill("steadier <camera>")
    cell.locator(".sw-cmp-notes").blur()  # a textarea's change event: the note is saved
    expect(cell.locator(".sw-cmp-saved")).to_have_text("saved")
    typed = ("winner", "<b>dusk</b>") if tags else ()
    if tags:
        field = cell.locator(".sw-cmp-tags")
        field.fill(" winner, <b>dusk</b>,")
        field.press("Enter")  # Enter saves, as in any one-line field
        expect(cell.locator(".sw-cmp-saved")).to_have_text("saved")
        expect(field).to_have_value("winner, <b>dusk</b>")  # the kernel's tags, shown back as text
        assert pg.locator(".sw-cmp b").count() == 0
    pg.locator(".sw-cmp").screenshot(path=str(SHOTS / f"{shot}.png"))
    with sw.History(home) as history:  # this process, not the kernel's: the row is on disk
        row = history.df.loc[history_id]
    assert (int(row["rating"]), row["notes"], row["tags"]) == (4, "steadier <camera>", typed)

    # A click enlarges a cell (its video, still in step), a second puts it back.
    pg.locator(".sw-cmp-grid .sw-cmp-media").first.click()
    expect(pg.locator(".sw-cmp-focus .sw-cmp-video")).to_be_visible()
    pg.locator(".sw-cmp").screenshot(path=str(SHOTS / f"{shot}_enlarged.png"))
    pg.locator(".sw-cmp-focus .sw-cmp-close").click()
    expect(pg.locator(".sw-cmp-grid .sw-cmp-video")).to_have_count(4)


# The server fixture comes first: it is torn down after the page, whose last screenshot then shows the
# live grid, not a "server connection" dialog.
def test_compare_in_voila(voila: tuple[str, Path], page: Page) -> None:
    url, home = voila
    SHOTS.mkdir(parents=True, exist_ok=True)
    # Voila runs the notebook (four emulator jobs) before the page finishes loading: a busy box needs time.
    page.page.goto(url, wait_until="commit", timeout=300_000)
    _walk(page.page, home, "compare_voila_dark")
    assert page.dialogs == []


def _run_all(page: Page, url: str, home: Path, shot: str, *, tags: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg = page.page
    pg.goto(url)
    pg.wait_for_function(KERNEL_IDLE, timeout=120_000)
    pg.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")  # no await: never hangs
    _walk(pg, home, shot, tags=tags)
    assert page.dialogs == []


def test_compare_in_jupyterlab(lab: tuple[str, Path], page: Page) -> None:
    url, home = lab
    _run_all(page, f"{url}/lab/tree/{NAME}?reset", home, "compare_lab_light", tags=True)


def test_compare_in_notebook7(nb7: tuple[str, Path], page: Page) -> None:
    url, home = nb7
    _run_all(page, f"{url}/notebooks/{NAME}", home, "compare_nb7_light")
