"""The ``make_emu`` fixtures' one factory: emulators on the test's temp state dir, closed after it."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sora2_widgets.emulator import Emulator


def emulator_maker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **defaults: Any
) -> Iterator[Callable[..., Emulator]]:
    """Yields ``make(**options)``: an :class:`Emulator` with ``defaults`` under ``options``; every one
    made is closed afterwards and its stored files removed (a suite leaves no videos behind)."""
    # Each emulator gets its own copy: some options (PlatformSwitches, Faults) are changed at run time.
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "home"))
    made: list[Emulator] = []

    def make(**options: Any) -> Emulator:
        emu = Emulator(**{"state_dir": tmp_path / "emulator", **copy.deepcopy(defaults), **options})
        made.append(emu)
        return emu

    yield make
    for emu in made:
        emu.close()
        shutil.rmtree(emu.state_dir / "storage" / "files", ignore_errors=True)
