"""The official clients against the emulator on loopback: fixtures.

* ``served``: an emulator (a fal key required, as on fal) on two loopback ports, queue and run.
* ``fal_py``: the official Python ``fal-client``, pointed at it. It has no base-URL setting and
  builds ``https://{FAL_QUEUE_RUN_HOST}/`` at import, so for plain http its module globals are set:
  ``QUEUE_URL_FORMAT`` (queue), ``RUN_URL_FORMAT`` (run host), ``REST_URL`` (CDN token, legacy
  upload) and ``CDN_URL`` (single-request upload). Nothing else is changed.
* ``js``: the official ``@fal-ai/client`` (version pinned in ``js/package.json``), installed from
  npm into a temporary folder once per session, and a runner for ``js/driver.mjs`` scenarios.
  The client reaches the emulator through its ``proxyUrl`` protocol, served by the emulator.

Under ``CI`` a missing ``fal_client``, ``node`` or ``npm`` fails the suite; locally it skips.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sora2_widgets.emulator import Emulator, Served, serving
from tests._secrets import FAL_KEY

JS_DIR = Path(__file__).parent / "js"
JS_PACKAGE = "@fal-ai/client"


def _needed(what: str, why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required under CI ({why}); install it, this suite must not be skipped")
    pytest.skip(f"{what} not available ({why})")


@pytest.fixture
def emu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "home"))
    emulator = Emulator(
        state_dir=tmp_path / "emulator",
        queue_delay=0.3,
        progress_time=0.3,
        require_key=FAL_KEY,
        webhook_retry_base=0.05,
    )
    yield emulator
    emulator.close()
    shutil.rmtree(emulator.state_dir / "storage", ignore_errors=True)  # uploads of 100 MiB and more


@pytest.fixture
def served(emu: Emulator) -> Iterator[Served]:
    with serving(emu) as where:
        yield where


def official_fal_client() -> Any:
    try:
        return importlib.import_module("fal_client")
    except ImportError:
        _needed("the fal-client package", "pip install -e '.[test]'")
        raise


@pytest.fixture
def fal_py(served: Served, monkeypatch: pytest.MonkeyPatch) -> Any:
    fal_client = official_fal_client()
    import fal_client.client as fc

    monkeypatch.setattr(fc, "QUEUE_URL_FORMAT", served.queue_url + "/")
    monkeypatch.setattr(fc, "RUN_URL_FORMAT", served.run_url + "/")
    monkeypatch.setattr(fc, "REST_URL", served.queue_url)
    monkeypatch.setattr(fc, "CDN_URL", served.queue_url)
    return fal_client


@dataclass(frozen=True)
class JsClient:
    node: str
    folder: Path
    version: str

    def run(self, served: Served, scenario: str, **args: Any) -> Any:
        """Run one ``driver.mjs`` scenario; returns its value (fails the test if the client threw)."""
        request = {"proxy_url": served.proxy_url, "key": FAL_KEY, "scenario": scenario, "args": args}
        proc = subprocess.run(
            [self.node, "driver.mjs"],
            cwd=self.folder,
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=240,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        assert proc.returncode == 0 and lines, f"node exited {proc.returncode}: {proc.stderr[-3000:]}"
        outcome = json.loads(lines[-1][len("RESULT ") :])
        assert outcome["ok"], f"@fal-ai/client {self.version} failed in {scenario}: {outcome['error']}"
        return outcome["value"]


@pytest.fixture(scope="session")
def js(tmp_path_factory: pytest.TempPathFactory) -> JsClient:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _needed("node and npm", f"the official {JS_PACKAGE} runs on Node")
    assert node is not None and npm is not None
    folder = tmp_path_factory.mktemp("fal-js")
    for name in ("package.json", "driver.mjs"):
        shutil.copy(JS_DIR / name, folder / name)
    proc = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "npm_config_update_notifier": "false"},
    )
    if proc.returncode != 0:
        pytest.fail(f"npm install of {JS_PACKAGE} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    pinned = json.loads((JS_DIR / "package.json").read_text())["dependencies"][JS_PACKAGE]
    installed = json.loads((folder / "node_modules" / "@fal-ai" / "client" / "package.json").read_text())["version"]
    assert installed == pinned, f"npm installed {JS_PACKAGE} {installed}, the suite pins {pinned}"
    return JsClient(node, folder, installed)
