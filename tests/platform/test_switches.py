"""The emulator's Platform switches and flags: admin keys, lag, prices, deprecated and gone endpoints."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from sora2_widgets.emulator import Emulator, _serve
from sora2_widgets.emulator._options import PlatformSwitches
from tests._secrets import FAL_ADMIN_KEY


def test_switches_take_model_ids_and_refuse_bad_values() -> None:
    switches = PlatformSwitches(gone=frozenset({"sora2_text_to_video"}), price_changes={"sora2_text_to_video": "0.2"})
    assert switches.gone == {"fal-ai/sora-2/text-to-video"}
    assert switches.price_changes == {"fal-ai/sora-2/text-to-video": Decimal("0.2")}
    changed = PlatformSwitches(enum_changes={"sora2_text_to_video": {"duration": [4, 8]}})
    assert changed.enum_changes == {"fal-ai/sora-2/text-to-video": {"duration": (4, 8)}}
    with pytest.raises(ValueError, match="billing_lag"):
        PlatformSwitches(billing_lag=-1)
    with pytest.raises(ValueError, match="admin_keys"):
        PlatformSwitches(admin_keys="one-key")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="price_changes"):
        PlatformSwitches(price_changes={"sora2_text_to_video": 0.2})  # type: ignore[dict-item]


def test_a_retired_endpoint_is_gone_from_the_registry_too(tmp_path: Path) -> None:
    from sora2_widgets.emulator._platform_data import gone_endpoints

    emu = Emulator(state_dir=tmp_path, retired=["sora2_text_to_video"])
    try:
        assert "fal-ai/sora-2/text-to-video" in gone_endpoints(emu)
    finally:
        emu.close()


def test_the_command_line_sets_the_platform_switches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = tmp_path / "admin-keys"
    keys.write_text(f"{FAL_ADMIN_KEY}\n\n", encoding="utf-8")
    made: list[Emulator] = []
    monkeypatch.setattr(_serve, "serve", lambda *a, emulator, **k: made.append(emulator))
    argv = [
        "--state-dir", str(tmp_path / "state"), "--admin-key-file", str(keys), "--billing-lag", "300",
        "--price-change", "fal-ai/sora-2/text-to-video=0.12", "--billed-price", "sora2_text_to_video_pro=0.35",
        "--deprecate", "sora2_image_to_video", "--gone", "fal-ai/sora-2/video-to-video/remix",
    ]  # fmt: skip
    assert _serve.main(argv) == 0
    switches = made[0].platform
    assert switches.admin_keys == {FAL_ADMIN_KEY}
    assert switches.billing_lag == 300
    assert switches.price_changes == {"fal-ai/sora-2/text-to-video": Decimal("0.12")}
    assert switches.billed_prices == {"fal-ai/sora-2/text-to-video/pro": Decimal("0.35")}
    assert switches.deprecated == {"fal-ai/sora-2/image-to-video"}
    assert switches.gone == {"fal-ai/sora-2/video-to-video/remix"}


def test_an_unreadable_admin_key_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _serve.main(["--state-dir", str(tmp_path), "--admin-key-file", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--admin-key-file" in err


def test_a_bad_admin_key_is_refused_naming_its_variable_and_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    from sora2_widgets._config import resolve_admin_key
    from sora2_widgets._errors import ConfigError

    monkeypatch.setenv("FAL_ADMIN_KEY", FAL_ADMIN_KEY + " \u201d")
    with pytest.raises(ConfigError, match="FAL_ADMIN_KEY") as caught:
        resolve_admin_key()
    assert FAL_ADMIN_KEY not in str(caught.value)
    monkeypatch.setenv("FAL_ADMIN_KEY", "  ")
    assert resolve_admin_key() is None
    resolved = resolve_admin_key(FAL_ADMIN_KEY)
    assert resolved is not None and resolved.source == "the admin_key= argument"
    assert FAL_ADMIN_KEY not in repr(resolved)
