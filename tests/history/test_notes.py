"""Ratings, notes and tags: checked before anything is written, saved at once, seen by other processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.team.backends import current, open_history

from .ledger_rows import add


def test_rate_and_notes_are_saved_and_cleared(tmp_path: Path) -> None:
    h = open_history(tmp_path)
    hid = add(h)
    h.rate(hid, 4, notes="Nice light <b>on</b> the bridge")
    rec = h.get(hid)
    assert (rec.rating, rec.notes) == (4, "Nice light <b>on</b> the bridge")
    assert h.df.loc[hid, "rating"] == 4 and h.df.loc[hid, "notes"] == "Nice light <b>on</b> the bridge"
    h.rate(hid, 2)  # notes untouched when not given
    assert (h.get(hid).rating, h.get(hid).notes) == (2, "Nice light <b>on</b> the bridge")
    h.rate(hid, None, notes="")
    assert (h.get(hid).rating, h.get(hid).notes) == (None, "")
    assert str(h.df["rating"].dtype) == "Int64"


@pytest.mark.parametrize("stars", [0, 6, True, 3.0, "5", -1])
def test_bad_stars_are_refused_and_nothing_changes(tmp_path: Path, stars: object) -> None:
    h = open_history(tmp_path)
    hid = add(h)
    h.rate(hid, 3)
    with pytest.raises(ValueError, match=r"^stars must be a whole number from 1 to 5") as info:
        h.rate(hid, stars, notes="never written")  # type: ignore[arg-type]
    assert "\n" not in str(info.value)
    assert (h.get(hid).rating, h.get(hid).notes) == (3, "")


def test_rating_a_missing_row_says_so(tmp_path: Path) -> None:
    h = open_history(tmp_path)
    with pytest.raises(KeyError, match="no generation #41"):
        h.rate(41, 5)
    with pytest.raises(KeyError, match="no generation #41"):
        h.tag(41, "x")


def test_tags_add_once_in_order_and_come_off(tmp_path: Path) -> None:
    h = open_history(tmp_path)
    hid = add(h)
    assert h.tag(hid, "winner", " dusk ", "winner") == ("winner", "dusk")
    assert h.tag(hid, "dusk", "keep") == ("winner", "dusk", "keep")
    assert h.tag(hid, "winner", remove=True) == ("dusk", "keep")
    assert h.get(hid).tags == ("dusk", "keep")
    assert h.df.loc[hid, "tags"] == ("dusk", "keep")
    for bad in ("", "   ", "x" * 65):
        with pytest.raises(ValueError, match="each tag must be non-empty text of at most 64 characters"):
            h.tag(hid, "fine", bad)
    assert h.get(hid).tags == ("dusk", "keep")  # the good tag beside a bad one was not written either
    with pytest.raises(ValueError, match="notes must be text"):
        h.rate(hid, 3, notes=b"bytes")  # type: ignore[arg-type]


def test_a_rating_made_in_another_process_shows_here(tmp_path: Path) -> None:
    h = open_history(tmp_path)
    hid = add(h)
    assert h.df.loc[hid, "rating"] is not None  # a frame cached before the other process writes
    where = current().url_for(tmp_path) if h.backend == "postgresql" else str(h.path)
    script = (
        "import sys, sora2_widgets as sw\n"
        "h = sw.History(sys.argv[1])\n"
        "h.rate(int(sys.argv[2]), 5, notes='from elsewhere')\n"
        "print(h.tag(int(sys.argv[2]), 'team'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, where, str(hid)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    df = h.df
    assert (df.loc[hid, "rating"], df.loc[hid, "notes"], df.loc[hid, "tags"]) == (5, "from elsewhere", ("team",))
    assert json.loads(json.dumps(list(df.loc[hid, "tags"]))) == ["team"]


def test_replace_makes_the_tags_exactly_those_given(tmp_path: Path) -> None:
    h = open_history(tmp_path)
    hid = add(h)
    h.tag(hid, "winner", "dusk")
    assert h.tag(hid, "keep", " dusk ", "keep", replace=True) == ("keep", "dusk")
    assert h.get(hid).tags == ("keep", "dusk")
    with pytest.raises(ValueError, match="each tag must be non-empty text"):
        h.tag(hid, "fine", "", replace=True)
    with pytest.raises(ValueError, match="remove and replace cannot both be True"):
        h.tag(hid, "keep", remove=True, replace=True)
    assert h.get(hid).tags == ("keep", "dusk")  # neither refusal wrote anything
    assert h.tag(hid, replace=True) == ()  # no tags: the row has none left
    assert h.df.loc[hid, "tags"] == ()
    with pytest.raises(KeyError, match="no generation #41"):
        h.tag(41, "x", replace=True)
