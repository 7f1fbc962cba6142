"""Chromium plays the emulator's videos with their sound: a <video> element over loopback HTTP.

The page learns the length and the audio tracks the way a player does, plays a second of the
clip unmuted (the decoder must have produced sound) and decodes the soundtrack with Web Audio.
With ``CI`` set, a missing Playwright or Chromium is an error, never a skip.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sora2_widgets.emulator._render import render_video
from sora2_widgets.emulator._sound import SAMPLE_RATE

if os.environ.get("CI"):
    import playwright.sync_api as pw  # in CI a missing tool is an error, never a skip
else:
    pw = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/sora2-ui-shots"))

pytestmark = [pytest.mark.browser, pytest.mark.slow]
if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    pytestmark.append(pytest.mark.skip(reason=f"no browser at {CHROMIUM}"))

#: Loads ``src`` in a new unmuted <video>, plays about a second, then decodes the file with Web Audio.
PLAY = """async (src) => {
  const v = document.createElement('video');
  v.muted = false; v.preload = 'auto'; v.controls = true; v.width = 640; v.src = src;
  document.body.appendChild(v);
  await new Promise((resolve, reject) => {
    v.addEventListener('loadedmetadata', resolve, {once: true});
    v.addEventListener('error', () => reject(new Error('video error ' + (v.error && v.error.code))));
    setTimeout(() => reject(new Error('no metadata after 60 s')), 60000);
  });
  await v.play();
  await new Promise((resolve, reject) => {
    const check = () => v.currentTime >= 1 ? resolve() : setTimeout(check, 50);
    check();
    setTimeout(() => reject(new Error('did not play 1 s in 60 s')), 60000);
  });
  v.pause();
  const out = {
    duration: v.duration, muted: v.muted, width: v.videoWidth, height: v.videoHeight,
    audioTracks: v.audioTracks ? v.audioTracks.length : null,
    audioBytes: v.webkitAudioDecodedByteCount,
  };
  const data = await (await fetch(src)).arrayBuffer();
  try {
    const sound = await new OfflineAudioContext(1, 1, 48000).decodeAudioData(data);
    out.sound = {duration: sound.duration, rate: sound.sampleRate, channels: sound.numberOfChannels};
  } catch (e) {
    out.sound = null;
  }
  return out;
}"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback HTTP server over ``tmp_path``: (its base URL, the folder)."""
    (tmp_path / "index.html").write_text("<!doctype html><html><body></body></html>")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)


@pytest.fixture
def page(served: tuple[str, Path], request: pytest.FixtureRequest) -> Iterator[Any]:
    with pw.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            # Autoplay with sound needs no click here; audioTracks is behind a Blink feature flag.
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--autoplay-policy=no-user-gesture-required",
                "--enable-blink-features=AudioVideoTracks",
            ],
        )
        pg = browser.new_page(viewport={"width": 700, "height": 420})
        pg.set_default_timeout(60_000)
        pg.goto(f"{served[0]}/index.html")
        yield pg
        SHOTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(SHOTS / f"{request.node.name}.png"))
        browser.close()


def test_chromium_plays_the_sound_track(page: Any, served: tuple[str, Path]) -> None:
    base, folder = served
    render_video(folder / "v.mp4", width=640, height=360, duration=3, title="Listen: a chord", audio=True)
    got = page.evaluate(PLAY, f"{base}/v.mp4")
    assert (got["duration"], got["width"], got["height"]) == (3, 640, 360)
    assert got["muted"] is False
    assert got["audioTracks"] == 1
    assert got["audioBytes"] > 0  # the decoder produced sound while it played
    assert got["sound"] is not None
    assert got["sound"]["duration"] == pytest.approx(3, abs=1024 / SAMPLE_RATE)
    assert (got["sound"]["rate"], got["sound"]["channels"]) == (SAMPLE_RATE, 1)


def test_chromium_finds_no_sound_in_a_silent_video(page: Any, served: tuple[str, Path]) -> None:
    base, folder = served
    render_video(folder / "v.mp4", width=640, height=360, duration=2, title="Silent")
    got = page.evaluate(PLAY, f"{base}/v.mp4")
    assert got["duration"] == 2
    assert got["audioTracks"] == 0
    assert got["audioBytes"] == 0
    assert got["sound"] is None
