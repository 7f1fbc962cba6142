"""``sora2-widgets lab`` in Chromium: the printed URL shows the quickstart, and its "Next" links open
the other notebooks (issue #18 item 5: they gave 404 and an uncaught error in the page)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from cli_helpers import cli_env

from tests.browser.conftest import BROWSER_MARKS, CHROMIUM, CHROMIUM_ARGS, SHOTS, free_port, pw

WAIT = 120_000  # ms
pytestmark = BROWSER_MARKS


def test_the_printed_url_opens_the_quickstart_and_its_next_links_work(tmp_path: Path) -> None:
    settings = tmp_path / "lab-settings"
    settings.mkdir()
    (settings / "overrides.json").write_text(
        json.dumps({"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}})
    )
    port = free_port()
    env = cli_env(
        tmp_path / "home",
        {"JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config")},
    )
    cmd = [sys.executable, "-m", "sora2_widgets.cli", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}"]
    cmd += ["--ServerApp.port_retries=0", "--LabApp.news_url=None", f"--LabApp.app_settings_dir={settings}"]
    log_path = tmp_path / "lab.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        # The URL a person copies from the terminal, token and all.
        deadline = time.monotonic() + 240
        printed: list[str] = []
        while not printed and time.monotonic() < deadline:
            assert proc.poll() is None, log_path.read_text()[-4000:]
            printed = re.findall(rf"http://127\.0\.0\.1:{port}/lab/\S+", log_path.read_text())
            time.sleep(0.5)
        assert printed, log_path.read_text()[-4000:]
        url = printed[0]
        assert "/lab/tree/01_quickstart.ipynb?token=" in url
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=10).status_code in (200, 403):
                    break
            except httpx.TransportError:
                time.sleep(0.5)

        errors: list[str] = []
        with pw.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.set_default_timeout(120_000)
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.goto(url)
                # The quickstart itself is open (not the Launcher), its "Next" list rendered.
                current = page.locator("#jp-main-dock-panel .lm-TabBar-tab.jp-mod-current")
                nxt = page.locator(".jp-RenderedMarkdown a", has_text="02_prompt_experiments.ipynb").first
                pw.expect(nxt).to_be_visible(timeout=WAIT)  # two busy cores: Lab can take a while
                pw.expect(current).to_contain_text("01_quickstart.ipynb", timeout=WAIT)
                SHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SHOTS / "lab_quickstart_from_printed_url.png"))
                for name in ("02_prompt_experiments.ipynb", "03_spend_report.ipynb"):
                    page.locator(".jp-RenderedMarkdown a", has_text=name).first.click()
                    pw.expect(current).to_contain_text(name, timeout=WAIT)
                    page.screenshot(path=str(SHOTS / f"lab_next_link_{name.split('_')[0]}.png"))
                    page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="01_quickstart.ipynb").first.click()
                assert page.locator(".jp-Dialog").count() == 0  # no "File not found" dialog
            finally:
                browser.close()
        assert errors == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
