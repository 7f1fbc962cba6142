"""The submit marker and the matching rules of lost-submit recovery, without a service."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sora2_widgets._catalog import get_model
from sora2_widgets.client._platform_models import RequestRecord
from sora2_widgets.generator._marker import body_marker, marker_for, with_marker_seed
from sora2_widgets.generator._recover import RECOVERY_WINDOW, _match
from sora2_widgets.history import HistoryRecord

SQLITE_ONLY = True

SORA = get_model("sora2_text_to_video")
VEO = get_model("veo31_fast_text_to_video")
T0 = dt.datetime(2026, 12, 2, 5, 0, tzinfo=dt.timezone.utc)


@dataclass
class Row:
    id: int
    created_at: dt.datetime
    submit_marker: str
    model_id: str = SORA.id
    endpoint: str = SORA.endpoint


def _listed(request_id: str, body: Any, sent: dt.datetime, endpoint: str = SORA.endpoint) -> RequestRecord:
    return RequestRecord(request_id, endpoint, sent, sent, None, None, None, body, None)


def _rows(*rows: Row) -> list[HistoryRecord]:
    return cast("list[HistoryRecord]", list(rows))


BODY = {"prompt": "a harbour", "duration": 4}


def test_a_seed_is_chosen_only_where_the_model_takes_one_and_none_was_given() -> None:
    assert "seed" not in with_marker_seed(SORA, {"prompt": "x"})
    chosen = with_marker_seed(VEO, {"prompt": "x"})["seed"]
    assert isinstance(chosen, int) and 0 <= chosen < 2**31
    assert with_marker_seed(VEO, {"prompt": "x", "seed": 7})["seed"] == 7


def test_the_marker_is_the_body_sent_without_its_secrets() -> None:
    with_key = marker_for(SORA, {"prompt": "a harbour", "duration": 4, "api_key": "sk-secret-123"})
    without = marker_for(SORA, {"prompt": "a harbour", "duration": 4})
    assert with_key == without and "sk-secret" not in with_key
    # As a service may list it: the key masked as present, keys in another order.
    listed = {**SORA.validate({"prompt": "a harbour", "duration": 4}).public_params(), "api_key_set": True}
    assert body_marker(dict(reversed(listed.items())), SORA.input_model.SECRET_FIELDS) == with_key
    assert marker_for(SORA, {"prompt": "a harbour", "duration": 8}) != without


def test_identical_bodies_pair_one_to_one_and_never_with_a_held_request() -> None:
    mark = marker_for(SORA, BODY)
    body = SORA.validate(BODY).to_payload()
    rows = _rows(Row(1, T0, mark), Row(2, T0 + dt.timedelta(seconds=5), mark), Row(3, T0, mark))
    listed = [
        _listed("held", body, T0),
        _listed("b", body, T0 + dt.timedelta(seconds=6)),
        _listed("a", body, T0 + dt.timedelta(seconds=1)),
        _listed("early", body, T0 - dt.timedelta(hours=1)),  # sent long before the attempt
    ]
    soon = T0 + dt.timedelta(minutes=1)
    out = {rec.id: found for rec, found in _match(rows, listed, {"held"}, soon, RECOVERY_WINDOW)}
    assert {out[1].request_id, out[3].request_id} == {"a", "b"} and out[1].request_id != out[3].request_id
    assert out[2].outcome == "still_unknown"


def test_not_listed_is_not_created_only_after_the_window() -> None:
    rows = _rows(Row(1, T0, marker_for(SORA, BODY)))
    other = [_listed("x", {"prompt": "another"}, T0)]
    [(_, early)] = _match(rows, other, set(), T0 + dt.timedelta(minutes=5), RECOVERY_WINDOW)
    [(_, late)] = _match(rows, other, set(), T0 + RECOVERY_WINDOW, RECOVERY_WINDOW)
    assert early.outcome == "still_unknown" and late.outcome == "not_created"


def test_a_request_listed_without_its_input_keeps_the_row_unknown() -> None:
    rows = _rows(Row(1, T0, marker_for(SORA, BODY)))
    [(_, found)] = _match(rows, [_listed("x", None, T0)], set(), T0 + dt.timedelta(days=1), RECOVERY_WINDOW)
    assert found.outcome == "still_unknown" and "cannot be ruled out" in found.reason
