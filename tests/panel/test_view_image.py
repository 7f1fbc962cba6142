"""The Image tab: a start image by URL, upload or path, and its preview."""

from __future__ import annotations

import base64
import datetime
from pathlib import Path
from typing import Any

from ._fakes import PNG, FakeGenerator


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
