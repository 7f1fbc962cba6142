"""Tags typed into a ``sw.compare`` cell: the row's tags become exactly those, in the ledger first."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import sora2_widgets as sw
from tests.experiments.test_compare import _sent
from tests.experiments.test_compare import ledger as ledger  # the fixture, used by name


def test_tags_typed_in_a_cell_replace_the_rows_tags_and_show_in_another_process(ledger: Any) -> None:
    h, ids = ledger
    h.tag(ids[1], "old")
    widget = sw.compare(h.df, history=h)
    index = next(i for i, c in enumerate(widget.grid.cells) if c.history_id == ids[1])
    assert widget.cells[index]["tags"] == ["old"]  # the field starts with what the ledger has
    sent = _sent(widget)
    widget._on_message(widget, {"type": "tag", "cell": index, "tags": " winner, <b>dusk</b> ,, winner, "}, [])
    assert sent == [({"type": "saved", "cell": index, "ok": True}, [])]
    assert widget.cells[index]["tags"] == ["winner", "<b>dusk</b>"]  # text as typed: the browser sets it as text
    code = "import sys, sora2_widgets as sw; print(list(sw.History(sys.argv[1]).get(int(sys.argv[2])).tags))"
    out = subprocess.run(
        [sys.executable, "-c", code, str(h.path), str(ids[1])], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "['winner', '<b>dusk</b>']"
    widget._on_message(widget, {"type": "tag", "cell": index, "tags": " "}, [])  # emptied: no tags left
    assert h.get(ids[1]).tags == () and widget.cells[index]["tags"] == []
    assert all(h.get(i).tags == () for i in ids if i != ids[1])  # the other cells' rows untouched


@pytest.mark.parametrize(("tags", "words"), [("fine, " + "x" * 65, "each tag must be"), (7, "tags must be text")])
def test_bad_tags_are_refused_and_the_ledger_untouched(ledger: Any, tags: object, words: str) -> None:
    h, ids = ledger
    h.tag(ids[0], "keep")
    widget = sw.compare(h.df, history=h)
    sent = _sent(widget)
    widget._on_message(widget, {"type": "tag", "cell": 0, "tags": tags}, [])
    assert sent[-1][0]["ok"] is False and words in sent[-1][0]["text"]
    assert widget.error == sent[-1][0]["text"]
    assert h.get(ids[0]).tags == ("keep",) and widget.cells[0]["tags"] == ["keep"]


def test_set_tags_refuses_a_generation_not_in_the_grid(ledger: Any) -> None:
    h, ids = ledger
    widget = sw.compare(h.df, where={"model": "sora2_text_to_video"}, history=h)
    with pytest.raises(KeyError, match=f"#{ids[1]} is not in this comparison"):
        widget.set_tags(ids[1], "x")
    assert h.get(ids[1]).tags == ()
