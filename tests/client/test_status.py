"""Status answers and events: SSE lines cut anywhere, log merging, secrets scrubbed from updates."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

import sora2_widgets as sw
from sora2_widgets.client._responses import Malformed
from sora2_widgets.client._status import Tracker, merge_logs, parse_logs, sse_lines, with_logs
from tests.client.loopback import event, fal_like, run_job


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_status_events_split_anywhere_are_read_whole(end: bytes) -> None:
    body = (
        b": keep-alive" + end + end
        + event({"status": "IN_QUEUE", "queue_position": 1}, end)
        + event({"status": "IN_PROGRESS", "logs": [{"message": "rendering"}]}, end)
        + event({"status": "COMPLETED", "logs": [{"message": "rendering"}, {"message": "done"}]}, end)
    )  # fmt: skip
    rng = random.Random(len(end))
    cuts = sorted(rng.sample(range(1, len(body)), 12))
    parts = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]

    server, result, updates = asyncio.run(run_job(fal_like(parts)))

    assert [u.status for u in updates] == ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]
    assert updates[0].queue_position == 1
    assert [line.message for line in updates[-1].logs] == ["rendering", "done"]
    assert result.url.endswith("/media/v.mp4") and result.width == 1280
    assert [s.method for s in server.seen] == ["POST", "GET", "GET"]  # submit, one stream, result
    assert server.connections == 1  # the stream's connection went back to the pool for the result


def test_sse_lines_handles_every_line_end_split_across_chunks() -> None:
    body = b"data: a\r\n\r\n: keep\rdata: b\rdata: c\r\r\ndata: d\n\ndata: e"
    expected = [b"data: a", b"", b": keep", b"data: b", b"data: c", b"", b"data: d", b"", b"data: e"]

    async def lines(parts: list[bytes]) -> list[bytes]:
        async def chunks() -> AsyncIterator[bytes]:
            for p in parts:
                yield p

        return [line async for line in sse_lines(chunks())]

    rng = random.Random(7)
    for _ in range(300):
        cuts = sorted(rng.sample(range(1, len(body)), rng.randint(0, 8)))
        parts = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        assert asyncio.run(lines(parts)) == expected, parts


def _job() -> sw.Job:
    return sw.Job("sora2_text_to_video", "fal-ai/sora-2/text-to-video", "r1", "s", "r", "c", 0.0, "fal")


def test_logs_accumulate_whether_events_carry_all_lines_or_only_new_ones() -> None:
    a, b, c = sw.LogLine("a"), sw.LogLine("b"), sw.LogLine("c")
    assert merge_logs((a,), (a, b)) == (a, b)  # the whole history again
    assert merge_logs((a, b), (c,)) == (a, b, c)  # only the new line
    assert merge_logs((a, b), (b,)) == (a, b)  # a replayed tail after a reconnect
    assert merge_logs((a, b), ()) == (a, b)  # an event without logs keeps them


def test_status_json_becomes_an_update_with_every_log_line_so_far() -> None:
    tracker = Tracker(_job())
    first = tracker.apply({"status": "IN_QUEUE", "queue_position": 2})
    assert (first.status, first.queue_position, first.logs) == ("IN_QUEUE", 2, ())
    tracker.apply({"status": "IN_PROGRESS", "logs": [{"message": "one", "level": "DEBUG", "timestamp": "t1"}]})
    done = tracker.apply({"status": "COMPLETED", "logs": ["two"], "error": [{"msg": "boom"}], "error_type": "x"})
    assert [(line.message, line.level, line.timestamp) for line in done.logs] == [
        ("one", "DEBUG", "t1"),
        ("two", "INFO", None),
    ]
    assert done.failed and done.error == "boom" and done.error_type == "x"
    assert tracker.apply({"status": "IN_QUEUE", "queue_position": True}).queue_position is None


@pytest.mark.parametrize("data", [{"status": "DONE"}, {}, ["COMPLETED"], "COMPLETED"])
def test_an_answer_without_a_known_status_is_malformed(data: object) -> None:
    with pytest.raises(Malformed):
        Tracker(_job()).apply(data)


def test_secrets_are_scrubbed_from_log_lines_and_errors() -> None:
    tracker = Tracker(_job(), secrets=("hunter2",))
    update = tracker.apply(
        {"status": "COMPLETED", "logs": [{"message": "key hunter2 refused"}], "error": "bad key hunter2"}
    )
    assert update.logs[0].message == "key ********** refused" and update.error == "bad key **********"


def test_parse_logs_and_with_logs() -> None:
    assert parse_logs(None) == () and parse_logs([3, "x"]) == (sw.LogLine("x"),)
    assert with_logs("https://q/status", True) == "https://q/status?logs=1"
    assert with_logs("https://q/status?a=b", False) == "https://q/status?a=b&logs=0"
