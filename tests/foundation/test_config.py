"""Configuration from the environment: the data directory, the key and the budget."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr

import sora2_widgets as sw
from sora2_widgets import ConfigError
from sora2_widgets._config import budget_from_env, data_dir, parse_usd, resolve_key


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET", "SORA2_WIDGETS_BUDGET", "SORA2_WIDGETS_HOME"):
        monkeypatch.delenv(name, raising=False)


def test_data_dir_defaults_to_the_home_folder_and_follows_the_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert data_dir() == Path.home() / ".sora2_widgets"
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "ledger"))
    assert data_dir() == tmp_path / "ledger"


def test_the_key_argument_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAL_KEY", "env-key")
    resolved = resolve_key(" arg-key ")
    assert resolved is not None
    assert resolved.secret.get_secret_value() == "arg-key"
    assert resolved.source == "the key= argument"
    assert "arg-key" not in repr(resolved)


def test_fal_key_then_the_id_secret_pair_then_none_for_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_key() is None
    monkeypatch.setenv("FAL_KEY_ID", "id")
    assert resolve_key() is None  # half a pair is no key
    monkeypatch.setenv("FAL_KEY_SECRET", "secret")
    pair = resolve_key()
    assert pair is not None and pair.secret.get_secret_value() == "id:secret"
    monkeypatch.setenv("FAL_KEY", "whole")
    whole = resolve_key()
    assert whole is not None and whole.secret.get_secret_value() == "whole"
    assert whole.source == "the FAL_KEY environment variable"


def test_a_blank_key_argument_means_no_key_and_a_secretstr_is_accepted() -> None:
    assert resolve_key("   ") is None
    resolved = resolve_key(SecretStr("k"))
    assert resolved is not None and resolved.secret.get_secret_value() == "k"


def test_budget_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert budget_from_env() is None
    monkeypatch.setenv("SORA2_WIDGETS_BUDGET", "  ")
    assert budget_from_env() is None  # blank is unset, as for FAL_KEY
    monkeypatch.setenv("SORA2_WIDGETS_BUDGET", "12.50")
    assert budget_from_env() == Decimal("12.50")
    monkeypatch.setenv("SORA2_WIDGETS_BUDGET", "$5")
    assert budget_from_env() == Decimal(5)
    for bad, words in (
        ("abc", "SORA2_WIDGETS_BUDGET must be an amount in USD such as 25, 12.50 or $12.50, got 'abc'"),
        ("-1", "SORA2_WIDGETS_BUDGET must be 0 or more, got '-1'"),
        ("NaN", "SORA2_WIDGETS_BUDGET must be a finite amount in USD, got 'NaN'"),
        ("Infinity", "SORA2_WIDGETS_BUDGET must be a finite amount in USD, got 'Infinity'"),
        ("1,500", "SORA2_WIDGETS_BUDGET must be written with digits and a decimal point only"),
    ):
        monkeypatch.setenv("SORA2_WIDGETS_BUDGET", bad)
        with pytest.raises(ConfigError) as info:
            budget_from_env()
        assert str(info.value) == words or str(info.value).startswith(words), str(info.value)
        assert info.value.field == "SORA2_WIDGETS_BUDGET"
        assert isinstance(info.value, ValueError) and isinstance(info.value, sw.Sora2Error)


# One parser for every way an amount arrives (issue 16, class 6): what one accepts, all accept.
ACCEPTED_AMOUNTS: list[tuple[object, Decimal]] = [
    ("25", Decimal(25)),
    ("12.50", Decimal("12.50")),
    ("$12.50", Decimal("12.50")),
    (" 7 ", Decimal(7)),
    ("0", Decimal(0)),
    ("-0", Decimal(0)),
    (".5", Decimal("0.5")),
    ("0.000001", Decimal("0.000001")),
    (25, Decimal(25)),
    (0.1, Decimal("0.1")),  # a float is read as it prints, not as 0.1000000000000000055…
    (Decimal("3.25"), Decimal("3.25")),
    (1_000_000_000, Decimal(1_000_000_000)),
]

REFUSED_AMOUNTS: list[tuple[object, str]] = [
    ("abc", "must be an amount in USD such as 25, 12.50 or $12.50, got 'abc'"),
    ("", "must be an amount in USD"),
    ("5 USD", "must be an amount in USD"),
    ("1e3", "must be an amount in USD"),  # nobody writes a budget with an exponent
    ("1_000", "must be written with digits and a decimal point only"),  # Decimal() would read it as 1000
    ("1,500", "must be written with digits and a decimal point only (1500 or 12.50, not 1,500 or 12,50)"),
    ("12,50", "must be written with digits and a decimal point only"),
    ("٥", "must be an amount in USD"),  # Decimal() would read an Arabic-Indic 5
    ("-1", "must be 0 or more, got '-1'"),
    ("$-1", "must be 0 or more"),
    ("-$1", "must be 0 or more"),
    ("+-1", "must be an amount in USD"),
    (-1, "must be 0 or more, got -1"),
    (Decimal("-0.01"), "must be 0 or more"),
    ("NaN", "must be a finite amount in USD, got 'NaN'"),
    ("sNaN", "must be a finite amount in USD"),
    ("Infinity", "must be a finite amount in USD, got 'Infinity'"),
    ("-inf", "must be a finite amount in USD"),
    (float("nan"), "must be a finite amount in USD, got nan"),
    (float("inf"), "must be a finite amount in USD, got inf"),
    (Decimal("Infinity"), "must be a finite amount in USD"),
    (Decimal("sNaN"), "must be a finite amount in USD"),
    (True, "not True/False"),
    (False, "not True/False"),
    (None, "got None"),
    ([5], "got list"),
    (b"5", "got bytes"),
    ("0.0000001", "must not have more than 6 decimal places"),
    ("1000000000.01", "must be at most 1000000000 USD"),
    ("9" * 40, "must be at most 1000000000 USD"),
    ("1\n2", "got '1\\n2'"),  # shown escaped: the message stays one line
]


@pytest.mark.parametrize(("value", "expected"), ACCEPTED_AMOUNTS, ids=repr)
def test_parse_usd_accepts_plain_amounts(value: object, expected: Decimal) -> None:
    got = parse_usd(value, field="budget=")
    assert got == expected and got.is_finite() and not got.is_signed()


@pytest.mark.parametrize(("value", "words"), REFUSED_AMOUNTS, ids=repr)
@pytest.mark.parametrize("field", ["SORA2_WIDGETS_BUDGET", "--budget", "budget="])
def test_parse_usd_refuses_with_one_sentence_naming_the_field(value: object, words: str, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_usd(value, field=field)
    err = info.value
    assert str(err).startswith(f"{field} ") and words in str(err), str(err)
    assert err.field == field and str(err) == f"{field} {err.reason}"
    assert "\n" not in str(err)
    assert err.__context__ is None or not isinstance(err.__context__, ArithmeticError)


def test_the_env_variable_and_parse_usd_agree_on_every_case(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, expected in ACCEPTED_AMOUNTS:
        if isinstance(value, str) and value.strip():
            monkeypatch.setenv("SORA2_WIDGETS_BUDGET", value)
            assert budget_from_env() == expected
    for value, words in REFUSED_AMOUNTS:
        if isinstance(value, str) and value.strip() and "\n" not in value:
            monkeypatch.setenv("SORA2_WIDGETS_BUDGET", value)
            with pytest.raises(ConfigError, match=r"^SORA2_WIDGETS_BUDGET "):
                budget_from_env()


@pytest.mark.parametrize("bad", [123, 1.5, b"key-bytes", ["k"], True, SecretStr(123)])  # type: ignore[arg-type]
def test_a_key_that_is_not_text_is_refused_naming_its_type_only(bad: object) -> None:
    # FalClient(key=123) used to end in "AttributeError: 'int' object has no attribute 'strip'".
    with pytest.raises(ConfigError) as info:
        resolve_key(bad)  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith("key= must be a fal key as text (a str or pydantic.SecretStr), got ")
    assert "123" not in message and "key-bytes" not in message


@pytest.mark.parametrize("bad", ["id:sec ret", "id:secret\nX", "id:\u201csecret\u201d", "id:s\x00"])
def test_a_key_with_characters_no_fal_key_has_is_refused_without_quoting_it(
    bad: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It would go into an HTTP header: at best refused there, at worst echoed by an HTTP library.
    with pytest.raises(ConfigError) as info:
        resolve_key(bad)
    assert info.value.field == "key=" and "only printable ASCII without spaces" in str(info.value)
    assert "secret" not in str(info.value).replace("a secret", "")
    if "\x00" in bad:
        return  # the OS keeps NUL out of environment variables itself
    monkeypatch.setenv("FAL_KEY", bad)
    with pytest.raises(ConfigError, match=r"^FAL_KEY contains a character a fal key cannot have"):
        resolve_key()
    monkeypatch.delenv("FAL_KEY")
    monkeypatch.setenv("FAL_KEY_ID", "id")
    monkeypatch.setenv("FAL_KEY_SECRET", bad.split(":", 1)[1])
    with pytest.raises(ConfigError, match=r"^FAL_KEY_SECRET contains"):
        resolve_key()


def test_the_client_refuses_a_key_that_is_not_text_before_anything_else() -> None:
    with pytest.raises(sw.ConfigError, match=r"^key= must be a fal key as text"):
        sw.FalClient(key=123)  # type: ignore[arg-type]
