"""The example notebooks run top to bottom on the emulator, headless (nbclient), with real outcomes.

Each notebook is copied to a temp dir and executed by a real ipykernel with ``SORA2_WIDGETS_HOME``
in a temp dir and no fal key anywhere in the environment, exactly as on Binder. The assertions are
what a reader would check: no error output, the panel's widget state saved, videos in the history,
the CSV written.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

import sora2_widgets as sw

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp data dir, no key: the kernel (a child process) inherits this environment."""
    home = tmp_path / "home"
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(home))
    for name in ("FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET", "SORA2_WIDGETS_BUDGET"):
        monkeypatch.delenv(name, raising=False)
    # The kernel must import this checkout's package, not an installed copy.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return home


def execute(name: str, workdir: Path, extra: list[str] | None = None) -> nbformat.NotebookNode:
    """Run notebook ``name`` (plus ``extra`` code cells) in ``workdir``; return it with outputs."""
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(NOTEBOOKS / name, workdir / name)
    nb = nbformat.read(workdir / name, as_version=4)
    for source in extra or []:
        nb.cells.append(nbformat.v4.new_code_cell(source))
    client = NotebookClient(
        nb,
        timeout=240,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    return nb


def code_outputs(nb: nbformat.NotebookNode) -> list[dict[str, Any]]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def assert_no_errors(nb: nbformat.NotebookNode) -> None:
    for out in code_outputs(nb):
        assert out["output_type"] != "error", f"{out.get('ename')}: {out.get('evalue')}"
        if out["output_type"] == "stream" and out["name"] == "stderr":
            assert "Traceback" not in out["text"], out["text"]


def text_of(nb: nbformat.NotebookNode, mime: str = "text/plain") -> str:
    parts = []
    for out in code_outputs(nb):
        if out["output_type"] == "stream":
            parts.append(out["text"])
        elif mime in out.get("data", {}):
            parts.append(out["data"][mime])
    return "\n".join(parts)


def widget_state(nb: nbformat.NotebookNode) -> dict[str, Any]:
    state: dict[str, Any] = nb.metadata["widgets"][WIDGET_STATE]["state"]
    return state


def with_class(state: dict[str, Any], css: str) -> list[str]:
    return [mid for mid, w in state.items() if css in w["state"].get("_dom_classes", ())]


def history_rows(home: Path) -> Any:
    with sw.History(home) as hist:
        return hist.df


def test_notebooks_are_stored_without_outputs_and_match_their_source() -> None:
    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert names == ["01_quickstart.ipynb", "02_prompt_experiments.ipynb", "03_spend_report.ipynb"]
    for name in names:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(nb)
        assert nb.nbformat == 4
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{name} has saved outputs"
        assert "widgets" not in nb.metadata, f"{name} has saved widget state"
    check = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "make_notebooks.py"), "--check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


# Drives the panel from Python as a user would click: tick a model, type, keep for remix, Generate,
# then waits for the job and reads the history.
DRIVE_PANEL = r"""
import time
import ipywidgets as widgets

def _walk(w):
    yield w
    for child in getattr(w, "children", ()) or ():
        yield from _walk(child)

def find(css):
    roots = [panel] if isinstance(panel, widgets.Widget) else [getattr(panel, "widget", panel)]
    hits = [w for r in roots for w in _walk(r) if css in getattr(w, "_dom_classes", ())]
    assert hits, css
    return hits[0]

find("sw-models").value = ("sora2_text_to_video",)
find("sw-prompt").value = "A paper boat <b>on</b> a puddle"
find("sw-setting-duration").value = 4
find("sw-setting-delete-video").value = True  # "Keep for remix"
print("COST", find("sw-cost").value)
find("sw-generate").click()

panel.controller.wait(timeout=180)  # the jobs run on the panel's background loop
df = sw.History().df
print("STATUS", df["status"].iloc[-1])
"""


def test_quickstart_shows_the_panel_and_generates_on_the_emulator(home: Path, tmp_path: Path) -> None:
    nb = execute("01_quickstart.ipynb", tmp_path / "run", [DRIVE_PANEL])
    assert_no_errors(nb)
    state = widget_state(nb)
    panels = with_class(state, "sw-panel")
    assert panels, "the panel's widget state was not saved"
    views = [o["data"][WIDGET_VIEW]["model_id"] for o in code_outputs(nb) if WIDGET_VIEW in o.get("data", {})]
    assert views and views[0] in state
    out = text_of(nb)
    assert "$0.40" in re.search(r"COST (.*)", out).group(1)  # 4 s of sora2_text_to_video at $0.10/s
    assert "STATUS completed" in out
    assert with_class(state, "sw-card"), "no job card in the saved panel"
    videos = with_class(state, "sw-video")
    # The streaming player (panel/_player.py): the saved state names the file, it holds no video bytes.
    assert videos and state[videos[0]]["model_name"] == "AnyModel", "the card shows no player"
    assert state[videos[0]]["state"]["label"].endswith(".mp4") and "value" not in state[videos[0]]["state"]

    df = history_rows(home)
    assert list(df["model_id"]) == ["sora2_text_to_video"]
    row = df.iloc[0]
    assert row["status"] == "completed" and row["provider"] == "emulator"
    assert row["kept_for_remix"] and row["video_id"]
    assert row["duration"] == pytest.approx(4, abs=0.1)
    assert Path(row["local_path"]).is_file() and Path(row["local_path"]).stat().st_size > 1000


def test_prompt_experiments_sweep_grid_and_costs(home: Path, tmp_path: Path) -> None:
    nb = execute("02_prompt_experiments.ipynb", tmp_path / "run")
    assert_no_errors(nb)
    df = history_rows(home)
    # 2 prompts × 2 models × 2 durations, every one completed and saved locally
    assert len(df) == 8
    assert set(df["status"]) == {"completed"}
    assert sorted(df["duration"].round().astype(int)) == [4] * 4 + [8] * 4
    assert all(Path(p).is_file() for p in df["local_path"])

    # Two sw.compare grids (issue 15): all 8 videos, then the Pro model's 4; captions, not HTML or bytes.
    state = widget_state(nb)
    grids = [m["state"] for m in state.values() if "row_labels" in m["state"] and "slots" in m["state"]]
    assert sorted(len(g["cells"]) for g in grids) == [4, 8]
    assert {tuple(g["col_labels"]) for g in grids} == {("Sora 2", "Sora 2 Pro"), ("4", "8")}
    assert "A paper boat drifting down a rain-soaked street at dusk, cinematic" in grids[0]["row_labels"]
    saved = json.dumps(state)
    assert "<video" not in saved and "base64" not in saved and ".mp4" not in saved  # videos stream, never saved
    # 4 s at $0.10/s and $0.30/s (Pro at 720p), 8 s twice that, for each of 2 prompts: 2 × $4.80
    assert int(df["cost_micros"].sum()) == 9_600_000
    plain = text_of(nb)
    assert "8 videos, at most $9.60 on fal.ai" in plain
    assert "8 of 8 videos ready" in plain
    assert "Spent on this sweep: $9.60" in plain


def test_spend_report_charts_and_exports_csv(home: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "run"
    nb = execute("03_spend_report.ipynb", workdir)
    assert_no_errors(nb)
    df = history_rows(home)
    assert len(df) == 3 and set(df["status"]) == {"completed"}

    charts = [o for o in code_outputs(nb) if "image/png" in o.get("data", {})]
    assert len(charts) == 1, "the spend chart was not drawn"
    # fal's side (issue 17): the emulator's billing events read and shown beside the estimate.
    assert "3 request(s) checked on emulator: 3 billed" in text_of(nb)
    assert (df["billing_status"] == "billed").all() and (df["billed_nanos"] == df["cost_micros"] * 1000).all()
    assert "provisional" in text_of(nb) and "billed_count" in text_of(nb)

    history_csv = workdir / "exports" / "history.csv"
    with history_csv.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    assert {r["model_id"] for r in rows} == {"sora2_text_to_video", "sora2_text_to_video_pro"}
    assert sum(int(r["cost_micros"]) for r in rows) == 400_000 + 800_000 + 1_200_000
    by_model = (workdir / "exports" / "spend_by_model.csv").read_text()
    assert "sora2_text_to_video_pro" in by_model and "1.2" in by_model
    assert (workdir / "exports" / "spend_by_day.csv").is_file()


def test_binder_starts_lab_on_the_quickstart_with_the_package_installed() -> None:
    binder = ROOT / "binder"
    post_build = binder / "postBuild"
    assert os.access(post_build, os.X_OK), "repo2docker runs postBuild only if it is executable"
    script = post_build.read_text()
    assert script.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in script
    assert "pip install" in script and " -e . " in script  # from the repo root, where repo2docker runs it
    assert (binder / "runtime.txt").read_text().strip() == "python-3.11"
    assert "FAL_KEY=" not in script  # never a key in a public image
    readme = (binder / "README.md").read_text()
    target = re.search(r"urlpath=lab/tree/(\S+?\.ipynb)", readme)
    assert target and (ROOT / target.group(1)).is_file()
