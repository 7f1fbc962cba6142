"""Preparing a job (``generator._prepare``): remix sources are resolved and checked, and priced from
the source's duration, before anything is recorded or sent."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import sora2_widgets as sw
from tests.history.conftest import FakeClient

from .gen_helpers import make


def test_remix_rules_and_pricing(home: Path, fake: FakeClient) -> None:
    with make(fake, home) as gen:
        kept = gen.generate("sora2_text_to_video", prompt="kept", duration=12, delete_video=False)
        gone = gen.generate("sora2_text_to_video", prompt="deleted on service")  # delete_video defaults True
        kling = gen.generate("kling25_turbo_pro_text_to_video", prompt="kling")
        dele = gen.generate("sora2_text_to_video", prompt="deleted here", delete_video=False)
        gen.history.delete(dele.history_id)  # type: ignore[arg-type]
        for bad, words in ((gone, "delete_video=True"), (kling, "not Sora"), (dele, "deleted")):
            with pytest.raises(sw.ValidationError, match=words):
                gen.generate("sora2_video_to_video_remix", prompt="again", source=bad.history_id)
        with pytest.raises(sw.ValidationError, match="delete_video=True"):
            gen.generate("sora2_video_to_video_remix", prompt="again", video_id=gone.video_id)
        sent = fake.calls["submit"]
        remix = gen.generate(
            "sora2_video_to_video_remix", prompt="now at night", source=kept.history_id, delete_video=False
        )
        by_vid = gen.generate("sora2_video_to_video_remix", prompt="by id", video_id=kept.video_id)
        rec = gen.history.get(remix.history_id)  # type: ignore[arg-type]
        cands = gen.history.remix_candidates()
    assert fake.calls["submit"] == sent + 2
    assert fake.sent_bodies[-2]["video_id"] == kept.video_id
    assert rec.remixed_from == kept.history_id and rec.mode == "remix"
    assert remix.cost == Decimal("1.2") == rec.estimate_high  # 0.10 × 12 s of the source
    assert gen.history.get(by_vid.history_id).remixed_from == kept.history_id  # type: ignore[arg-type]
    assert list(cands.index) == [remix.history_id, kept.history_id]  # newest first; remix itself was kept
