"""A notebook saved with widget state stays small, holds no video, reopens cleanly, and leaks no models.

JupyterLab and Notebook 7 (the same widget manager), each with its "Save widget state automatically"
setting on (``saveState``), the panel on the built-in emulator (fast timings), driven through
Debian's Chromium. What is asserted is what a user would see: the file's size on disk, no base64
video in it, a video that plays, no "Error displaying widget" after reopening, and as many widget
models in the saved state after ten generations and a Clear as before the first one. Voila cannot
save a notebook: there the models its front end holds are counted the same way. Voila runs the same
player in ``test_browser.py``.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from ._panel import wait_for_video
from .conftest import (
    BROWSER_MARKS,
    SHOTS,
    Page,
    Served,
    expect,
    jupyter_server,
    open_notebook,
    open_panel,
    pw,
    voila_server,
)

pytestmark = BROWSER_MARKS

NOTEBOOK = "state.ipynb"
FAST = {"SORA2_WIDGETS_EMULATOR_QUEUE_DELAY": "0.2", "SORA2_WIDGETS_EMULATOR_PROGRESS_TIME": "0.5"}
# The first bytes of an MP4 ("....ftyp") in base64, at each of the three alignments a file can start at.
MP4_BASE64 = ("AAAAGGZ0eXA", "ZnR5cA", "Z0eXA", "dHlw")


def _notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import sora2_widgets as sw\n\npanel = sw.Sora2Panel()\npanel")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture(params=["jupyterlab", "notebook7"])
def saving_state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    """JupyterLab or Notebook 7 serving a one-cell panel notebook, saving widget state with it."""
    _notebook(tmp_path / NOTEBOOK)
    # "Save widget state automatically": the setting that made notebooks bloat (issue 18).
    save_state = {"@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": True}}
    with jupyter_server(request.param, tmp_path, FAST, (tmp_path / NOTEBOOK,), save_state) as served:
        yield served


def _save(pg: Any, path: Path) -> dict[str, Any]:
    """Save from Lab (as Ctrl-S does) and return the notebook as written to disk."""
    pg.evaluate(
        """() => { window.__swSaved = false;
        window.jupyterapp.commands.execute('docmanager:save').then(() => { window.__swSaved = true; }); }"""
    )  # no await in evaluate: a promise that never settles would hang it; wait_for_function has a timeout
    pg.wait_for_function("() => window.__swSaved === true", timeout=120_000)
    saved: dict[str, Any] = json.loads(path.read_text())
    return saved


def _widget_state(nb: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return state


def _generate(pg: Any, count: int) -> None:
    """Click Generate and wait until that job's card is done (cards are newest first)."""
    cards = pg.locator(".sw-panel .sw-card")
    before = cards.count()
    pg.locator("button.sw-generate").click()
    expect(cards).to_have_count(before + 1, timeout=60_000)
    expect(cards.first).to_have_class(re.compile(r"\bsw-card-done\b"), timeout=180_000)
    expect(pg.locator(".sw-panel .sw-card.sw-card-done")).to_have_count(count, timeout=60_000)


def _shut_down_kernels(pg: Any) -> None:
    """As closing Lab does: the reopened notebook gets a new kernel, which never saw these widgets."""
    pg.evaluate(
        """() => { window.__swDown = false;
        window.jupyterapp.serviceManager.sessions.shutdownAll().then(() => { window.__swDown = true; }); }"""
    )
    pg.wait_for_function("() => window.__swDown === true", timeout=60_000)


def test_saved_notebook_is_small_plays_reopens_and_leaks_nothing(
    saving_state: Served,  # before the page: its closing screenshot is taken while the server answers
    page: Page,
    request: pytest.FixtureRequest,
) -> None:
    app = request.node.callspec.id
    path = saving_state.root / NOTEBOOK
    pg = page.page
    open_notebook(pg, saving_state, NOTEBOOK)
    pg.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    panel = pg.locator(".jp-OutputArea .sw-panel")
    expect(panel).to_be_visible(timeout=120_000)
    # Counted once the panel is done drawing: on a busy machine a first save can come before the
    # last of its start-up widgets (two saves two seconds apart must agree).
    baseline = len(_widget_state(_save(pg, path)))
    for _ in range(15):
        pg.wait_for_timeout(2_000)
        again = len(_widget_state(_save(pg, path)))
        if again == baseline:
            break
        baseline = again

    # -- three generations: the video plays, the saved notebook stays small ------------------------
    pg.locator(".sw-prompt textarea").fill("A paper boat on a rainy street, close-up")
    for done in range(1, 4):
        _generate(pg, done)
    wait_for_video(pg, 4.0)
    video = panel.locator(".sw-card").first.locator(".sw-video video")
    assert video.evaluate("v => v.readyState") >= 2 and video.evaluate("v => v.src").startswith("blob:")
    # Sized to the output: no wider than the panel, no taller than a few hundred pixels.
    box, outer = video.bounding_box(), panel.bounding_box()
    assert box is not None and outer is not None
    assert box["width"] <= outer["width"] and box["height"] <= 400, box
    # Collapsing the older cards keeps the output short.
    for card in panel.locator(".sw-card").all()[1:]:
        card.locator("button.sw-card-collapse").click()
        expect(card.locator(".sw-card-body")).to_be_hidden()
    SHOTS.mkdir(parents=True, exist_ok=True)
    panel.screenshot(path=str(SHOTS / f"{app}_state_three_generations.png"))
    # The static summary under the panel is written for front ends without widgets: here it is hidden.
    expect(pg.locator(".sw-saved-summary")).to_have_count(1)
    expect(pg.locator(".sw-saved-summary")).to_be_hidden()

    saved = _save(pg, path)
    text = path.read_text()
    size = len(text.encode())
    print(f"{app}: saved after 3 generations: {size} bytes, {len(_widget_state(saved))} widget models")
    assert size < 100_000, f"the saved notebook is {size} bytes"
    assert "data:video" not in text and not [m for m in MP4_BASE64 if m in text], "base64 video in the notebook"
    assert "ftyp" not in text
    state = _widget_state(saved)
    (view,) = [
        o["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
        for o in saved["cells"][0]["outputs"]
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert view in state  # the panel can be drawn from the saved state
    (plain,) = ["".join(o["data"]["text/plain"]) for o in saved["cells"][0]["outputs"] if "text/plain" in o["data"]]
    assert plain.startswith("sora2-widgets panel") and "\n" not in plain, plain
    # The static summary a front end without the widget state can show is the output under the panel …
    (summary,) = ["".join(o["data"]["text/html"]) for o in saved["cells"][0]["outputs"] if "text/html" in o["data"]]
    assert 'class="sw-saved-summary"' in summary and "sora2-widgets panel" in summary, summary[:300]
    # … kept current as jobs end (its own output, rewritten by display id), not frozen at "no jobs yet".
    assert "3 jobs (3 done)" in summary and summary.count("<tr>") == 4, summary[:300]
    shutil.copy(path, saving_state.root / "reopen.ipynb")

    # -- seven more and a Clear: the saved state has as many models as before the first job --------
    for done in range(4, 11):
        _generate(pg, done)
    pg.locator("button.sw-clear-finished").click()
    expect(panel.locator(".sw-card")).to_have_count(0)
    # The cards leave the page with the kernel's first message; their models go with the close
    # messages after it, which a busy front end may not have handled by the first save. A model that
    # outlived its card is still there a minute later.
    after = len(_widget_state(_save(pg, path)))
    for _ in range(30):
        if after == baseline:
            break
        pg.wait_for_timeout(2_000)
        after = len(_widget_state(_save(pg, path)))
    assert after == baseline, f"{after - baseline} widget models outlived their cards"

    # -- reopened with a new kernel: drawn from the saved state, no widget error ---------------------
    _shut_down_kernels(pg)
    open_notebook(pg, saving_state, "reopen.ipynb")
    reopened = pg.locator(".jp-OutputArea .sw-panel")
    expect(reopened).to_be_visible(timeout=60_000)
    expect(reopened.locator(".sw-card")).to_have_count(3)
    expect(reopened.locator(".sw-card").first.locator(".sw-media-note")).to_contain_text(
        "run the notebook", timeout=60_000
    )
    assert pg.get_by_text("Error displaying widget").count() == 0
    assert pg.get_by_text("model not found").count() == 0
    reopened.screenshot(path=str(SHOTS / f"{app}_state_reopened.png"))


#: The widget models Voila's front end holds (Voila cannot save a notebook; its manager is the count).
VOILA_MODELS = "() => Object.keys(window.jupyterapp.widgetManager._models).length"


def test_voila_leaks_no_models_after_ten_generations_and_a_clear(page: Page, tmp_path: Path) -> None:
    _notebook(tmp_path / NOTEBOOK)
    pg = page.page
    with voila_server(tmp_path / "voila", FAST, tmp_path / NOTEBOOK) as served:
        panel = open_panel(pg, served, NOTEBOOK)
        # The kernel opens every model's comm before it sends the panel's display, so a drawn panel
        # means the front end already holds them all.
        baseline: int = pg.evaluate(VOILA_MODELS)
        assert baseline > 20  # the panel's widgets, not an empty manager
        pg.locator(".sw-prompt textarea").fill("A paper boat on a rainy street, close-up")
        for done in range(1, 11):
            _generate(pg, done)
        during: int = pg.evaluate(VOILA_MODELS)
        assert during > baseline  # ten cards' widgets: the count does see models come and go
        pg.locator("button.sw-clear-finished").click()
        expect(panel.locator(".sw-card")).to_have_count(0)
        # Closing reaches the front end one comm message at a time: wait for it, then say what is left.
        with contextlib.suppress(pw.TimeoutError):
            pg.wait_for_function(f"() => ({VOILA_MODELS})() === {baseline}", timeout=60_000)
        after: int = pg.evaluate(VOILA_MODELS)
        assert after == baseline, f"{after - baseline} widget models outlived their cards"
        SHOTS.mkdir(parents=True, exist_ok=True)
        panel.screenshot(path=str(SHOTS / "voila_state_after_clear.png"))
