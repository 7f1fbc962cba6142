"""What callers get back (``generator._generation``): Progress, and Generation with its notebook HTML."""

from __future__ import annotations

import base64
from decimal import Decimal
from pathlib import Path

import pytest

import sora2_widgets as sw
from sora2_widgets.generator import Generation, Progress


def test_progress_is_done_only_with_its_generation() -> None:
    g = Generation(model_id="sora2_text_to_video", status="completed")
    assert not Progress(0, g.model_id, "in_queue").done
    assert Progress(0, g.model_id, "completed", generation=g).done


def test_raise_for_status_returns_a_completed_generation_and_raises_the_jobs_error() -> None:
    ok = Generation(model_id="m", status="completed")
    assert ok.raise_for_status() is ok
    with pytest.raises(sw.AuthError, match="refused"):
        Generation(model_id="m", status="failed", exception=sw.AuthError("refused")).raise_for_status()
    with pytest.raises(sw.Sora2Error, match="generation 7 ended cancelled"):
        Generation(model_id="m", status="cancelled", history_id=7).raise_for_status()


def test_repr_says_what_a_reader_needs() -> None:
    g = Generation(
        model_id="sora2_text_to_video", status="completed", history_id=3, cost=Decimal("0.4"), video_id="video_1"
    )
    assert repr(g) == "Generation(#3 sora2_text_to_video completed $0.40, video_id='video_1')"
    assert "not recorded" in repr(Generation(model_id="m", status="failed", error="bad input"))


def test_every_text_in_the_html_is_escaped() -> None:
    failed = Generation(model_id="m<i>", status="failed", error='<script>alert("x")</script>')
    html = failed._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html and "m&lt;i&gt;" in html
    done = Generation(model_id="m", status="completed", local_path=Path("/no/such/<b>.mp4"), url="javascript:x")
    html = done._repr_html_()
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert "video not available locally" in html  # a non-http URL is never a video source


def test_a_video_beside_the_notebook_is_linked_relatively(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "media").mkdir()
    video = tmp_path / "media" / "a b.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypisom")
    g = Generation(model_id="m", status="completed", local_path=video)
    assert g._video_src() == ("media/a%20b.mp4", "local file")
    assert 'src="media/a%20b.mp4"' in g._repr_html_()


def test_a_hidden_path_is_embedded_when_small_and_linked_to_the_service_when_large(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".hidden").mkdir()
    video = tmp_path / ".hidden" / "v.mp4"  # Jupyter does not serve hidden paths
    video.write_bytes(b"\x00\x00\x00\x18ftypisom")
    g = Generation(model_id="m", status="completed", local_path=video, url="https://cdn.example/v.mp4")
    src, how = g._video_src()  # type: ignore[misc]
    assert how == "embedded" and base64.b64decode(src.split(",", 1)[1]) == video.read_bytes()
    monkeypatch.setattr(Generation, "embed_limit", 4)
    assert g._video_src() == ("https://cdn.example/v.mp4", "service URL")
