"""report.html in a real Chromium, opened from a copy of its folder: every video plays, no script runs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/sora2-ui-shots"))
HOSTILE = "<script>window.ran = 1</script><img src=x onerror='window.ran = 2'> a kite"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"needs Chromium at {CHROMIUM}"),
]


def test_the_copied_report_plays_every_video(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    home = tmp_path / "home"
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(home))
    monkeypatch.delenv("FAL_KEY", raising=False)
    emu = Emulator(state_dir=home / "emulator", queue_delay=0.0, progress_time=0.05)
    s = sw.sweep([HOSTILE, "a lighthouse"], "sora2_text_to_video", name="browser", duration=[4, 8])
    try:
        with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=sw.History(home), resume=False) as gen:
            s.run(generator=gen, progress="none")
    finally:
        emu.close()
    s.report(tmp_path / "made" / "report.html")
    moved = tmp_path / "moved"
    shutil.copytree(tmp_path / "made", moved)
    shutil.rmtree(tmp_path / "made")
    shutil.rmtree(home / "media")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"]
        )
        try:
            # The page's policy forbids every script, Playwright's own probes too: bypassed for them,
            # so window.ran below shows that escaping alone kept the hostile prompt inert.
            page = browser.new_page(viewport={"width": 1200, "height": 800}, bypass_csp=True)
            page.goto((moved / "report.html").as_uri())
            page.wait_for_function(
                "[...document.querySelectorAll('video')].every(v => v.readyState >= 1 && v.duration > 0)",
                timeout=30_000,
            )
            durations = page.eval_on_selector_all("video", "vs => vs.map(v => v.duration)")
            page.eval_on_selector_all("video", "vs => Promise.all(vs.map(v => v.play()))")
            page.wait_for_function(
                "[...document.querySelectorAll('video')].every(v => v.currentTime > 0.2)", timeout=30_000
            )
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "sweep-report-copied.png"), full_page=True)
            assert page.evaluate("window.ran") is None  # neither the script nor the handler ran
            assert page.locator("text=" + "<script>window.ran = 1</script>").count() == 2  # shown as text, twice
        finally:
            browser.close()
    assert len(durations) == 4 and sorted(round(d) for d in durations) == [4, 4, 8, 8]
