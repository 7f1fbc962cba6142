"""JupyterLab in Chromium for the browser benchmarks (``bench_panel_render.py``, ``bench_compare.py``).

JupyterLab on loopback (no token) and Debian's Chromium through Playwright, as in tests/browser.
:func:`notebook_page` starts Lab on a notebook of the given cells, with ``SORA2_WIDGETS_HOME`` at
``folder / "home"`` for its kernels and no fal key, and yields the page once the kernel is idle;
:func:`fresh_kernel` restarts the kernel between rounds; :func:`timed` runs one cell and
measures in the page, with ``performance.now()``, until an element is on screen;
:func:`command_line` is the benchmarks' ``--repeat`` command line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from _common import ROOT, free_port

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

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


def missing() -> str | None:
    """Why the browser benchmarks cannot run here (a package or the browser missing), or ``None``."""
    try:
        import nbformat  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed"
    if not Path(CHROMIUM).exists():
        return f"no browser at {CHROMIUM}"
    return None


def _start(root: Path) -> tuple[subprocess.Popen[bytes], str]:
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
    port = free_port()
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


@contextlib.contextmanager
def notebook_page(folder: Path, name: str, cells: Sequence[str]) -> Iterator[Any]:
    """The Playwright page of notebook ``name`` (``cells``) open in Lab, its kernel idle.

    The notebook is written to ``folder / "notebooks"``; Lab's kernels get ``folder / "home"``."""
    import nbformat
    import playwright.sync_api as pw

    root = folder / "notebooks"
    root.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, root / name)
    proc, url = _start(root)
    try:
        with pw.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            pg = browser.new_page(viewport={"width": 1280, "height": 1400})
            pg.goto(f"{url}/lab/tree/{name}?reset")
            pg.wait_for_function(KERNEL_IDLE, timeout=120_000)
            yield pg
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def fresh_kernel(pg: Any) -> None:
    """Restart the notebook's kernel and clear its outputs: each round is a first render."""
    pg.evaluate(RESTART)
    pg.wait_for_function("() => window.__swRestarted === true", timeout=120_000)
    pg.wait_for_function(KERNEL_IDLE, timeout=120_000)
    pg.evaluate("() => { window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs'); }")


def timed(pg: Any, index: int, selector: str | None) -> float:
    """Seconds from running cell ``index`` to ``selector`` on screen (or the cell done, without one)."""
    pg.evaluate(RUN_CELL, [index, selector])
    pg.wait_for_function("() => window.__swTime !== null", timeout=120_000)
    seconds: float = pg.evaluate("() => window.__swTime")
    return seconds


def command_line(
    doc: str, run: Callable[[int], dict[str, Any]], render: Callable[[dict[str, Any]], str], median: str, target: float
) -> None:
    """``--repeat N`` rounds, their table, and whether the ``median`` figure met ``target`` seconds."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    out = run(args.repeat)
    print(render(out))
    if "skipped" not in out:
        ok = out[median] <= target
        print(f"target: first render ≤ {target:.0f} s: {'met' if ok else 'NOT met'} ({out[median]:.3f} s)")
