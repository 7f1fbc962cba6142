"""A hostile fal that echoes the keys back in every place an answer can carry text (issue 16, class 8).

The keys come back whole, as the fal key's secret half, upper- and lower-cased and cut to 16
characters, in error ``detail`` strings and lists, ``X-Fal-Error-Type``, status logs, the status
``error``, result fields and webhook-like fields. A real :class:`Generator` runs each case with a
temporary home; then the exception (and everything chained to it), the DEBUG log, the ledger's files,
a CSV export and the CLI's ``history`` output are searched for any fragment of either key.

The search is wider than the suite's leak check (tests/_leak_check.py, exact values): every half of 8+
characters and every 12-character run, in any case. A new kind of secret (an admin key, a database
password) is one more entry in ``tests._secrets.SECRETS``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import sora2_widgets as sw
from sora2_widgets import cli
from sora2_widgets.client._redact import MIN_ECHO, MIN_PART
from tests._leak_check import exception_texts
from tests._secrets import OPENAI_KEY, SECRETS
from tests.client.fakefal import KEY, QUEUE, FakeFal

FAST = sw.RetryPolicy(attempts=2, base=0.001, cap=0.002)
PROMPT = "a lighthouse in a storm, seen from a boat"


def echoes(secret: str) -> list[str]:
    """The ways a careless server says a key back: whole, its secret half, in other cases, cut short."""
    out = [secret, secret.upper(), secret.lower(), secret[:16], secret.swapcase()[:16]]
    if ":" in secret:
        half = secret.split(":", 1)[1]
        out += [half, half.upper()]
    return out


ECHO = " | ".join(echoes(KEY) + echoes(OPENAI_KEY))


def fragments() -> dict[str, str]:
    """Every piece of every known secret that must never be found: halves of 8+ characters and
    each MIN_ECHO-character run, lower-cased (the search is case-insensitive), by a name to report."""
    found: dict[str, str] = {}
    for name, secret in SECRETS.items():
        low = secret.lower()
        for i, half in enumerate(low.split(":")):
            if len(half) >= MIN_PART:
                found[f"part {i} of {name}"] = half
        for at in range(len(low) - MIN_ECHO + 1):
            found[f"{name}[{at}:{at + MIN_ECHO}]"] = low[at : at + MIN_ECHO]
    return found


FRAGMENTS = fragments()


def found_in(text: str | bytes, where: str) -> list[str]:
    low = (text.decode("utf-8", "replace") if isinstance(text, bytes) else text).lower()
    return [f"{name} in {where}" for name, piece in FRAGMENTS.items() if piece in low]


class Hostile:
    """FakeFal's protocol, with every answer made to carry ECHO wherever it can hold text."""

    def __init__(self, case: str) -> None:
        self.case = case
        self.fake = FakeFal()
        self.submits = 0

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        action = self.fake._action(request)
        loud = {"x-fal-error-type": ECHO, "x-echo": ECHO}
        if action == "submit":
            self.submits += 1
            if self.case == "submit-400":
                return httpx.Response(400, json={"detail": ECHO, "error_type": ECHO, "input": ECHO}, headers=loud)
            if self.case == "submit-422":
                item = {"loc": ["body", ECHO], "msg": ECHO, "type": ECHO, "input": ECHO, "ctx": {"k": ECHO}}
                return httpx.Response(422, json={"detail": [item, ECHO]}, headers=loud)
        response = await self.fake.handle(request)
        if action == "status":
            data = json.loads(response.content)
            data["logs"] = [*(data.get("logs") or []), {"message": ECHO, "level": "INFO", "timestamp": ECHO}]
            if self.case == "job-error" and data["status"] == "COMPLETED":
                data.update(error=ECHO, error_type=ECHO)
            return httpx.Response(response.status_code, json=data, headers=loud)
        if action == "result":
            if self.case == "result-500":
                return httpx.Response(
                    500, json={"detail": [{"msg": ECHO, "loc": [ECHO]}], "error_type": ECHO}, headers=loud
                )
            data = json.loads(response.content)
            data.update(
                echo=ECHO,
                webhook_url=f"https://hooks.example.com/{ECHO}",
                input={"prompt": PROMPT, "api_key": ECHO},
                logs=[ECHO, {"message": ECHO}],
                **{ECHO: ECHO},
            )
            return httpx.Response(200, json=data, headers=loud)
        return response


CASES = ["submit-400", "submit-422", "job-error", "result-500", "success"]


def texts_of(exc: BaseException | None) -> Iterator[tuple[str, str]]:
    if exc is not None:
        yield from exception_texts(exc)


@pytest.mark.parametrize("case", CASES)
def test_no_fragment_of_a_key_survives_an_echoing_server(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    home = tmp_path / "home"
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(home))
    for name in ("FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET"):
        monkeypatch.delenv(name, raising=False)
    caplog.set_level(logging.DEBUG)
    server = Hostile(case)
    client = sw.AsyncFalClient(
        KEY, queue_url=QUEUE, transport=server.transport(), retry=FAST, use_stream=False,
        poll_interval=0.001, max_poll_interval=0.002,
    )  # fmt: skip
    caught: BaseException | None = None
    updates: list[Any] = []
    with sw.History(home) as history, sw.Generator(client=client, history=history, resume=False) as gen:
        try:
            done = gen.generate("sora2_text_to_video", prompt=PROMPT, api_key=OPENAI_KEY, on_update=updates.append)
        except sw.Sora2Error as exc:
            caught = exc
        else:
            assert case == "success" and done.status == "completed"
            assert done.result is not None and done.result.raw["input"]["prompt"] == PROMPT
        rows = history.records()
        exported = io.StringIO()
        history.df.to_csv(exported, quoting=csv.QUOTE_ALL)
    assert server.submits == 1  # each case really reached the server, once
    assert (caught is None) == (case == "success")
    if caught is None:
        assert [row.status for row in rows] == ["completed"]

    assert cli.main(["history"]) == 0
    shown = capsys.readouterr()

    leaks: list[str] = []
    for where, text in texts_of(caught):
        leaks += found_in(text, where)
    leaks += found_in("\n".join(r.getMessage() for r in caplog.records), "the DEBUG log")
    leaks += found_in(repr(rows), "the ledger's records")
    leaks += found_in(exported.getvalue(), "the CSV export")
    leaks += found_in(shown.out + shown.err, "the CLI's output")
    for path in sorted(p for p in home.rglob("*") if p.is_file()):  # the ledger, its -wal, the snapshot
        leaks += found_in(path.read_bytes(), path.name)
    assert sorted({leak.split(" in ", 1)[1] for leak in leaks}) == []  # where, never which value


@pytest.mark.parametrize("case", ["job-error"])
def test_no_fragment_reaches_the_progress_updates(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "home"))
    server = Hostile(case)
    client = sw.AsyncFalClient(
        KEY, queue_url=QUEUE, transport=server.transport(), retry=FAST, use_stream=False,
        poll_interval=0.001, max_poll_interval=0.002,
    )  # fmt: skip
    updates: list[Any] = []
    with sw.History(tmp_path / "home") as history, sw.Generator(client=client, history=history, resume=False) as gen:
        with pytest.raises(sw.Sora2Error):
            gen.generate("sora2_text_to_video", prompt=PROMPT, api_key=OPENAI_KEY, on_update=updates.append)
    assert updates  # the job was followed
    assert sorted({leak.split(" in ", 1)[1] for leak in found_in(repr(updates), "the progress updates")}) == []
