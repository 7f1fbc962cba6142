"""``sw.compare`` without a browser: which cells land where, what their captions say, and that a
rating goes to the ledger (and a bad one is refused before it gets there)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import sora2_widgets as sw
from sora2_widgets.experiments import Compare
from sora2_widgets.experiments._compare_grid import collect_ids

T2T, PRO, KLING = "sora2_text_to_video", "sora2_text_to_video_pro", "kling25_turbo_pro_text_to_video"
XSS = "A kite <img src=x onerror=alert(1)> & <b>bold</b>"


def _add(h: sw.History, tmp: Path, model: str, prompt: str, cost: int | None = 400_000, **params: Any) -> int:
    spec = sw.get_model(model)
    hid = h.add(
        model_id=model,
        endpoint=spec.endpoint,
        mode=spec.mode.value,
        provider="emulator",
        status="completed",
        prompt=prompt,
        cost_micros=cost,
        params_json=json.dumps({"duration": 4, **params}),
    )
    video = tmp / f"{hid}.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes([hid]) * 64)
    h.update(hid, local_path=str(video))
    return hid


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    h = sw.History(tmp_path / "history.sqlite")
    ids = [
        _add(h, tmp_path, T2T, "a red kite"),
        _add(h, tmp_path, PRO, "a red kite"),
        _add(h, tmp_path, T2T, "a blue boat", duration=8),
        _add(h, tmp_path, PRO, "a blue boat", cost=None),
    ]
    yield h, ids
    h.close()


def _sent(widget: Compare) -> list[tuple[dict[str, Any], list[Any]]]:
    out: list[tuple[dict[str, Any], list[Any]]] = []
    widget.send = lambda content, buffers=None: out.append((content, list(buffers or [])))  # type: ignore[method-assign]
    return out


def test_grid_is_prompts_by_models(ledger: Any) -> None:
    h, ids = ledger
    grid = sw.compare(h.df, history=h).grid
    assert grid.rows == ("a red kite", "a blue boat")
    assert grid.cols == ("Sora 2", "Sora 2 Pro")
    assert [[[c.history_id for c in grid.cell(r, c)] for c in range(2)] for r in range(2)] == [
        [[ids[0]], [ids[1]]],
        [[ids[2]], [ids[3]]],
    ]


def test_any_two_columns_and_a_filter(ledger: Any) -> None:
    h, ids = ledger
    grid = sw.compare(h.df, rows="duration", cols="prompt", history=h).grid
    assert grid.rows == ("4", "8") and grid.cols == ("a red kite", "a blue boat")
    assert [c.history_id for c in grid.cell(0, 0)] == ids[:2]  # two generations share a slot: both kept
    only = sw.compare(h.df, where={"model": PRO}, history=h).grid
    assert [c.history_id for c in only.cells] == [ids[1], ids[3]] and only.cols == ("Sora 2 Pro",)
    by_mask = sw.compare(h.df, where=lambda t: t["duration"] == 8, history=h).grid
    assert [c.history_id for c in by_mask.cells] == [ids[2]]


def test_captions_say_model_what_differs_cost_and_time(ledger: Any) -> None:
    h, ids = ledger
    cells = {c.history_id: c for c in sw.compare(h.df, history=h).grid.cells}
    first, last = cells[ids[0]], cells[ids[3]]
    assert first.title == "Sora 2" and last.title == "Sora 2 Pro"
    assert first.differs == "duration 4"  # prompt and model are the axes; duration varies
    assert cells[ids[2]].differs == "duration 8"
    assert first.facts.startswith("$0.40 (simulated) · took ")
    assert last.facts.startswith("cost not known")
    same = sw.compare(h.df, where={"duration": 4}, history=h).grid
    assert all(c.differs == "" for c in same.cells)  # nothing differs but the axes


def test_items_may_be_generations_records_ids_or_a_sweep(ledger: Any) -> None:
    h, ids = ledger
    gens = [sw.Generation(model_id=T2T, status="completed", history_id=i) for i in ids[:2]]
    assert collect_ids(gens) == ids[:2]
    assert collect_ids([h.get(i) for i in ids]) == ids
    assert collect_ids(h.df.loc[ids[1:3]]) == ids[1:3]

    class Sweep:  # the shape a sweep has: a .results frame with history ids (and wall times), its ledger
        results = pd.DataFrame({"history_id": [ids[3], ids[2], None], "seconds": [12.0, 30.0, None]})
        history = h

    widget = sw.compare(Sweep())  # no history given: the sweep's own
    grid = widget.grid
    widget.rate(ids[3], 5)
    assert int(h.df.loc[ids[3], "rating"]) == 5
    assert [c.history_id for c in grid.cells] == [ids[3], ids[2]]
    assert "took 12 s" in grid.cells[0].facts and "took 30 s" in grid.cells[1].facts


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda h: sw.compare(h.df, rows="colour", history=h), "rows must be one of the table's columns"),
        (lambda h: sw.compare(h.df, cols=None, history=h), "cols must be one of the table's columns"),
        (lambda h: sw.compare(h.df, rows="model", history=h), "rows and cols must name two different columns"),
        (lambda h: sw.compare(h.df, where="duration == 8", history=h), "where must be a mapping"),
        (lambda h: sw.compare("not items", history=h), "items must be"),
        (lambda h: sw.compare([True], history=h), "items must hold"),
        (lambda h: sw.compare([999], history=h), "the ledger does not have: #999"),
    ],
)
def test_bad_arguments_are_refused_by_name(ledger: Any, call: Any, message: str) -> None:
    h, _ids = ledger
    with pytest.raises((ValueError, TypeError, KeyError), match=message):
        call(h)


def test_a_rating_from_the_browser_is_in_the_ledger_of_another_process(ledger: Any) -> None:
    h, ids = ledger
    widget = sw.compare(h.df, history=h)
    sent = _sent(widget)
    index = next(i for i, c in enumerate(widget.grid.cells) if c.history_id == ids[1])
    widget._on_message(widget, {"type": "rate", "cell": index, "stars": 3}, [])
    h.rate(ids[1], 4)  # another kernel rates it meanwhile: a note saved here keeps those stars
    widget._on_message(widget, {"type": "rate", "cell": index, "notes": "best <kite>"}, [])
    assert sent == [({"type": "saved", "cell": index, "ok": True}, [])] * 2
    assert widget.cells[index]["rating"] == 4 and widget.cells[index]["notes"] == "best <kite>"
    code = (
        "import sys, sora2_widgets as sw; h = sw.History(sys.argv[1]); r = h.df.loc[int(sys.argv[2])];"
        " print(int(r['rating']), r['notes'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(h.path), str(ids[1])], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "4 best <kite>"  # stars kept when only the notes changed


@pytest.mark.parametrize("stars", [0, 6, 2.5, True, "5"])
def test_a_bad_rating_is_refused_and_the_ledger_untouched(ledger: Any, stars: object) -> None:
    h, ids = ledger
    widget = sw.compare(h.df, history=h)
    sent = _sent(widget)
    widget._on_message(widget, {"type": "rate", "cell": 0, "stars": stars}, [])
    assert sent[-1][0]["ok"] is False and "stars must be a whole number from 1 to 5" in sent[-1][0]["text"]
    with pytest.raises(ValueError, match="stars must be a whole number from 1 to 5"):
        widget.rate(ids[0], stars)  # type: ignore[arg-type]
    assert pd.isna(h.df.loc[ids[0], "rating"]) and widget.cells[0]["rating"] == 0


def test_rate_refuses_a_generation_not_in_the_grid(ledger: Any) -> None:
    h, ids = ledger
    widget = sw.compare(h.df, where={"model": T2T}, history=h)
    with pytest.raises(KeyError, match=f"#{ids[1]} is not in this comparison"):
        widget.rate(ids[1], 3)
    assert pd.isna(h.df.loc[ids[1], "rating"])


def test_videos_stream_over_the_comm_not_in_widget_state(ledger: Any, tmp_path: Path) -> None:
    h, _ids = ledger
    widget = sw.compare(h.df, history=h)
    state = json.dumps(widget.get_state(), default=str)
    assert str(tmp_path) not in state and "ftyp" not in state  # neither paths nor bytes
    sent = _sent(widget)
    widget._on_message(widget, {"type": "fetch", "request": "r1", "cell": 2}, [])
    ((head, buffers),) = sent
    assert head == {"type": "chunk", "request": "r1", "cell": 2, "index": 0, "total": 1}
    assert bytes(buffers[0]) == Path(str(h.df.loc[widget.grid.cells[2].history_id, "local_path"])).read_bytes()
    Path(str(h.df.loc[widget.grid.cells[2].history_id, "local_path"])).unlink()
    widget._on_message(widget, {"type": "fetch", "request": "r2", "cell": 2}, [])
    assert sent[-1][0]["type"] == "missing"


def test_text_reaches_the_browser_as_text(tmp_path: Path) -> None:
    with sw.History(tmp_path / "h.sqlite") as h:
        hid = _add(h, tmp_path, T2T, XSS, aspect_ratio="<i>16:9</i>")
        _add(h, tmp_path, T2T, "calm", aspect_ratio="9:16")
        h.rate(hid, 2, notes="<script>alert(1)</script>")
        widget = sw.compare(h.df, history=h)
    assert widget.row_labels[0] == XSS  # unchanged text: the browser sets it with textContent
    assert widget.cells[0]["differs"] == "aspect_ratio <i>16:9</i>"
    assert widget.cells[0]["notes"] == "<script>alert(1)</script>"
    js = (Path(sw.__file__).parent / "experiments" / "_compare.js").read_text()
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "outerHTML" not in js
