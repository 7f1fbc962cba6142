"""DESIGN §5: a secret (FAL_KEY, an OpenAI ``api_key``) never lands in the ledger, the media
folder, a log line, a repr/str of a public object, an exception message or a saved notebook.

Every test here runs against an emulator on loopback that *requires* the fal key (so it is really
sent) and checks that the ``api_key`` really reached it, then searches byte for byte:

* a session of the Python API: reprs, HTML, exceptions, ledger, media, emulator state, DEBUG logs;
* the DEBUG logs of generations whose submit, stream, result and polls fail and are retried;
* the quickstart notebook run in a real kernel, both keys used, saved with its widget state.

The suite-wide check (tests/_leak_check.py) searches every other test's output on top of this.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sora2_widgets as sw
from sora2_widgets.emulator._emulator import Emulator
from sora2_widgets.emulator._serve import running_emulator
from tests._secrets import FAL_KEY, OPENAI_KEY, SECRETS, WRONG_FAL_KEY

ROOT = Path(__file__).resolve().parents[2]
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


#: Loggers at DEBUG during a session: ours, and the HTTP stack's (it sees headers and bodies).
LOGGERS = ("", "sora2_widgets", "httpx", "httpcore")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def lines(self) -> list[str]:
        # The formatted line (with any traceback) and the raw record: a structured-logging handler
        # would ship its args and extra fields too.
        return [f"{self.format(r)}\n{vars(r)!r}" for r in self.records]


def _hits(blob: bytes | str, where: str) -> list[str]:
    data = blob.encode() if isinstance(blob, str) else blob
    return [f"{where}: contains {name}" for name, value in SECRETS.items() if value.encode() in data]


@contextlib.contextmanager
def debug_logs() -> Iterator[_Collect]:
    """Every record of every logger, with ours and the HTTP stack's at DEBUG."""
    handler = _Collect()
    loggers = [logging.getLogger(name) for name in LOGGERS]
    old = [lg.level for lg in loggers]
    loggers[0].addHandler(handler)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        loggers[0].removeHandler(handler)
        for lg, level in zip(loggers, old):
            lg.setLevel(level)


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FAL_KEY", FAL_KEY)
    emu = Emulator(state_dir=tmp_path / "emulator", queue_delay=0.0, progress_time=0.05, require_key=FAL_KEY)
    try:
        with debug_logs() as handler, running_emulator(emu) as base_url:
            yield {"base_url": base_url, "home": tmp_path / "home", "emu": emu, "handler": handler}
    finally:
        emu.close()


def _files(root: Path) -> Iterator[Path]:
    yield from (p for p in root.rglob("*") if p.is_file())


def test_no_secret_anywhere_after_a_session(session: dict[str, Any]) -> None:
    base_url = session["base_url"]
    problems: list[str] = []
    objects: list[object] = []
    errors: list[BaseException] = []

    client = sw.AsyncFalClient(queue_url=base_url, poll_interval=0.02)
    assert client.provider == "fal"  # the key came from FAL_KEY and is really used
    history = sw.History()
    with sw.Generator(client=client, history=history, resume=False) as gen:
        good = gen.generate("sora2_text_to_video", prompt="a secretless fox", duration=4, api_key=OPENAI_KEY)
        assert good.ok, good.error
        many = gen.generate_many(
            [
                {"model_id": "sora2_text_to_video_pro", "prompt": "pro", "resolution": "720p", "api_key": OPENAI_KEY},
                {"model_id": "sora2_text_to_video", "prompt": "bad duration", "duration": 5, "api_key": OPENAI_KEY},
            ]
        )
        objects += [gen, good, *many, history, *history.records(), client]
        errors += [g.exception for g in many if g.exception is not None]

    # Errors raised with the secrets in play: wrong key (401), invalid input with api_key, budget.
    wrong = WRONG_FAL_KEY

    async def refused() -> None:
        async with sw.AsyncFalClient(wrong, queue_url=base_url) as c:
            await c.submit("sora2_text_to_video", prompt="x", api_key=OPENAI_KEY)

    for call in (
        lambda: asyncio.run(refused()),
        lambda: sw.validate_input("sora2_text_to_video", prompt="x", duration=7, api_key=OPENAI_KEY),
        lambda: sw.validate_input("sora2_text_to_video", prompt="", api_key=OPENAI_KEY),
        lambda: sw.estimate_cost("sora2_text_to_video", duration=3, api_key=OPENAI_KEY),
    ):
        with pytest.raises(Exception) as info:
            call()
        errors.append(info.value)

    # Public objects holding the key, built from sora2_widgets.__all__.
    inp = sw.validate_input("sora2_text_to_video", prompt="x", api_key=OPENAI_KEY)
    objects += [inp, inp.model_dump(), inp.model_dump_json(), inp.public_params()]
    for name in sw.__all__:
        obj = getattr(sw, name)
        objects.append(obj)
        if inspect.isclass(obj) and name in ("FalClient", "AsyncFalClient"):
            inst = obj(FAL_KEY, queue_url=base_url)
            objects.append(inst)
            inst.close() if hasattr(inst, "close") else asyncio.run(inst.aclose())
    client_sync = sw.FalClient(FAL_KEY, queue_url=base_url)
    job = client_sync.submit("sora2_text_to_video", prompt="sync", api_key=OPENAI_KEY)
    update = client_sync.wait(job)
    res = client_sync.result(job)
    objects += [client_sync, job, update, res, *update.logs]
    client_sync.close()

    for obj in objects:
        problems += _hits(repr(obj), f"repr of {type(obj).__name__}")
        problems += _hits(str(obj), f"str of {type(obj).__name__}")
        if hasattr(obj, "_repr_html_") and not inspect.isclass(obj):
            problems += _hits(obj._repr_html_(), f"HTML of {type(obj).__name__}")
    for exc in errors:
        problems += _hits(str(exc), f"message of {type(exc).__name__}")
        problems += _hits(repr(exc.args), f"args of {type(exc).__name__}")
        problems += _hits(repr(vars(exc)), f"attributes of {type(exc).__name__}")
    history.close()

    # Files: the ledger (+ WAL, SHM), media, everything under the data dir, and the emulator's state.
    home: Path = session["home"]
    assert (home / "history.sqlite3").exists()
    for path in [*_files(home), *_files(session["emu"].state_dir)]:
        problems += _hits(path.read_bytes(), f"file {path.name}")
    logs = session["handler"].lines
    problems += _hits("\n".join(logs), "DEBUG logs")
    assert any("sora2_widgets" in line for line in logs), "no log lines were captured at all"
    assert problems == []


def _jobs_sent_an_api_key(state_dir: Path) -> int:
    """How many jobs the emulator recorded as submitted with an ``api_key`` (it keeps only that fact)."""
    records = [json.loads(p.read_text()) for p in (state_dir / "jobs").glob("*.json")]
    return sum(1 for r in records if json.dumps(r).count('"api_key_set": true'))


def test_debug_logs_of_a_full_generation_with_faults_hold_no_secret(tmp_path: Path) -> None:
    """The talkative paths — a 429 on submit, a status stream cut short, a download cut half-way,
    all retried — with both secrets really sent, every logger at DEBUG."""
    emu = Emulator(
        state_dir=tmp_path / "emulator",
        queue_delay=0.0,
        progress_time=0.1,
        require_key=FAL_KEY,
        fail_submits=1,
        retry_after=0.01,
        drop_streams=1,
        truncate_downloads=1,
    )
    fast = sw.RetryPolicy(attempts=6, base=0.01, cap=0.05)
    try:
        with debug_logs() as handler, running_emulator(emu) as base_url:
            client = sw.AsyncFalClient(FAL_KEY, queue_url=base_url, poll_interval=0.02, retry=fast)
            with (
                sw.History(tmp_path / "home") as history,
                sw.Generator(client=client, history=history, resume=False) as gen,
            ):
                done = gen.generate("sora2_text_to_video", prompt="logged fox", duration=4, api_key=OPENAI_KEY)
            assert done.ok and done.local_path is not None and done.local_path.stat().st_size > 1000
            with sw.FalClient(FAL_KEY, queue_url=base_url, poll_interval=0.02, use_stream=False) as sync:
                emu.faults.status_error_rate = 0.5  # polled status answered 503 half the time
                job = sync.submit("sora2_text_to_video_pro", prompt="logged pro", resolution="720p", api_key=OPENAI_KEY)
                sync.wait(job)
                emu.faults.status_error_rate = 0.0
                sync.download(sync.result(job).url, tmp_path / "pro.mp4")
    finally:
        emu.close()

    assert _jobs_sent_an_api_key(emu.state_dir) == 2, "the api_key never reached the emulator"
    faults = emu.faults
    assert (faults.fail_submits, faults.drop_streams, faults.truncate_downloads) == (0, 0, 0), "a fault never fired"
    assert emu.stats["submits"] == 3 and emu.stats["status"] > 0  # the 429 and the polled 503s, retried
    text = "\n".join(handler.lines)
    for expected in ("submitted sora2_text_to_video", "HTTP 429", "closed mid-answer", "httpx INFO"):
        assert expected in text, f"no {expected!r} line: the path this test is about was not logged"
    assert _hits(text, "DEBUG logs") == []


# Put in front of the quickstart: what the kernel logs (ours and the HTTP stack's, at DEBUG) goes
# to the cells' stderr, so it is saved with the notebook and searched with it.
KERNEL_LOGS = """
import logging, sys
_handler = logging.StreamHandler(sys.stderr)
_handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
for _name in ("sora2_widgets", "httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.DEBUG)
    logging.getLogger(_name).addHandler(_handler)
"""

# After the quickstart built the panel: paste the fal key into its key field as a user would (the
# front end syncs it on Enter), click Generate, then generate with an OpenAI api_key through the
# panel's own generator and ledger — the panel has no field for that key. The keys come from the
# kernel's environment, so no cell source holds them and the whole saved file can be searched.
DRIVE = r"""
import os
import ipywidgets as widgets

def _walk(w):
    yield w
    for child in getattr(w, "children", ()) or ():
        yield from _walk(child)

def find(css):
    hits = [w for w in _walk(panel) if css in getattr(w, "_dom_classes", ())]
    assert hits, css
    return hits[0]

ctl = panel.controller
find("sw-key").value = os.environ["FAL_KEY"]
print("KEY FIELD", repr(find("sw-key").value), ctl.key_source, ctl.provider)
find("sw-models").value = ("sora2_text_to_video",)
find("sw-prompt").value = "A lighthouse keeper's cat watches the storm"
find("sw-setting-duration").value = 4
find("sw-generate").click()
ctl.wait(timeout=240)
print("PANEL", [(j.status, j.error_message) for j in ctl.jobs])

g = ctl.generator.generate(
    "sora2_text_to_video", prompt="With my own OpenAI key", duration=4, api_key=os.environ.pop("SORA2_TEST_API_KEY")
)
print("API KEY JOB", g.status)
ctl.refresh_history()
"""


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_saved_quickstart_with_widget_state_holds_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The quickstart run in a real kernel against a loopback emulator that requires the fal key,
    two videos generated (one with an OpenAI api_key), the notebook saved with its widget state;
    then the saved file, the ledger (+ WAL, read while the kernel holds it open), the media folder
    and the emulator's state are searched."""
    import nbformat
    from nbclient import NotebookClient

    home, workdir = tmp_path / "home", tmp_path / "run"
    workdir.mkdir()
    emu = Emulator(state_dir=tmp_path / "emulator", queue_delay=0.0, progress_time=0.1, require_key=FAL_KEY)
    # The kernel (a child process) inherits all of this.
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(home))
    monkeypatch.setenv("FAL_KEY", FAL_KEY)
    monkeypatch.setenv("SORA2_TEST_API_KEY", OPENAI_KEY)
    monkeypatch.delenv("SORA2_WIDGETS_BUDGET", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))

    nb = nbformat.read(ROOT / "notebooks" / "01_quickstart.ipynb", as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(KERNEL_LOGS))
    nb.cells.append(nbformat.v4.new_code_cell(DRIVE))
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", store_widget_state=True, resources={"metadata": {"path": str(workdir)}}
    )
    try:
        with running_emulator(emu) as base_url:
            monkeypatch.setenv("SORA2_WIDGETS_QUEUE_URL", base_url)
            with client.setup_kernel():
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index)
                client.set_widgets_metadata()
                # The kernel still holds the ledger open, so its write-ahead log is there to read.
                live = {str(p.relative_to(home)): p.read_bytes() for p in _files(home)}
    finally:
        emu.close()
    saved = workdir / "01_quickstart.ipynb"
    nbformat.write(nb, saved)

    # What the user would see: the key field emptied, both videos made, the panel saved.
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "KEY FIELD '' the panel's key field fal" in printed, printed[-2000:]
    assert "PANEL [('Done', None)]" in printed and "API KEY JOB completed" in printed, printed[-2000:]
    assert "submitted sora2_text_to_video" in printed  # the kernel's DEBUG logs are in the file
    state = nb.metadata["widgets"][WIDGET_STATE]["state"]
    assert any("sw-panel" in w["state"].get("_dom_classes", ()) for w in state.values())
    assert any("sw-card" in w["state"].get("_dom_classes", ()) for w in state.values())
    # The fal key was required and the api_key really sent: the emulator noted it (and only that).
    assert emu.stats["submits"] == 2 and _jobs_sent_an_api_key(emu.state_dir) == 1
    with sw.History(home) as history:
        rows = history.records()
    assert [r.status for r in rows] == ["completed", "completed"]
    assert sum(bool(r.params.get("api_key_set")) for r in rows) == 1
    assert "history.sqlite3-wal" in live and any(name.endswith(".mp4") for name in live)

    problems = _hits(saved.read_bytes(), "the saved notebook (outputs + widget state)")
    for name, data in live.items():
        problems += _hits(data, f"{name} while the kernel ran")
    for path in [*_files(home), *_files(emu.state_dir)]:
        problems += _hits(path.read_bytes(), f"{path.relative_to(tmp_path)}")
    assert problems == []
