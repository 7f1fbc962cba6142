"""Binder's build, replayed: a fresh environment with JupyterLab (what repo2docker starts from),
then ``binder/postBuild`` from the repository root, exactly as mybinder.org runs it.

mybinder.org itself cannot be reached from here; what can go wrong on our side is the build
script and what it leaves installed, and that is what this checks: the package imports and
builds its panel on the emulator, the widgets' JupyterLab extension and Voila are enabled.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

PANEL_CHECK = """
import sora2_widgets as sw
panel = sw.Sora2Panel()
assert panel.controller.provider == "emulator", panel.controller.provider
print("panel ok", sw.__version__, sw.__file__)
"""


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{out[-4000:]}"
    return out


def test_binder_post_build_on_a_fresh_environment(tmp_path: Path) -> None:
    venv = tmp_path / "binder-env"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_dir = venv / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET", "PYTHONPATH")}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        SORA2_WIDGETS_HOME=str(tmp_path / "home"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    python = str(bin_dir / "python")
    # repo2docker's Python image comes with JupyterLab; postBuild adds the rest.
    _run([python, "-m", "pip", "install", "-q", "jupyterlab>=4"], env, tmp_path)
    _run(["bash", str(ROOT / "binder" / "postBuild")], env, ROOT)

    out = _run([python, "-c", PANEL_CHECK], env, tmp_path)
    assert "panel ok" in out and str(ROOT / "sora2_widgets") in out  # the repository's code, installed editable
    labext = _run([str(bin_dir / "jupyter"), "labextension", "list"], env, tmp_path)
    assert "@jupyter-widgets/jupyterlab-manager" in labext and "enabled" in labext, labext
    serverext = _run([str(bin_dir / "jupyter"), "server", "extension", "list"], env, tmp_path)
    assert any("voila" in line and "enabled" in line for line in serverext.splitlines()), serverext
