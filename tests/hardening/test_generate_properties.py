"""``generate`` with invalid input, through a counting emulator: nothing is sent, nothing is written.

DESIGN §5: invalid input never reaches fal. Here the fal side is the loopback emulator, which counts
every request it gets (``Emulator.stats``), and the ledger is a real one holding a real, kept Sora
video (so that a remix source read from garbage would find something to remix). For every model
and every one of its inputs, an input invalid by construction must end in the package's
ValidationError naming it, with the emulator's counters unchanged and the ledger's files
byte-identical. Public API only: ``sw.Generator`` is what ``sw.generate`` calls.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator
from tests.hardening._garbage import INPUTS, invalid_params
from tests.hardening._profile import examples
from tests.hardening.test_validation_properties import assert_clean_refusal

REMIX = "sora2_video_to_video_remix"


@dataclass
class World:
    generator: sw.Generator
    emulator: Emulator
    ledger: Path
    kept: sw.Generation

    def snapshot(self) -> tuple[dict[str, int], dict[str, str]]:
        """What a request or a write would change: the emulator's counters, the ledger's bytes."""
        files = {}
        for path in (self.ledger, self.ledger.with_name(self.ledger.name + "-wal")):
            files[path.name] = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"
        return self.emulator.stats, files


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("hardening-home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SORA2_WIDGETS_HOME", str(home))
        for name in ("SORA2_WIDGETS_BUDGET", "FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET", "SORA2_WIDGETS_QUEUE_URL"):
            env.delenv(name, raising=False)
        emu = Emulator(state_dir=home / "emulator", queue_delay=0.02, progress_time=0.05)
        history = sw.History(home)
        try:
            with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=history, resume=False) as gen:
                kept = gen.generate(
                    "sora2_text_to_video", prompt="a kite, kept for remix", duration=4, delete_video=False
                )
                assert kept.ok and emu.stats["submits"] == 1  # the counter counts: a real request was seen
                yield World(gen, emu, history.path, kept)
        finally:
            history.close()
            emu.close()


@pytest.mark.parametrize(("model_id", "name"), INPUTS)
@examples(6)
@given(data=st.data())
def test_invalid_input_sends_nothing_and_leaves_the_ledger_as_it_was(
    world: World, model_id: str, name: str | None, data: st.DataObject
) -> None:
    params, bad = data.draw(invalid_params(sw.get_model(model_id), name), label="params, bad input")
    before = world.snapshot()
    with pytest.raises(sw.ValidationError) as info:
        world.generator.generate(model_id, **params)
    assert_clean_refusal(info.value)
    # It names what it refused: ``bad``, or an input checked before it (a local image is read and
    # decoded before the schema runs, so a bad image is reported alone).
    assert info.value.errors and all(e.field for e in info.value.errors)
    assert world.snapshot() == before, f"{bad}={params[bad]!r} reached the emulator or the ledger"


# -- a remix's source and video_id are checked before the ledger is read (issue 16, classes 1 and 5) --------
@pytest.mark.parametrize("source", [True, False, 1.9, 1.0, 0, -1, "abc", b"1", [1]])
def test_a_remix_source_that_is_not_a_row_id_is_refused_and_sends_nothing(world: World, source: object) -> None:
    assert world.kept.history_id == 1  # the row int(source) finds: a kept Sora video, remixable
    before = world.snapshot()
    try:
        with pytest.raises(sw.ValidationError, match="source"):
            world.generator.generate(REMIX, prompt="now at night", source=source)
    finally:
        assert world.snapshot() == before


def test_a_remix_video_id_that_cannot_be_encoded_is_refused_before_the_ledger_is_read(world: World) -> None:
    with pytest.raises(sw.ValidationError, match="video_id contains a lone surrogate"):
        world.generator.generate(REMIX, prompt="now at night", video_id="video_\ud800")
