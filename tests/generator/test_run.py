"""One job and batches (``generator._run``) against a fake client that implements the client contract:
budget, ledger row, submit, follow, cancel, and what each failure leaves behind."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import av
import pytest

import sora2_widgets as sw
from sora2_widgets.generator import UNKNOWN_SUBMIT
from tests._secrets import FAL_KEY, OPENAI_KEY
from tests.history.conftest import FakeClient
from tests.history.ledger_rows import dump
from tests.team.backends import open_history

from .gen_helpers import make


def test_generate_records_saves_and_costs(home: Path, fake: FakeClient) -> None:
    seen: list[sw.Progress] = []
    with make(fake, home) as gen:
        g = gen.generate(
            "sora2_text_to_video", prompt="a <b>cat</b> & dog", duration=8, delete_video=False, on_update=seen.append
        )
        rec = gen.history.get(g.history_id)
    assert g.status == rec.status == "completed"
    assert g.cost == rec.cost == Decimal("0.8")
    assert rec.estimate_low == rec.estimate_high == Decimal("0.8")
    assert rec.prompt == "a <b>cat</b> & dog" and rec.params["duration"] == 8
    assert rec.kept_for_remix and rec.video_id == g.video_id and rec.request_id
    assert g.local_path is not None and g.local_path.is_file() and g.local_path.parent == home / "media"
    assert hashlib.sha256(g.local_path.read_bytes()).hexdigest() == rec.sha256 == g.sha256
    with av.open(str(g.local_path)) as box:
        assert box.streams.video[0].codec_context.width == 320
    assert rec.thumbnail_path is not None and rec.thumbnail_path.is_file()
    stages = [p.stage for p in seen]
    assert stages[0] == "submitted" and "in_queue" in stages and "in_progress" in stages
    assert stages[-1] == "completed" and seen[-1].generation == g
    assert all(p.history_id == g.history_id for p in seen)
    html = g._repr_html_()
    assert "<video controls" in html and "<b>" not in html
    assert "completed" in repr(g) and "$0.80" in repr(g)
    assert fake.calls["submit"] == 1 and fake.results_by_request[rec.request_id] == 1


def test_budget_refusal_sends_nothing(home: Path, fake: FakeClient) -> None:
    with make(fake, home, budget="1.00") as gen:
        with pytest.raises(sw.BudgetExceededError) as err:
            gen.generate("sora2_text_to_video_pro", prompt="x", duration=4)  # $2.00 at 1080p
        assert "$2.00" in str(err.value) and "$1.00" in str(err.value)
        assert fake.calls["submit"] == 0 and len(gen.history) == 0
        g = gen.generate("sora2_text_to_video", prompt="x", duration=8)  # $0.80 fits
        assert g.cost == Decimal("0.8")
        with pytest.raises(sw.BudgetExceededError):  # 0.80 spent + 0.40 > 1.00
            gen.generate("sora2_text_to_video", prompt="x", duration=4)
        with pytest.raises(sw.BudgetExceededError):  # the batch as a whole: nothing sent
            gen.generate_many([{"model_id": "sora2_text_to_video", "prompt": "x"}] * 2)
        assert fake.calls["submit"] == 1 and len(gen.history) == 1


def test_budget_from_env(home: Path, fake: FakeClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SORA2_WIDGETS_BUDGET", "0.30")
    with make(fake, home) as gen, pytest.raises(sw.BudgetExceededError):
        gen.generate("sora2_text_to_video", prompt="x")
    assert fake.calls["submit"] == 0


def test_generate_many_one_failure_does_not_sink_the_rest(home: Path, fake: FakeClient) -> None:
    fake.outcome = {"sora2_text_to_video_pro": "unavailable", "kling25_turbo_pro_text_to_video": "fail"}
    with make(fake, home) as gen:
        outs = gen.generate_many(
            [
                {"model_id": "sora2_text_to_video", "prompt": "ok"},
                {"model_id": "sora2_text_to_video_pro", "prompt": "retired"},
                {"model_id": "kling25_turbo_pro_text_to_video", "prompt": "fails"},
                {"model_id": "sora2_text_to_video", "prompt": "x", "duration": 5},  # our validation
            ]
        )
        df = gen.history.df
    assert [o.status for o in outs] == ["completed", "unavailable", "failed", "failed"]
    assert outs[1].error_type == "ModelUnavailableError" and outs[1].cost == 0
    assert outs[2].cost == 0 and "content policy" in (outs[2].error or "")
    assert outs[3].history_id is None and outs[3].error_type == "ValidationError"
    # concurrent jobs: rows in any order; the invalid input recorded nothing
    assert sorted(zip(df["model_id"], df["status"])) == [
        ("kling25_turbo_pro_text_to_video", "failed"),
        ("sora2_text_to_video", "completed"),
        ("sora2_text_to_video_pro", "unavailable"),
    ]
    assert fake.calls["submit"] == 3


def test_auth_refusal_leaves_no_row_and_uncertain_submit_is_marked(home: Path, fake: FakeClient) -> None:
    fake.outcome = {"sora2_text_to_video": "auth", "sora2_text_to_video_pro": "uncertain"}
    with make(fake, home) as gen:
        with pytest.raises(sw.AuthError):
            gen.generate("sora2_text_to_video", prompt="x")
        assert len(gen.history) == 0
        with pytest.raises(sw.SubmitUncertainError):
            gen.generate("sora2_text_to_video_pro", prompt="x", duration=8)
        (rec,) = gen.history.records()
    # Not an ordinary failure: its own status, and the money it may have cost is reported apart.
    assert rec.status == "unknown" and rec.error and rec.error.startswith(UNKNOWN_SUBMIT)
    assert rec.cost is None and rec.estimate_high == Decimal("4") and rec.params["duration"] == 8
    hist = open_history(home)
    assert hist.total_spent() == 0 and hist.possibly_charged() == Decimal("4")
    assert list(hist.df["status"]) == ["unknown"]
    hist.close()


def test_cancel_by_history_id(home: Path, fake: FakeClient) -> None:
    fake.wait_delay = 5.0
    seen: list[sw.Progress] = []
    with make(fake, home) as gen:
        fut = gen._loop().submit(gen._one(0, "sora2_text_to_video", {"prompt": "x"}, seen.append))
        import time

        for _ in range(200):
            if any(p.stage == "in_queue" for p in seen):
                break
            time.sleep(0.01)
        assert gen.cancel(seen[0].history_id)  # type: ignore[arg-type]
        g = fut.result(timeout=10)
    assert g.status == "cancelled" and g.cost == 0 and fake.calls["cancel"] == 1 and fake.calls["result"] == 0


def test_secrets_never_reach_the_ledger(home: Path, fake: FakeClient, monkeypatch: pytest.MonkeyPatch) -> None:
    fal_key, openai_key = FAL_KEY, OPENAI_KEY
    monkeypatch.setenv("FAL_KEY", fal_key)
    hist = open_history(home)
    with make(fake, home) as gen:
        g = gen.generate("sora2_text_to_video", prompt="p", api_key=openai_key, delete_video=False)
        _ = gen.history.df  # builds the view too
    assert fake.sent_bodies[-1]["api_key"] == openai_key  # it was sent to the service, only there
    rec = hist.get(g.history_id)  # type: ignore[arg-type]
    assert rec.params.get("api_key_set") is True and "api_key" not in rec.params
    blobs = b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())
    assert hist.backend == "postgresql" or (home / "history.sqlite3-wal").exists()
    for secret in (fal_key, openai_key):
        assert secret.encode() not in blobs
        assert secret not in repr(g) and secret not in g._repr_html_()
    text = dump(hist)
    hist.close()
    assert openai_key not in text and fal_key not in text
