"""The Image tab: a start image by URL, upload or path, and its preview."""

from __future__ import annotations

import base64
import datetime
from pathlib import Path
from typing import Any

import pytest

from ._fakes import PNG, FakeGenerator
from ._helpers import IMG_KLING as IMG_KLING25
from ._helpers import shown


def test_image_tab_url_upload_and_path(panel: Any, generator: FakeGenerator, tmp_path: Path) -> None:
    ctl = panel.controller
    panel.tabs.selected_index = 1
    panel.prompt.value = "animate this"
    assert "Choose a start image (URL, upload or local path)." in ctl.blockers
    panel.image_url.value = "ftp://example.com/x.png"
    panel.image_use_url.click()
    assert "must start with https://" in panel.image_info.value
    panel.image_url.value = "https://example.com/start.png"
    panel.image_use_url.click()
    assert ctl.image is not None and ctl.image.image_url == "https://example.com/start.png"
    panel.upload.value = (
        {
            "name": "frame.png",
            "type": "image/png",
            "size": len(PNG),
            "content": memoryview(PNG),
            "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
        },
    )
    assert ctl.image is not None and ctl.image.image_url.startswith("data:image/png;base64,")
    # Streamed from the kernel on demand: the upload's bytes are no widget state (a saved notebook stays small).
    player = panel.image_source.image_player(ctl.image)
    assert player.source == PNG and player.layout.display != "none" and panel.image_preview.layout.display == "none"
    assert panel.upload.value == ()  # the bytes do not stay in widget state
    path = tmp_path / "local.png"
    path.write_bytes(PNG)
    panel.image_path.value = str(path)
    panel.image_load.click()
    assert ctl.image is not None and ctl.image.source == "path" and ctl.image.image_url.startswith("data:image/png")
    panel.generate.click()
    ctl.wait(10)
    # The file's bytes, which the generator uploads through fal's storage: never a data: URI the
    # user did not give (a pasted one is sent as is, below).
    assert generator.calls[-1][1]["image_url"] == PNG


def test_an_image_given_by_url_is_previewed_by_the_browser(panel: Any) -> None:
    ctl = panel.controller
    panel.tabs.selected_index = 1
    panel.image_url.value = "https://example.com/start.png"
    panel.image_use_url.click()
    assert ctl.image is not None and ctl.image.image_url == "https://example.com/start.png"
    assert panel.image_preview.format == "url"  # the browser fetches it; the kernel downloads nothing
    assert bytes(panel.image_preview.value) == b"https://example.com/start.png"
    assert panel.image_preview.layout.display != "none"
    # A pasted data: URI is decoded: the preview is the image itself.
    panel.image_url.value = "data:image/png;base64," + base64.b64encode(PNG).decode()
    panel.image_use_url.click()
    player = panel.image_source.image_player(ctl.image)
    assert player.source == PNG and player.layout.display != "none" and panel.image_preview.layout.display == "none"


KLING3_IMG, VEO_IMG = "kling3_standard_image_to_video", "veo31_image_to_video"


def _upload(widget: Any, name: str, data: bytes) -> None:
    widget.value = (
        {
            "name": name,
            "type": "image/png",
            "size": len(data),
            "content": memoryview(data),
            "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
        },
    )


def test_an_end_image_has_its_own_picker_and_goes_only_to_the_models_that_take_it(
    panel: Any, generator: FakeGenerator
) -> None:
    ctl = panel.controller
    panel.tabs.selected_index = 1
    ctl.select((VEO_IMG,))  # Veo 3.1 takes one image: no second picker
    assert ctl.extra_image_fields == {} and panel.image_source.extras_box.children == ()
    ctl.select((KLING3_IMG, VEO_IMG))
    (end,) = panel.image_source.extras_box.children
    picker = panel.image_source.extras["end_image_url"]
    assert picker.box is end and "End image (optional)" in picker.title.value
    assert "sent to Kling 3.0 Standard" in picker.title.value and "Veo" not in picker.title.value
    assert "nothing is sent" in picker.image_info.value
    panel.prompt.value = "the fox turns to the camera"
    panel.image_url.value = "https://example.com/start.png"
    panel.image_use_url.click()
    _upload(picker.upload, "last.png", PNG)
    assert ctl.extra_images["end_image_url"].label == "last.png" and picker.upload.value == ()
    assert "End image: last.png" in picker.image_info.value
    panel.generate.click()
    ctl.wait(10)
    sent = dict(generator.calls)
    assert sent[KLING3_IMG]["start_image_url"] == "https://example.com/start.png"
    assert sent[KLING3_IMG]["end_image_url"] == PNG  # bytes: the generator uploads them like the start frame
    assert "end_image_url" not in sent[VEO_IMG]


def test_an_end_image_left_empty_or_removed_sends_nothing(panel: Any, generator: FakeGenerator) -> None:
    ctl = panel.controller
    panel.tabs.selected_index = 1
    ctl.select((IMG_KLING25,))
    picker = panel.image_source.extras["tail_image_url"]
    assert "Tail image (optional)" in picker.title.value
    picker.image_url.value = "ftp://example.com/x.png"
    picker.image_use_url.click()
    assert "must start with https://" in picker.image_info.value and "tail_image_url" not in ctl.extra_images
    picker.image_url.value = "https://example.com/tail.png"
    picker.image_use_url.click()
    assert shown(picker.clear)
    picker.clear.click()
    assert "tail_image_url" not in ctl.extra_images and not shown(picker.clear)
    panel.prompt.value = "a slow zoom"
    panel.image_url.value = "https://example.com/start.png"
    panel.image_use_url.click()
    panel.generate.click()
    ctl.wait(10)
    ((_, params),) = generator.calls
    assert "tail_image_url" not in params and params["image_url"] == "https://example.com/start.png"
    with pytest.raises(ValueError, match="end_image_url is not an image input of the selected models"):
        ctl.set_extra_image("end_image_url", None)
