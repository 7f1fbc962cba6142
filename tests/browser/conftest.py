"""The browser suites' shared set-up: JupyterLab, Notebook 7 and Voila servers, Debian's Chromium, a page.

Playwright (pip) drives Debian's Chromium through ``executable_path``; ``playwright install`` is never
needed. Each server gets its own temp ``SORA2_WIDGETS_HOME`` and no fal key, so the panel runs on the
built-in emulator; every request that is not to loopback is aborted, so nothing waits on the network.
With ``CI`` set, a missing Playwright or Chromium is an error, never a skip.

``tests/cli/test_lab_browser.py`` imports the plain set-up from here (``CHROMIUM_ARGS``, ``free_port``);
the fixtures serve this folder only.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import pytest

if os.environ.get("CI"):
    import playwright.sync_api as pw  # in CI a missing tool is an error, never a skip
else:
    pw = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "notebooks" / "01_quickstart.ipynb"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/sora2-ui-shots"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: Every browser test module sets ``pytestmark = BROWSER_MARKS``.
BROWSER_MARKS: list[Any] = [pytest.mark.browser, pytest.mark.slow]
if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    BROWSER_MARKS.append(pytest.mark.skip(reason=f"no browser at {CHROMIUM}"))

expect: Any = pw.expect

#: The front ends the panel is checked in; ``Served.where`` is the URL path a notebook opens at.
FrontEnd = Literal["jupyterlab", "notebook7", "voila"]

#: The Lab settings every Lab/Notebook 7 server starts with.
APP_SETTINGS: dict[str, dict[str, Any]] = {
    # "none" still shows the news toast; "false" does not.
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false"},
    "@jupyterlab/notebook-extension:tracker": {"autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Light"},
}

#: The execution indicator is not a readiness signal; the session context is (needs --expose-app-in-browser).
KERNEL_IDLE = """() => { const sc = window.jupyterapp?.shell.currentWidget?.sessionContext;
  return !!(sc && sc.isReady && sc.session?.kernel?.status === 'idle'); }"""


class Served(NamedTuple):
    """A running server: its URL, the kernel's SORA2_WIDGETS_HOME, its notebook folder, where notebooks open."""

    url: str
    home: Path
    root: Path
    where: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve(cmd: list[str], probe: str, cwd: Path, extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start a Jupyter server with its own config/runtime/data dirs, the emulator and no key."""
    env = {k: v for k, v in os.environ.items() if k not in ("FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET")}
    env.update(
        SORA2_WIDGETS_HOME=str(cwd / "sora2-home"),
        JUPYTER_CONFIG_DIR=str(cwd / ".jupyter-config"),
        JUPYTER_RUNTIME_DIR=str(cwd / ".jupyter-runtime"),
        # The kernels must import this checkout's package, not an installed copy.
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
    )
    for name in ("SORA2_WIDGETS_BUDGET", "SORA2_WIDGETS_EMULATOR_QUEUE_DELAY", "SORA2_WIDGETS_EMULATOR_PROGRESS_TIME"):
        env.pop(name, None)
    env.update(extra_env or {})
    log = (cwd / "server.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90  # generous: two busy cores can make a cold start slow
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited:\n" + (cwd / "server.log").read_text(errors="replace")[-4000:])
        try:
            urllib.request.urlopen(probe, timeout=2)
            return proc
        except OSError:
            time.sleep(0.25)
    stop(proc)
    raise TimeoutError(f"{probe} did not answer; log:\n" + (cwd / "server.log").read_text(errors="replace")[-4000:])


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()  # this PID only: Jupyter/Voila shut their own kernels down
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@contextlib.contextmanager
def voila_server(cwd: Path, extra_env: dict[str, str] | None = None, notebook: Path = QUICKSTART) -> Iterator[Served]:
    """Voila (dark theme) serving a copy of ``notebook`` from ``cwd``."""
    cwd.mkdir(parents=True, exist_ok=True)
    shutil.copy(notebook, cwd / notebook.name)
    port = free_port()
    cmd = [sys.executable, "-m", "voila", notebook.name, "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"]
    cmd.append("--theme=dark")  # Lab runs light: both themes get exercised and screenshotted
    # Voila drops a cell's stderr (warnings, tracebacks) unless told not to: show it, so tests can see it.
    cmd.append("--show_tracebacks=True")
    # Probe a static file: every GET / would start a kernel.
    proc = serve(cmd, f"http://127.0.0.1:{port}/voila/static/voila.js", cwd, extra_env)
    try:
        yield Served(f"http://127.0.0.1:{port}/", cwd / "sora2-home", cwd, "")
    finally:
        stop(proc)


@contextlib.contextmanager
def jupyter_server(
    app: Literal["jupyterlab", "notebook7"],
    tmp: Path,
    extra_env: dict[str, str] | None = None,
    notebooks: Sequence[Path] = (QUICKSTART,),
    settings: dict[str, dict[str, Any]] | None = None,
) -> Iterator[Served]:
    """JupyterLab or Notebook 7 (light theme) over copies of ``notebooks`` in ``tmp / "notebooks"``.

    ``settings`` adds to ``APP_SETTINGS`` (plugin id → values)."""
    root = tmp / "notebooks"  # only the notebooks in the file browser; logs and settings beside it
    root.mkdir(parents=True, exist_ok=True)
    for notebook in notebooks:
        shutil.copy(notebook, root / notebook.name)  # a copy: the app may autosave the notebook it runs
    overrides = {**APP_SETTINGS, **(settings or {})}
    app_settings = tmp / "app-settings"
    app_settings.mkdir()
    (app_settings / "overrides.json").write_text(json.dumps(overrides))
    # Notebook 7 does not read overrides.json from its app_settings_dir; both read the user's settings
    # under the server's JUPYTER_CONFIG_DIR (which serve() points at tmp / ".jupyter-config").
    user = tmp / ".jupyter-config" / "lab" / "user-settings"
    for plugin, values in overrides.items():
        package, name = plugin.split(":")
        (user / package).mkdir(parents=True, exist_ok=True)
        (user / package / f"{name}.jupyterlab-settings").write_text(json.dumps(values))
    port = free_port()
    lab = app == "jupyterlab"
    settings_flag = "--LabApp" if lab else "--JupyterNotebookApp"
    cmd = [
        *(sys.executable, "-m", "jupyterlab" if lab else "notebook", "--no-browser", "--allow-root"),
        *("--ip=127.0.0.1", f"--port={port}", "--ServerApp.token=", "--ServerApp.password="),
        *(f"{settings_flag}.app_settings_dir={app_settings}", f"--ServerApp.root_dir={root}"),
        "--expose-app-in-browser",  # window.jupyterapp: the kernel's readiness, run-all and save
    ]
    if lab:
        cmd.append("--LabApp.news_url=None")
    proc = serve(cmd, f"http://127.0.0.1:{port}/api/status", tmp, extra_env)
    try:
        yield Served(f"http://127.0.0.1:{port}", tmp / "sora2-home", root, "lab/tree" if lab else "notebooks")
    finally:
        stop(proc)


@contextlib.contextmanager
def front_end(
    name: FrontEnd, tmp: Path, extra_env: dict[str, str] | None = None, notebook: Path = QUICKSTART
) -> Iterator[Served]:
    """The server of one front end over a copy of ``notebook``."""
    if name == "voila":
        with voila_server(tmp / "voila", extra_env, notebook) as served:
            yield served
    else:
        with jupyter_server(name, tmp, extra_env, (notebook,)) as served:
            yield served


def open_notebook(pg: Any, served: Served, name: str) -> None:
    """Open a notebook in Lab / Notebook 7 (no restored layout) and wait until its kernel is idle."""
    pg.goto(f"{served.url}/{served.where}/{name}?reset")
    pg.wait_for_function(KERNEL_IDLE, timeout=120_000)


def open_panel(pg: Any, served: Served, name: str = QUICKSTART.name) -> Any:
    """The panel as each front end shows it: Voila runs the notebook on load; Lab and Notebook 7 run all cells."""
    if served.where:
        open_notebook(pg, served, name)
        pg.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")  # no await: never hangs
        panel = pg.locator(".jp-OutputArea .sw-panel")
    else:
        pg.goto(served.url)
        panel = pg.locator(".sw-panel")
    expect(panel).to_be_visible(timeout=120_000)
    return panel


@pytest.fixture
def voila(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with voila_server(tmp_path) as served:
        yield served.url, served.home


@pytest.fixture
def slow_voila(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Voila whose kernel's emulator keeps every job queued for minutes: time enough to click Cancel."""
    slow = {"SORA2_WIDGETS_EMULATOR_QUEUE_DELAY": "600", "SORA2_WIDGETS_EMULATOR_PROGRESS_TIME": "600"}
    with voila_server(tmp_path / "slow", slow) as served:
        yield served.url, served.home


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with jupyter_server("jupyterlab", tmp_path) as served:
        yield served.url, served.home


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A page plus what the test must be able to assert afterwards: dialogs and browser errors."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.dialogs: list[str] = []
        page.on("dialog", self._on_dialog)

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Page]:
    # Tall: Voila and Lab scroll inside their own containers, so an element screenshot is clipped to the viewport.
    ctx = browser.new_context(viewport={"width": 1280, "height": 1800})

    def route(r: Any) -> None:
        # Offline by design: anything not on loopback is aborted at once (Voila asks a CDN for fonts).
        url = r.request.url
        if url.startswith(("http://127.0.0.1", "data:", "blob:")):
            r.continue_()
        else:
            r.abort()

    ctx.route("**/*", route)
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    yield Page(pg)
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"{request.node.name}.png"))
    ctx.close()
