"""Records and money: exact micro-dollars, stored parameters without big data URIs."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal

import pytest

import sora2_widgets as sw
from sora2_widgets.history import _records

#: Pure functions: no ledger is involved, so one run is enough.
NO_LEDGER = pytest.mark.sqlite_only("a pure function: no ledger is involved")


@pytest.mark.sqlite_only("reads the SQLite file's own storage classes (typeof)")
def test_money_is_exact_integers_in_the_file(filled: sw.History) -> None:
    conn = sqlite3.connect(filled.path)
    types = {t for (t,) in conn.execute("SELECT DISTINCT typeof(cost_micros) FROM generations")}
    assert types == {"integer", "null"}
    assert _records.to_micros("0.0000001") == 1  # sub-micro rounds up, never under-reports
    assert _records.from_micros(350000) == Decimal("0.35")


@NO_LEDGER
def test_big_data_uris_are_not_stored_verbatim() -> None:
    uri = "data:image/png;base64," + "A" * 10_000
    stored = _records.scrub_params({"image_url": uri, "duration": 4})
    assert stored["duration"] == 4 and len(stored["image_url"]) < 200 and "sha256" in stored["image_url"]


@NO_LEDGER
def test_times_are_fixed_width_utc_text_and_back() -> None:
    text = _records.now_iso()
    assert len(text) == len("2026-01-02T03:04:05.000006Z") and text.endswith("Z")
    when = _records.parse_iso(text)
    assert when.tzinfo is dt.timezone.utc and when.strftime(_records.ISO_FORMAT) == text


@NO_LEDGER
def test_money_round_trips_without_noise() -> None:
    assert _records.to_micros(Decimal("1.234567")) == 1_234_567 and _records.to_micros(2) == 2_000_000
    assert str(_records.from_micros(400_000)) == "0.4" and _records.from_micros(0) == 0
    assert _records.opt_money(None) is None and _records.opt_money(1) == Decimal("0.000001")
