"""``sora2-widgets budget`` and ``--database``, and who/where on a row, as a user sees them."""

from __future__ import annotations

from pathlib import Path

import pytest

import sora2_widgets as sw
from sora2_widgets.cli import main

from ._server import PgServer


@pytest.fixture(scope="module")
def server(pg_server: PgServer) -> PgServer:
    """The session's one server: nothing here stops or restarts it (the other team modules do, so
    they keep servers of their own)."""
    return pg_server


def test_budget_set_show_and_clear_on_the_team_ledger(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["budget"]) == 0
    assert "No budget is set in the ledger postgresql://sw_team@127.0.0.1:" in capsys.readouterr().out
    assert main(["budget", "set", "100", "--period", "month"]) == 0
    out = capsys.readouterr().out
    assert "$100.00 per month" in out and "left: $100.00" in out
    with sw.History() as hist:
        team = hist.budget()
        assert team is not None and team.amount == 100 and team.period == "month"
    assert main(["budget", "clear"]) == 0
    assert "No budget is set" in capsys.readouterr().out


def test_bad_budget_input_is_refused_before_anything_is_written(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["budget", "set", "1,500"])
    assert ended.value.code == 2 and "1,500" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["budget", "set", "10", "--period", "year"])
    with sw.History() as hist, pytest.raises(sw.ConfigError, match="period"):
        hist.set_budget(10, period="year")  # type: ignore[arg-type]
    with sw.History() as hist, pytest.raises(sw.ConfigError, match="amount"):
        hist.set_budget(True)  # type: ignore[arg-type]
    with sw.History() as hist:
        assert hist.budget() is None


def test_database_option_refuses_a_password_on_the_command_line(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["--database", url, "budget"])
    err = capsys.readouterr().err
    assert ended.value.code == 2 and "must not hold a password" in err


def test_rows_say_who_and_where_and_media_can_be_shared(
    url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SORA2_WIDGETS_USER", "carol")
    monkeypatch.setenv("SORA2_WIDGETS_MEDIA", str(tmp_path / "shared"))
    with sw.History() as hist:
        rec = hist.get(hist.add(model_id="sora2_text_to_video", endpoint="e", mode="text", provider="fal"))
        assert rec.user == "carol" and rec.machine and hist.media_dir == tmp_path / "shared"
        assert list(hist.spend(by="user").index) == ["carol"]
