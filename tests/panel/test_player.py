"""The media player: bytes go to a browser that asks for them, in chunks, and never into widget state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sora2_widgets.panel._player import CHUNK, MediaPlayer

from ._fakes import PNG


def _answers(player: MediaPlayer, content: Any) -> list[tuple[dict[str, Any], list[Any]]]:
    sent: list[tuple[dict[str, Any], list[Any]]] = []
    player.send = lambda msg, buffers=None: sent.append((msg, list(buffers or [])))
    player._on_message(player, content, [])
    return sent


def test_a_long_clip_goes_in_chunks_that_add_up_to_the_file(tmp_path: Path) -> None:
    clip = tmp_path / "long.mp4"
    clip.write_bytes(bytes(range(256)) * (CHUNK // 256 * 2 + 7))  # a bit over two chunks
    player = MediaPlayer(clip, "video/mp4")
    sent = _answers(player, {"type": "fetch", "request": "abc"})
    assert [m["index"] for m, _ in sent] == [0, 1, 2] and {m["total"] for m, _ in sent} == {3}
    assert all(len(b) == 1 and len(b[0]) <= CHUNK for _, b in sent)
    assert b"".join(bytes(b[0]) for _, b in sent) == clip.read_bytes()
    state = player.get_state()
    assert not any(isinstance(v, (bytes, memoryview)) for v in state.values())
    assert state["label"] == "long.mp4" and state["kind"] == "video"


@pytest.mark.parametrize(
    "content",
    [
        None,
        "fetch",
        {"type": "other"},
        {"type": "fetch"},
        {"type": "fetch", "request": 5},
        {"type": "fetch", "request": "x" * 65},
    ],
)
def test_anything_but_a_well_formed_fetch_is_ignored(tmp_path: Path, content: Any) -> None:
    (tmp_path / "a.png").write_bytes(PNG)
    assert _answers(MediaPlayer(tmp_path / "a.png", "image/png", kind="image"), content) == []


def test_a_file_gone_since_is_said_not_crashed(tmp_path: Path) -> None:
    player = MediaPlayer(tmp_path / "gone.mp4", "video/mp4")
    ((msg, buffers),) = _answers(player, {"type": "fetch", "request": "r"})
    assert msg["type"] == "missing" and "gone.mp4" in msg["text"] and buffers == []


def test_new_bytes_are_announced_by_a_revision_not_sent_as_state() -> None:
    chart = MediaPlayer(b"", "image/png", kind="image", label="spend chart")
    chart.set_source(PNG, "image/png")
    assert chart.revision == 1 and chart.read() == PNG and chart.label == "spend chart"
    ((msg, (buffer,)),) = _answers(chart, {"type": "fetch", "request": "r"})
    assert msg["mime"] == "image/png" and bytes(buffer) == PNG


def test_only_videos_and_images_are_played() -> None:
    with pytest.raises(ValueError, match="kind must be 'video' or 'image'"):
        MediaPlayer(b"", "audio/mpeg", kind="audio")
