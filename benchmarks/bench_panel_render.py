"""The panel's first render in a real browser: from running its cell to the panel on screen.

    python benchmarks/bench_panel_render.py [--repeat 3]

JupyterLab (loopback, no token) and Debian's Chromium through Playwright, as in tests/browser.
Each round restarts the kernel, runs ``import sora2_widgets as sw`` (timed too), then runs the
cell ``sw.Sora2Panel()`` and measures in the page, with ``performance.now()``, from the run
command to the first animation frame in which the panel's element has a size. The kernel is fresh
each round, so this is a first render every time. Reported: each round, and the median.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from _common import ROOT, table

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TARGET_S = 1.0
CELLS = ["import sora2_widgets as sw", "sw.Sora2Panel()"]

KERNEL_IDLE = """() => { const sc = window.jupyterapp?.shell.currentWidget?.sessionContext;
  return !!(sc && sc.isReady && sc.session?.kernel?.status === 'idle'); }"""
# Runs cell ``index`` and records how long until ``selector`` is on screen (or the cell finished, for
# a cell with no panel). Nothing is awaited in evaluate itself: the result is polled with a timeout.
RUN_CELL = """([index, selector]) => {
  window.__swTime = null;
  const app = window.jupyterapp, panel = app.shell.currentWidget, nb = panel.content;
  nb.activeCellIndex = index;
  const t0 = performance.now();
  const done = () => { window.__swTime = (performance.now() - t0) / 1000; };
  if (selector) {
    const look = () => {
      const el = nb.widgets[index].node.querySelector(selector);
      if (el && el.getBoundingClientRect().height > 0) done(); else requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
  }
  app.commands.execute('notebook:run-cell').then(() => {
    if (!selector) {
      const wait = () => panel.sessionContext.session.kernel.status === 'idle' ? done() : setTimeout(wait, 5);
      wait();
    }
  });
}"""
RESTART = """() => { window.__swRestarted = false;
  window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()
    .then(() => { window.__swRestarted = true; }); }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _lab(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    settings = root.parent / "settings"
    settings.mkdir()
    (settings / "overrides.json").write_text(
        json.dumps(
            {
                "@jupyterlab/apputils-extension:notification": {"fetchNews": "false"},
                "@jupyterlab/notebook-extension:tracker": {"autoStartDefaultKernel": True},
            }
        )
    )
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET")}
    env.update(
        SORA2_WIDGETS_HOME=str(root.parent / "home"),
        JUPYTER_CONFIG_DIR=str(root.parent / "cfg"),
        JUPYTER_RUNTIME_DIR=str(root.parent / "rt"),
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
    )
    cmd = [
        *(sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}"),
        *("--ServerApp.token=", "--ServerApp.password=", "--LabApp.news_url=None", "--expose-app-in-browser"),
        *(f"--LabApp.app_settings_dir={settings}", f"--ServerApp.root_dir={root}"),
    ]
    log = (root.parent / "server.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, cwd=root.parent, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status", timeout=2).close()
            return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("JupyterLab did not start; see " + str(root.parent / "server.log")) from None
            time.sleep(0.25)


def _timed(pg: Any, index: int, selector: str | None) -> float:
    pg.evaluate(RUN_CELL, [index, selector])
    pg.wait_for_function("() => window.__swTime !== null", timeout=120_000)
    seconds: float = pg.evaluate("() => window.__swTime")
    return seconds


def run(repeat: int = 3) -> dict[str, Any]:
    """Rounds of (import, first panel render) in seconds; ``skipped`` when there is no browser."""
    try:
        import nbformat
        import playwright.sync_api as pw
    except ImportError as exc:
        return {"skipped": f"{exc.name} is not installed"}
    if not Path(CHROMIUM).exists():
        return {"skipped": f"no browser at {CHROMIUM}"}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "notebooks"
        root.mkdir()
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
        nbformat.write(nb, root / "render.ipynb")
        proc, url = _lab(root)
        rounds = []
        try:
            with pw.sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
                pg = browser.new_page(viewport={"width": 1280, "height": 1400})
                pg.goto(f"{url}/lab/tree/render.ipynb?reset")
                pg.wait_for_function(KERNEL_IDLE, timeout=120_000)
                for _ in range(repeat):
                    pg.evaluate(RESTART)
                    pg.wait_for_function("() => window.__swRestarted === true", timeout=120_000)
                    pg.wait_for_function(KERNEL_IDLE, timeout=120_000)
                    pg.evaluate("() => { window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs'); }")
                    imported = _timed(pg, 0, None)
                    panel = _timed(pg, 1, ".sw-panel")
                    rounds.append({"import_s": imported, "panel_s": panel})
                browser.close()
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    return {
        "rounds": rounds,
        "panel_median_s": statistics.median(r["panel_s"] for r in rounds),
        "import_median_s": statistics.median(r["import_s"] for r in rounds),
    }


def render(out: dict[str, Any]) -> str:
    if "skipped" in out:
        return f"skipped: {out['skipped']}"
    rows = [[i + 1, f"{r['import_s']:.3f}", f"{r['panel_s']:.3f}"] for i, r in enumerate(out["rounds"])]
    rows.append(["median", f"{out['import_median_s']:.3f}", f"{out['panel_median_s']:.3f}"])
    return table(
        ["round (fresh kernel)", "`import sora2_widgets` cell (s)", "`sw.Sora2Panel()` cell → on screen (s)"], rows
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    out = run(args.repeat)
    print(render(out))
    if "skipped" not in out:
        ok = out["panel_median_s"] <= TARGET_S
        print(f"target: first render ≤ {TARGET_S:.0f} s: {'met' if ok else 'NOT met'} ({out['panel_median_s']:.3f} s)")


if __name__ == "__main__":
    main()
