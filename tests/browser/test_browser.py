"""The quickstart's panel in a real browser: Voila (the full walk-through) and one JupyterLab smoke test.

Playwright (pip) drives Debian's Chromium through ``executable_path``; ``playwright install`` is never
needed. Each server gets its own temp ``SORA2_WIDGETS_HOME`` and no fal key, so the panel runs on the
built-in emulator; every request that is not to loopback is aborted, so nothing waits on the network.
With ``CI`` set, a missing Playwright or Chromium is an error, never a skip.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sora2_widgets as sw

if os.environ.get("CI"):
    import playwright.sync_api as pw  # in CI a missing tool is an error, never a skip
else:
    pw = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "01_quickstart.ipynb"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/sora2-ui-shots"))
XSS = "A kite <img src=x onerror=alert(1)> over the sea"

pytestmark = [pytest.mark.browser, pytest.mark.slow]
if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    pytestmark.append(pytest.mark.skip(reason=f"no browser at {CHROMIUM}"))

expect: Any = pw.expect


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(cmd: list[str], probe: str, cwd: Path, extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
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
    _stop(proc)
    raise TimeoutError(f"{probe} did not answer; log:\n" + (cwd / "server.log").read_text(errors="replace")[-4000:])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()  # this PID only: Jupyter/Voila shut their own kernels down
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@contextlib.contextmanager
def _voila(cwd: Path, extra_env: dict[str, str] | None = None) -> Iterator[tuple[str, Path]]:
    """Voila serving a copy of the quickstart from ``cwd``: (its URL, the kernel's SORA2_WIDGETS_HOME)."""
    cwd.mkdir(parents=True, exist_ok=True)
    shutil.copy(NOTEBOOK, cwd / NOTEBOOK.name)
    port = _free_port()
    cmd = [sys.executable, "-m", "voila", NOTEBOOK.name, "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"]
    cmd.append("--theme=dark")  # Lab runs light: both themes get exercised and screenshotted
    # Voila drops a cell's stderr (warnings, tracebacks) unless told not to: show it, so tests can see it.
    cmd.append("--show_tracebacks=True")
    # Probe a static file: every GET / would start a kernel.
    proc = _serve(cmd, f"http://127.0.0.1:{port}/voila/static/voila.js", cwd, extra_env)
    try:
        yield f"http://127.0.0.1:{port}/", cwd / "sora2-home"
    finally:
        _stop(proc)


@pytest.fixture
def voila(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with _voila(tmp_path) as served:
        yield served


@pytest.fixture
def slow_voila(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Voila whose kernel's emulator keeps every job queued for minutes: time enough to click Cancel."""
    slow = {"SORA2_WIDGETS_EMULATOR_QUEUE_DELAY": "600", "SORA2_WIDGETS_EMULATOR_PROGRESS_TIME": "600"}
    with _voila(tmp_path / "slow", slow) as served:
        yield served


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "notebooks"  # only the notebook in Lab's file browser; logs and settings beside it
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)  # a copy: Lab may autosave the notebook it runs
    settings = tmp_path / "lab-settings"
    settings.mkdir()
    overrides = {
        # "none" still shows the news toast; "false" does not.
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
    proc = _serve(cmd, f"http://127.0.0.1:{port}/api/status", tmp_path)
    yield f"http://127.0.0.1:{port}", tmp_path / "sora2-home"
    _stop(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with pw.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
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


def _select_models(page: Any, *model_ids: str) -> None:
    """Tick exactly these models' checkboxes, found by their catalog names (labels add price and resolution)."""
    # Only this tab's: the other tabs' checkboxes are kept in the picker, hidden (no leaked models).
    options = page.locator(".sw-models .sw-model-option:visible")
    # ipywidgets shows spaces as no-break spaces in labels
    names = [label.replace("\xa0", " ").split(" · ")[0].strip() for label in options.all_inner_texts()]
    wanted = {sw.get_model(model_id).name for model_id in model_ids}
    for name in wanted:
        assert names.count(name) == 1, f"{name!r} not offered once in {names}"
    for index, name in enumerate(names):
        box = options.nth(index).locator("input[type=checkbox]")
        if box.is_checked() != (name in wanted):
            box.click()  # the change event ipywidgets listens to
            expect(box).to_be_checked(checked=name in wanted)


OVERFLOW = """() => {
  const out = [];
  for (const el of document.querySelectorAll('.sw-panel *')) {
    if (!el.offsetParent || el.closest('.sw-jobs')) continue;  // hidden, or a card (video, log line)
    const r = el.getBoundingClientRect(), p = el.parentElement.getBoundingClientRect();
    if (r.width > 0 && r.right > p.right + 1) out.push(`${el.className} ${Math.round(r.right)}>${Math.round(p.right)}`);
  }
  return out;
}"""


def _overflowing(page: Any) -> list[str]:
    """Visible elements of the panel (outside the job cards) whose right edge passes their parent's."""
    found: list[str] = page.evaluate(OVERFLOW)
    return found


def _tab(page: Any, title: str) -> None:
    page.locator(".sw-tabs").get_by_role("tab", name=title).click()


def _wait_for_video(page: Any, duration: float) -> float:
    """Wait until the card's <video> has loaded its metadata; return its duration in seconds."""
    card = page.locator(".sw-panel .sw-card").first
    expect(card).to_have_class(re.compile(r"\bsw-card-done\b"), timeout=180_000)
    expect(card.locator(".sw-card-status")).to_have_text("Done")
    video = card.locator("video.sw-video, .sw-video video").first
    expect(video).to_be_visible()
    video.evaluate(
        """v => new Promise((resolve, reject) => {
            if (v.readyState >= 1) return resolve();
            v.addEventListener('loadedmetadata', () => resolve(), {once: true});
            v.addEventListener('error', () => reject(new Error('video error ' + (v.error && v.error.code))));
            setTimeout(() => reject(new Error('no metadata after 30 s')), 30000);
        })"""
    )
    got: float = video.evaluate("v => v.duration")
    assert got == pytest.approx(duration, abs=0.25)
    # Seek into the clip: proves it decodes, and screenshots show a frame instead of a loading spinner.
    video.evaluate(
        """v => new Promise((resolve, reject) => {
            v.addEventListener('seeked', () => resolve(), {once: true});
            setTimeout(() => reject(new Error('seek did not finish in 30 s')), 30000);
            v.currentTime = v.duration / 2;
        })"""
    )
    return got


def test_quickstart_panel_in_voila(page: Page, voila: tuple[str, Path]) -> None:
    url, home = voila
    pg = page.page
    pg.goto(url)
    panel = pg.locator(".sw-panel")
    expect(panel).to_be_visible(timeout=120_000)
    expect(pg.locator(".sw-provider")).to_contain_text("Emulator")

    # Fresh history: the Remix tab says there is nothing to remix yet.
    _tab(pg, "Remix")
    expect(pg.locator(".sw-remix-empty")).to_be_visible()
    expect(pg.locator(".sw-remix-empty")).to_contain_text("No Sora videos available yet")
    expect(pg.locator(".sw-remix-picker")).to_be_hidden()
    _tab(pg, "Text → video")

    sora, kling, cost = pg.locator(".sw-sora-settings"), pg.locator(".sw-kling-settings"), pg.locator(".sw-cost")
    # Default: Sora 2 alone, 4 s at $0.10/s; no resolution choice (720p only).
    expect(sora).to_be_visible()
    expect(kling).to_be_hidden()
    expect(pg.locator(".sw-resolution")).to_be_hidden()
    expect(cost).to_contain_text("$0.40")

    # Kling alone: Sora's settings go, Kling's come, and the prompt limit drops to 500.
    _select_models(pg, "kling25_turbo_pro_text_to_video")
    expect(sora).to_be_hidden()
    expect(kling).to_be_visible()
    expect(pg.locator(".sw-counter")).to_contain_text("500")
    expect(cost).to_contain_text("$0.35")

    # Sora 2 + Sora 2 Pro: Sora settings back, resolution appears (Pro), 0.40 + 4 s × $0.50 (1080p).
    _select_models(pg, "sora2_text_to_video", "sora2_text_to_video_pro")
    expect(sora).to_be_visible()
    expect(kling).to_be_hidden()
    expect(pg.locator(".sw-resolution")).to_be_visible()
    expect(cost).to_contain_text("$2.40")
    expect(pg.locator(".sw-counter")).to_contain_text("5000")

    # Back to Sora 2 alone, kept for remix, with a prompt that would be an XSS if rendered as HTML.
    _select_models(pg, "sora2_text_to_video")
    expect(pg.locator(".sw-resolution")).to_be_hidden()
    expect(cost).to_contain_text("$0.40")
    pg.locator(".sw-prompt textarea").fill(XSS)
    expect(pg.locator(".sw-counter")).to_contain_text(str(5000 - len(XSS)))
    keep = pg.locator(".sw-keep input[type=checkbox]")
    if not keep.is_checked():
        keep.check()
    expect(keep).to_be_checked()
    generate = pg.locator("button.sw-generate")
    expect(generate).to_be_enabled()
    generate.click()

    _wait_for_video(pg, 4.0)
    SHOTS.mkdir(parents=True, exist_ok=True)
    panel.screenshot(path=str(SHOTS / "voila_dark_panel_after_generate.png"))

    # The new video is offered for remix, its prompt shown as text.
    _tab(pg, "Remix")
    picker = pg.locator(".sw-remix-picker")
    expect(picker).to_be_visible()
    expect(pg.locator(".sw-remix-empty")).to_be_hidden()
    option = picker.locator(".sw-remix-option")
    expect(option).to_have_count(1)
    expect(option.locator(".sw-remix-option-text")).to_contain_text(XSS)
    thumb = option.locator(".sw-remix-option-thumb img")  # streamed by the panel's player
    expect(thumb).to_be_visible()
    pg.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle(), timeout=30_000)
    option.locator(".sw-remix-option-choose").click()
    expect(option).to_have_class(re.compile(r"\bsw-remix-option-selected\b"))
    expect(pg.locator(".sw-remix-preview")).to_contain_text(XSS)
    panel.screenshot(path=str(SHOTS / "voila_dark_panel_remix.png"))
    # Nothing sticks out of its container (labelled full-width inputs used to), wide and narrow.
    assert _overflowing(pg) == []
    pg.set_viewport_size({"width": 800, "height": 1800})
    assert _overflowing(pg) == []
    panel.screenshot(path=str(SHOTS / "voila_dark_panel_remix_800px.png"))
    _tab(pg, "Text → video")
    assert _overflowing(pg) == []
    panel.screenshot(path=str(SHOTS / "voila_dark_panel_text_800px.png"))
    pg.set_viewport_size({"width": 1280, "height": 1800})

    _tab(pg, "History")
    expect(pg.locator(".sw-history-table")).to_contain_text(XSS)
    _tab(pg, "Spend")
    expect(pg.locator(".sw-spend")).to_contain_text("$0.40")
    chart = pg.locator(".sw-spend-chart img")
    expect(chart).to_be_visible()
    pg.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=chart.element_handle(), timeout=30_000)
    panel.screenshot(path=str(SHOTS / "voila_dark_panel_spend.png"))

    # The prompt never became markup: no <img src=x> in the page, no alert.
    assert pg.locator(".sw-panel img[src='x']").count() == 0
    assert page.dialogs == []

    with sw.History(home) as hist:  # the ledger the served kernel wrote
        df = hist.df
    assert list(df["status"]) == ["completed"] and bool(df["kept_for_remix"].iloc[0])
    assert df["prompt"].iloc[0] == XSS


KERNEL_IDLE = """() => { const sc = window.jupyterapp?.shell.currentWidget?.sessionContext;
  return !!(sc && sc.isReady && sc.session?.kernel?.status === 'idle'); }"""


def test_quickstart_panel_in_jupyterlab(page: Page, lab: tuple[str, Path]) -> None:
    url, _home = lab
    pg = page.page
    pg.goto(f"{url}/lab/tree/{NOTEBOOK.name}?reset")
    # The execution indicator is not a readiness signal; the session context is.
    pg.wait_for_function(KERNEL_IDLE, timeout=120_000)
    pg.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")  # no await: never hangs
    panel = pg.locator(".jp-OutputArea .sw-panel")
    expect(panel).to_be_visible(timeout=120_000)

    _select_models(pg, "kling25_turbo_pro_text_to_video")
    expect(pg.locator(".sw-sora-settings")).to_be_hidden()
    _select_models(pg, "sora2_text_to_video")
    expect(pg.locator(".sw-sora-settings")).to_be_visible()
    expect(pg.locator(".sw-cost")).to_contain_text("$0.40")
    pg.locator(".sw-prompt textarea").fill("A red kite over a windy beach at sunset, handheld camera")
    pg.locator("button.sw-generate").click()
    _wait_for_video(pg, 4.0)
    expect(pg.locator(".sw-remix-this")).to_be_visible()  # kept for remix by default
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(SHOTS / "lab_light_panel.png"))  # the README's docs/panel.png
    assert _overflowing(pg) == []
    # The light theme's look of the other tabs (the Voila test covers dark).
    _tab(pg, "Remix")
    expect(pg.locator(".sw-remix-picker .sw-remix-option")).to_have_count(1)
    pg.locator(".sw-remix-option .sw-remix-option-choose").click()
    expect(pg.locator(".sw-remix-option")).to_have_class(re.compile(r"\bsw-remix-option-selected\b"))
    assert _overflowing(pg) == []
    panel.screenshot(path=str(SHOTS / "lab_light_panel_remix.png"))
    _tab(pg, "Spend")
    chart = pg.locator(".sw-spend-chart img")
    expect(chart).to_be_visible()
    pg.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=chart.element_handle(), timeout=30_000)
    panel.screenshot(path=str(SHOTS / "lab_light_panel_spend.png"))
    # The panel's badge is the emulator notice: no stderr box from the client above it.
    assert pg.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0


def _ledger_once(home: Path, status: str, timeout: float = 60.0) -> Any:
    """The one ledger row the served kernel wrote, once it reached ``status`` (the kernel writes it)."""
    deadline = time.monotonic() + timeout
    while True:
        with sw.History(home) as hist:
            df = hist.df
        if (len(df) == 1 and df["status"].iloc[0] == status) or time.monotonic() > deadline:
            assert list(df["status"]) == [status], df[["model_id", "status", "error"]].to_string()
            return df.iloc[0]
        time.sleep(0.2)  # polling a file another process writes; the browser side uses expect()


def _no_stderr_box(pg: Any) -> None:
    # The panel reports problems on itself; a stderr output box means something leaked a warning/traceback.
    assert pg.locator("[data-mime-type='application/vnd.jupyter.stderr'], .jp-OutputArea-stderr").count() == 0


def test_image_upload_and_cancel_in_voila(
    page: Page, voila: tuple[str, Path], slow_voila: tuple[str, Path], tmp_path: Path
) -> None:
    from PIL import Image, ImageDraw

    pg = page.page
    image = tmp_path / "portrait.png"
    with Image.new("RGB", (360, 640), (30, 60, 120)) as im:
        ImageDraw.Draw(im).ellipse((60, 200, 300, 440), fill=(240, 180, 40))  # something to see in the preview
        im.save(image)

    # -- 1. Image → video from an uploaded file (fast emulator) ------------------------------------
    url, home = voila
    pg.goto(url)
    panel = pg.locator(".sw-panel")
    expect(panel).to_be_visible(timeout=120_000)
    _tab(pg, "Image → video")
    generate = pg.locator("button.sw-generate")
    pg.locator(".sw-prompt textarea").fill("The sun rises over a calm sea, slow push-in")
    expect(generate).to_be_disabled()  # no start image yet
    expect(pg.locator(".sw-status:not(.sw-history-note)")).to_contain_text("Choose a start image")

    # ipywidgets' FileUpload never attaches its <input type=file> to the page (its button clicks the
    # detached input), so pick the file the way a user does: click Upload, answer the file chooser.
    with pg.expect_file_chooser() as chooser:
        pg.locator("button.sw-upload").click()
    chooser.value.set_files(str(image))
    preview = pg.locator(".sw-image-player img")  # streamed from the kernel: no bytes in widget state
    expect(preview).to_be_visible(timeout=30_000)
    pg.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=preview.element_handle(), timeout=30_000)
    assert preview.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [360, 640]
    expect(pg.locator(".sw-image-error")).to_have_text("Start image: portrait.png")

    _select_models(pg, "sora2_image_to_video")
    expect(pg.locator(".sw-cost")).to_contain_text("$0.40")
    expect(generate).to_be_enabled()
    generate.click()
    _wait_for_video(pg, 4.0)
    video = pg.locator(".sw-panel .sw-card").first.locator("video.sw-video, .sw-video video").first
    width, height = video.evaluate("v => [v.videoWidth, v.videoHeight]")
    assert 0 < width < height, f"not a portrait video: {width}x{height}"  # aspect "auto" follows the image
    SHOTS.mkdir(parents=True, exist_ok=True)
    panel.screenshot(path=str(SHOTS / "voila_dark_panel_image_to_video.png"))
    _no_stderr_box(pg)

    row = _ledger_once(home, "completed")
    assert (row["mode"], row["model_id"]) == ("image", "sora2_image_to_video")
    assert (row["width"], row["height"], row["duration"]) == (width, height, 4.0)
    # The 360x640 PNG was uploaded through the emulator's storage; the request and the ledger carry
    # that URL, never a data: URI the user did not give.
    stored = row["params"]["image_url"]
    assert stored.startswith("http") and "/files/" in stored and len(stored) < 300, stored[:120]
    png = base64.b64encode(image.read_bytes()).decode()
    assert png[:64] not in json.dumps(row["params"]) and len(json.dumps(row["params"])) < 2000

    # -- 2. Cancel a job that is still queued (emulator slowed through the kernel's environment) ----
    url, home = slow_voila
    pg.goto(url)
    expect(panel).to_be_visible(timeout=120_000)
    pg.locator(".sw-prompt textarea").fill("A lighthouse in a storm, waves crashing")
    expect(generate).to_be_enabled()
    generate.click()
    card = pg.locator(".sw-panel .sw-card").first
    # Submitted and queued on the service: the card shows the request id and the queue pill.
    expect(card.locator(".sw-card-status")).to_have_text(re.compile(r"^In queue"), timeout=60_000)
    expect(card.locator(".sw-muted")).to_contain_text("request ", timeout=60_000)
    shown = re.search(r"request ([0-9a-f-]{36})", card.locator(".sw-muted").inner_text())
    assert shown is not None
    card.locator("button.sw-cancel").click()

    expect(card).to_have_class(re.compile(r"\bsw-card-cancelled\b"), timeout=60_000)
    expect(card.locator(".sw-card-status")).to_have_text("Cancelled")
    expect(card.locator(".sw-card-error")).to_contain_text("Cancelled")
    expect(card.locator("button.sw-cancel")).to_be_hidden()
    assert card.locator("video").count() == 0
    panel.screenshot(path=str(SHOTS / "voila_dark_panel_cancelled.png"))

    row = _ledger_once(home, "cancelled")
    assert row["request_id"] == shown.group(1)
    assert row["cost_usd"] == 0
    # The cancel reached the service: the emulator recorded it on that request, while it was queued
    # (the served kernel's emulator did take its timings from the environment).
    job = json.loads((home / "emulator" / "jobs" / f"{shown.group(1)}.json").read_text())
    assert job["queue_delay"] == 600
    assert job.get("cancelled_at") is not None and job["cancelled_at"] < job["submitted_at"] + 600

    assert page.dialogs == []
    _no_stderr_box(pg)
