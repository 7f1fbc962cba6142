"""The quickstart's panel in a real browser: Voila (the full walk-through) and one JupyterLab smoke test.

The servers (each on the built-in emulator, offline), Chromium and the page come from ``conftest.py``."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path
from typing import Any

import sora2_widgets as sw

from ._panel import overflowing, select_models, tab, wait_for_chart, wait_for_video
from .conftest import BROWSER_MARKS, KERNEL_IDLE, QUICKSTART, SHOTS, Page, expect

XSS = "A kite <img src=x onerror=alert(1)> over the sea"

pytestmark = BROWSER_MARKS


def test_quickstart_panel_in_voila(page: Page, voila: tuple[str, Path]) -> None:
    url, home = voila
    pg = page.page
    pg.goto(url)
    panel = pg.locator(".sw-panel")
    expect(panel).to_be_visible(timeout=120_000)
    expect(pg.locator(".sw-provider")).to_contain_text("Emulator")

    # Fresh history: the Remix tab says there is nothing to remix yet.
    tab(pg, "Remix")
    expect(pg.locator(".sw-remix-empty")).to_be_visible()
    expect(pg.locator(".sw-remix-empty")).to_contain_text("No Sora videos available yet")
    expect(pg.locator(".sw-remix-picker")).to_be_hidden()
    tab(pg, "Text → video")

    # Every family's settings are one box of groups, each under its family's name.
    sora, kling, cost = pg.locator(".sw-settings-sora"), pg.locator(".sw-settings-kling"), pg.locator(".sw-cost")
    # Default: Sora 2 alone, 4 s at $0.10/s; no resolution choice (720p only).
    expect(sora).to_be_visible()
    expect(kling).to_be_hidden()
    expect(pg.locator(".sw-setting-resolution")).to_be_hidden()
    expect(cost).to_contain_text("$0.40")

    # Kling alone: Sora's settings go, Kling's come, and the prompt limit drops to 500.
    select_models(pg, "kling25_turbo_pro_text_to_video")
    expect(sora).to_be_hidden()
    expect(kling).to_be_visible()
    expect(pg.locator(".sw-counter")).to_contain_text("500")
    expect(cost).to_contain_text("$0.35")

    # Sora 2 + Sora 2 Pro: Sora settings back, resolution appears (Pro), 0.40 + 4 s × $0.50 (1080p).
    select_models(pg, "sora2_text_to_video", "sora2_text_to_video_pro")
    expect(sora).to_be_visible()
    expect(kling).to_be_hidden()
    expect(pg.locator(".sw-setting-resolution")).to_be_visible()
    expect(cost).to_contain_text("$2.40")
    expect(pg.locator(".sw-counter")).to_contain_text("5000")

    # Back to Sora 2 alone, kept for remix, with a prompt that would be an XSS if rendered as HTML.
    select_models(pg, "sora2_text_to_video")
    expect(pg.locator(".sw-setting-resolution")).to_be_hidden()
    expect(cost).to_contain_text("$0.40")
    pg.locator(".sw-prompt textarea").fill(XSS)
    expect(pg.locator(".sw-counter")).to_contain_text(str(5000 - len(XSS)))
    keep = pg.locator(".sw-setting-delete-video input[type=checkbox]")
    expect(pg.locator(".sw-setting-delete-video")).to_contain_text("Keep for remix")
    if not keep.is_checked():
        keep.check()
    expect(keep).to_be_checked()
    generate = pg.locator("button.sw-generate")
    expect(generate).to_be_enabled()
    generate.click()

    wait_for_video(pg, 4.0)
    SHOTS.mkdir(parents=True, exist_ok=True)
    panel.screenshot(path=str(SHOTS / "voila_dark_panel_after_generate.png"))

    # The new video is offered for remix, its prompt shown as text.
    tab(pg, "Remix")
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
    assert overflowing(pg) == []
    pg.set_viewport_size({"width": 800, "height": 1800})
    assert overflowing(pg) == []
    panel.screenshot(path=str(SHOTS / "voila_dark_panel_remix_800px.png"))
    tab(pg, "Text → video")
    assert overflowing(pg) == []
    panel.screenshot(path=str(SHOTS / "voila_dark_panel_text_800px.png"))
    pg.set_viewport_size({"width": 1280, "height": 1800})

    tab(pg, "History")
    expect(pg.locator(".sw-history-table")).to_contain_text(XSS)
    tab(pg, "Spend")
    expect(pg.locator(".sw-spend")).to_contain_text("$0.40")
    wait_for_chart(pg)
    panel.screenshot(path=str(SHOTS / "voila_dark_panel_spend.png"))

    # The prompt never became markup: no <img src=x> in the page, no alert.
    assert pg.locator(".sw-panel img[src='x']").count() == 0
    assert page.dialogs == []

    with sw.History(home) as hist:  # the ledger the served kernel wrote
        df = hist.df
    assert list(df["status"]) == ["completed"] and bool(df["kept_for_remix"].iloc[0])
    assert df["prompt"].iloc[0] == XSS


# The server before the page: the page's closing screenshot is taken while Lab still answers (no dialog).
def test_quickstart_panel_in_jupyterlab(lab: tuple[str, Path], page: Page) -> None:
    url, _home = lab
    pg = page.page
    pg.goto(f"{url}/lab/tree/{QUICKSTART.name}?reset")
    # The execution indicator is not a readiness signal; the session context is.
    pg.wait_for_function(KERNEL_IDLE, timeout=120_000)
    pg.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")  # no await: never hangs
    panel = pg.locator(".jp-OutputArea .sw-panel")
    expect(panel).to_be_visible(timeout=120_000)

    select_models(pg, "kling25_turbo_pro_text_to_video")
    expect(pg.locator(".sw-settings-sora")).to_be_hidden()
    select_models(pg, "sora2_text_to_video")
    expect(pg.locator(".sw-settings-sora")).to_be_visible()
    expect(pg.locator(".sw-cost")).to_contain_text("$0.40")
    pg.locator(".sw-prompt textarea").fill("A red kite over a windy beach at sunset, handheld camera")
    pg.locator("button.sw-generate").click()
    wait_for_video(pg, 4.0)
    expect(pg.locator(".sw-remix-this")).to_be_visible()  # kept for remix by default
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(SHOTS / "lab_light_panel.png"))  # the README's docs/panel.png
    assert overflowing(pg) == []
    # The light theme's look of the other tabs (the Voila test covers dark).
    tab(pg, "Remix")
    expect(pg.locator(".sw-remix-picker .sw-remix-option")).to_have_count(1)
    pg.locator(".sw-remix-option .sw-remix-option-choose").click()
    expect(pg.locator(".sw-remix-option")).to_have_class(re.compile(r"\bsw-remix-option-selected\b"))
    assert overflowing(pg) == []
    panel.screenshot(path=str(SHOTS / "lab_light_panel_remix.png"))
    tab(pg, "Spend")
    wait_for_chart(pg)
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
    tab(pg, "Image → video")
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

    select_models(pg, "sora2_image_to_video")
    expect(pg.locator(".sw-cost")).to_contain_text("$0.40")
    expect(generate).to_be_enabled()
    generate.click()
    wait_for_video(pg, 4.0)
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
