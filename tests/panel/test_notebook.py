"""The panel in a real kernel (nbclient): it renders, and the saved widget state holds no key."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests._secrets import FAL_KEY

ROOT = Path(__file__).resolve().parents[2]
SECRET = FAL_KEY


def test_panel_in_a_kernel_saves_no_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import sora2_widgets as sw\npanel = sw.Sora2Panel()\npanel"),
        # what the front end does when the user types a key and presses Enter
        nbformat.v4.new_code_cell(
            f"panel.key.value = {SECRET!r}\nprint(panel.controller.has_key, repr(panel.key.value))"
        ),
        nbformat.v4.new_code_cell("panel.prompt.value = '<b>bold?</b>'\nprint(panel.counter.value)"),
    ]
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "home"))  # the kernel inherits it
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", store_widget_state=True, resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute()
    assert [o["text"].strip() for o in nb.cells[1].outputs if o.get("name") == "stdout"] == ["True ''"]
    assert [o["text"].strip() for o in nb.cells[2].outputs if o.get("name") == "stdout"] == [
        "4988 characters remaining"
    ]
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    # The panel, then its static summary as an output of its own (for front ends without widgets).
    (shown,) = [o for o in nb.cells[0].outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    view = shown["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
    (summary,) = [o["data"]["text/html"] for o in nb.cells[0].outputs if "text/html" in o.get("data", {})]
    assert 'class="sw-saved-summary"' in summary and "no jobs yet" in summary
    assert view in state and "sw-panel" in state[view]["state"]["_dom_classes"]
    # the key is in this test's own cell source, of course; it must be nowhere the panel writes
    saved = json.dumps(nb.metadata) + json.dumps([c.get("outputs", []) for c in nb.cells])
    assert SECRET not in saved and SECRET.split(":")[1] not in saved
