"""Issue 12 item 3 in a real browser (JupyterLab): the schema-built settings as a person uses them.

Veo 3.1 with its Audio checkbox off and then on: the cost label follows, and the saved MP4 has an
audio track exactly when the box was ticked. Kling 3.0 image-to-video from the Image tab with an
uploaded picture: the start frame goes to ``start_image_url`` and a second upload, in the end image's
own picker, to ``end_image_url``, both uploaded through fal's storage. Veo 3.1 Fast image-to-video
from the same picture: it goes to Veo's own ``image_url``, and no end-image picker is offered (Veo's
image-to-video takes none).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av

import sora2_widgets as sw

from ._panel import select_models, tab, wait_for_video
from .conftest import BROWSER_MARKS, SHOTS, Page, expect, front_end, open_panel

pytestmark = BROWSER_MARKS

#: Fast enough for two videos in a row, slow enough that progress is seen.
FAST = {"SORA2_WIDGETS_EMULATOR_QUEUE_DELAY": "0.2", "SORA2_WIDGETS_EMULATOR_PROGRESS_TIME": "1"}


def _records(home: Path) -> list[Any]:
    with sw.History(home) as hist:
        return [r for r in hist.records() if r.status == "completed"]


def _has_audio(path: Path) -> bool:
    with av.open(str(path)) as container:
        return bool(container.streams.audio)


def _generate_and_wait(pg: Any, done_before: int, seconds: float) -> None:
    pg.locator("button.sw-generate").click()
    expect(pg.locator(".sw-panel .sw-card")).to_have_count(done_before + 1, timeout=60_000)
    wait_for_video(pg, seconds)


def test_veo_audio_toggle_and_kling3_image_upload_in_jupyterlab(page: Page, tmp_path: Path) -> None:
    from PIL import Image, ImageDraw

    pg = page.page
    SHOTS.mkdir(parents=True, exist_ok=True)
    with front_end("jupyterlab", tmp_path, FAST) as served:
        home = served.home
        panel = open_panel(pg, served)
        tab(pg, "Text → video")
        # Sora 2 beside Veo 3.1: Sora's group (Keep for remix ticked, its hint beside it) and Veo's.
        select_models(pg, "sora2_text_to_video", "veo31_text_to_video")
        groups = pg.locator(".sw-schema-settings .sw-settings-group:visible .sw-group-title")
        expect(groups).to_have_text(["All selected models", "Sora", "Veo"])
        keep = pg.locator(".sw-settings-sora .sw-setting-delete-video")
        expect(keep).to_contain_text("Keep for remix")
        expect(keep.locator("input[type=checkbox]")).to_be_checked()
        expect(pg.locator(".sw-setting-delete-video-hint")).to_contain_text("can be remixed later")
        panel.screenshot(path=str(SHOTS / "settings_lab_sora_and_veo.png"))
        select_models(pg, "veo31_text_to_video")
        # The model list marks each model: Sora 2 is retired, Veo 3.1 is new.
        models = pg.locator(".sw-models .sw-model-option:visible")
        expect(models.filter(has_text="Sora 2 ·").first.locator(".sw-badge")).to_have_text("retired 2026-09-24")
        expect(models.filter(has_text="Veo 3.1 ·").first.locator(".sw-badge")).to_have_text("new")
        settings = pg.locator(".sw-schema-settings")
        expect(settings).to_be_visible()
        expect(pg.locator(".sw-settings-sora")).to_be_hidden()  # Sora's settings only with a Sora model
        expect(settings.locator(".sw-settings-group:visible .sw-group-title")).to_have_text("Veo")
        settings.locator(".sw-setting-duration:visible select").select_option(label="4 s")
        audio = settings.locator(".sw-audio:visible input[type=checkbox]")
        expect(audio).to_be_checked()  # Veo's default: with sound
        cost = pg.locator(".sw-cost")
        expect(cost).to_contain_text("$1.60")  # 4 s × $0.40 (720p, audio)
        audio.uncheck()
        expect(cost).to_contain_text("$0.80")  # 4 s × $0.20 without audio
        # Advanced: hidden until asked for.
        seed = settings.locator(".sw-setting-seed input")
        expect(seed).to_be_hidden()
        settings.locator("button.sw-settings-advanced").click()
        expect(seed).to_be_visible()
        seed.fill("77")
        seed.press("Enter")
        pg.locator(".sw-prompt textarea").fill("A lighthouse in a storm, waves crashing")
        panel.screenshot(path=str(SHOTS / "settings_lab_veo_audio_off.png"))
        _generate_and_wait(pg, 0, 4.0)

        audio.check()
        expect(cost).to_contain_text("$1.60")
        _generate_and_wait(pg, 1, 4.0)
        panel.screenshot(path=str(SHOTS / "settings_lab_veo_two_videos.png"))
        veo = sorted((r for r in _records(home) if r.model_id == "veo31_text_to_video"), key=lambda r: r.id)
        assert [r.params["generate_audio"] for r in veo] == [False, True]
        assert [r.params.get("seed") for r in veo] == [77, 77]
        assert [_has_audio(r.local_path) for r in veo] == [False, True]

        # -- Kling 3.0 image-to-video from an upload ---------------------------------------------
        image = tmp_path / "start.png"
        with Image.new("RGB", (1280, 720), (30, 60, 120)) as im:
            ImageDraw.Draw(im).ellipse((440, 160, 840, 560), fill=(240, 180, 40))
            im.save(image)
        tab(pg, "Image → video")
        with pg.expect_file_chooser() as chooser:
            pg.locator("button.sw-upload").click()
        chooser.value.set_files(str(image))
        expect(pg.locator(".sw-image-error")).to_have_text("Start image: start.png", timeout=30_000)
        select_models(pg, "kling3_standard_image_to_video")
        expect(settings.locator(".sw-settings-group:visible .sw-group-title")).to_have_text("Kling")
        expect(settings.locator(".sw-setting-aspect-ratio:visible")).to_have_count(0)  # it follows the image
        expect(cost).to_contain_text("$0.63")  # 5 s × $0.126 with audio
        # Kling 3.0 takes an end frame too: its own optional picker, uploaded the same way.
        end = tmp_path / "end.png"
        with Image.new("RGB", (1280, 720), (200, 90, 30)) as im:
            im.save(end)
        expect(pg.locator(".sw-end-image .sw-image-title")).to_contain_text("End image (optional)")
        with pg.expect_file_chooser() as chooser:
            pg.locator("button.sw-end-image-upload").click()
        chooser.value.set_files(str(end))
        expect(pg.locator(".sw-end-image-error")).to_have_text("End image: end.png", timeout=30_000)
        pg.locator(".sw-prompt textarea").fill("The sun rises over a calm sea")
        panel.screenshot(path=str(SHOTS / "settings_lab_kling3_image.png"))
        _generate_and_wait(pg, 2, 5.0)
        panel.screenshot(path=str(SHOTS / "settings_lab_kling3_image_done.png"))
        (kling,) = [r for r in _records(home) if r.model_id == "kling3_standard_image_to_video"]
        stored = kling.params["start_image_url"]
        assert stored.startswith("http") and "/files/" in stored and "image_url" not in kling.params
        last = kling.params["end_image_url"]
        assert last.startswith("http") and "/files/" in last and last != stored
        assert _has_audio(kling.local_path)

        # -- Veo 3.1 Fast image-to-video from the same start frame ---------------------------------
        select_models(pg, "veo31_fast_image_to_video")
        expect(settings.locator(".sw-settings-group:visible .sw-group-title")).to_have_text("Veo")
        expect(pg.locator(".sw-end-image")).to_be_hidden()  # Veo's image-to-video takes no end frame
        settings.locator(".sw-setting-duration:visible select").select_option(label="4 s")
        expect(cost).to_contain_text("$0.60")  # 4 s × $0.15 (Fast, 720p, audio)
        pg.locator(".sw-prompt textarea").fill("A paper boat drifts across the pond")
        _generate_and_wait(pg, 3, 4.0)
        panel.screenshot(path=str(SHOTS / "settings_lab_veo_image_done.png"))
        (veo_image,) = [r for r in _records(home) if r.model_id == "veo31_fast_image_to_video"]
        sent = veo_image.params["image_url"]
        assert sent.startswith("http") and "/files/" in sent and "start_image_url" not in veo_image.params
        assert "end_image_url" not in veo_image.params
        assert _has_audio(veo_image.local_path)
        with av.open(str(veo_image.local_path)) as container:
            assert container.duration is not None and container.duration / av.time_base >= 3.9  # the 4 s asked for
