"""Exports: the contact sheet and the HTML report (escaped, no script, movable as a folder)."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator

SORA = "sora2_text_to_video"
KLING = "kling25_turbo_pro_text_to_video"
HOSTILE = 'a kite <script>alert("p")</script> & <img src=x onerror=alert(1)>'
HOSTILE_NOTE = "</div><script>alert('n')</script><b onmouseover=alert(2)>"


@pytest.fixture()
def swept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[sw.Sweep, Path]:
    """A finished sweep (one hostile prompt, one rated row with hostile notes) and its home."""
    home = tmp_path / "home"
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(home))
    monkeypatch.delenv("FAL_KEY", raising=False)
    emu = Emulator(state_dir=home / "emulator", queue_delay=0.0, progress_time=0.05)
    s = sw.sweep([HOSTILE, "a lighthouse"], [SORA, KLING], name="<b>exported</b>")
    try:
        with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=sw.History(home), resume=False) as gen:
            results = s.run(generator=gen, progress="none")
            gen.history.rate(int(results["history_id"].iloc[0]), 4, notes=HOSTILE_NOTE)
    finally:
        emu.close()
    return s, home


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(k, v or "") for k, v in attrs]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


def test_every_exported_text_is_escaped_and_no_script(swept: tuple[sw.Sweep, Path], tmp_path: Path) -> None:
    s, _ = swept
    page_path = s.report(tmp_path / "out" / "report.html")
    page = page_path.read_text(encoding="utf-8")
    parsed = _parse(page)
    assert "script" not in parsed.tags and "img" not in parsed.tags and "b" not in parsed.tags
    assert not [k for k, _ in parsed.attrs if k.startswith("on")], "an event handler attribute got through"
    assert not re.search(r"<script|<img|<b[ >]", page, re.IGNORECASE)
    text = "".join(parsed.text)
    # The hostile prompt, note and sweep name are on the page, as text people can read.
    assert HOSTILE in text and HOSTILE_NOTE in text and "<b>exported</b>" in text
    assert "★★★★☆" in text
    assert "script-src 'none'" in page  # and the page's policy forbids a script anyway


def test_the_report_still_plays_from_a_copied_folder(swept: tuple[sw.Sweep, Path], tmp_path: Path) -> None:
    s, home = swept
    out = tmp_path / "share"
    s.report(out / "my report.html")
    moved = tmp_path / "elsewhere" / "unzipped"
    shutil.copytree(out, moved)
    shutil.rmtree(out)
    shutil.rmtree(home / "media")  # the data folder is gone too: only the copy remains
    page = (moved / "my report.html").read_text(encoding="utf-8")
    links = [v for k, v in _parse(page).attrs if k in ("src", "href", "poster")]
    assert len([v for v in links if v.endswith(".mp4")]) == 4
    from urllib.parse import unquote

    for link in links:
        assert "://" not in link and not link.startswith("/"), link
        target = (moved / unquote(link)).resolve()
        assert target.is_relative_to(moved.resolve()) and target.is_file(), link
        if target.suffix == ".mp4":
            assert target.read_bytes()[4:8] == b"ftyp"


def test_the_contact_sheet_has_one_captioned_cell_per_job(swept: tuple[sw.Sweep, Path], tmp_path: Path) -> None:
    s, _ = swept
    path = s.contact_sheet(tmp_path / "sheet.png")
    with Image.open(path) as sheet:
        assert sheet.format == "PNG"
        width, height = sheet.size
        # Four jobs, four columns: one row of 320 px cells with their captions under them.
        assert width == 8 + 4 * (320 + 8) and 180 < height < 2 * 180
        # Every cell holds its thumbnail: no cell is the grey "no picture" fill.
        for i in range(4):
            x = 8 + i * (320 + 8) + 160
            assert sheet.getpixel((x, 8 + 90)) != (208, 208, 208)
    two = s.contact_sheet(tmp_path / "two.png", columns=2)
    with Image.open(two) as sheet:
        assert sheet.size[0] == 8 + 2 * (320 + 8)
    with pytest.raises(sw.ConfigError, match=r"^path must end in \.png"):
        s.contact_sheet(tmp_path / "sheet.jpg")


def test_a_job_without_a_video_keeps_its_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "home"))
    s = sw.sweep(["a kite", "a harbour"], SORA, duration=4)
    page = s.report(tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.count('<div class="none">not run</div>') == 2 and "<video" not in page
    with Image.open(s.contact_sheet(tmp_path / "s.png")) as sheet:
        assert sheet.getpixel((8 + 160, 8 + 90)) == (208, 208, 208)


def test_the_notebook_view_of_a_sweep_escapes_its_prompts_and_name() -> None:
    s = sw.sweep([HOSTILE, "a lighthouse"], SORA, name="<i>named</i>", duration=[4, 8])
    page = s._repr_html_()
    parsed = _parse(page)
    assert not {"script", "img", "i"} & set(parsed.tags)
    text = "".join(parsed.text)
    assert HOSTILE in text and "<i>named</i>" in text and "4 jobs" in text
