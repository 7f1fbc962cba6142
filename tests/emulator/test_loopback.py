"""The emulator on a real socket (uvicorn): our HTTP, SSE, dropped bodies, the CLI, and the official fal-client.

How the official ``fal-client`` (1.0.x) is pointed at the emulator:

* it has no base-URL parameter and builds ``https://{FAL_QUEUE_RUN_HOST}/`` at import time, so
  for plain http we set its module globals after import:
  ``fal_client.client.QUEUE_URL_FORMAT = base + "/"`` (and ``RUN_URL_FORMAT = base + "/run/"``).
  After submit it only follows the ``status_url``/``response_url``/``cancel_url`` we return.
* without patching: serve https (``--ssl-certfile/--ssl-keyfile``) and set ``FAL_QUEUE_RUN_HOST=127.0.0.1:PORT``
  and ``SSL_CERT_FILE=<cert>`` before importing fal_client (httpx trusts ``SSL_CERT_FILE``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from emu_helpers import official_fal_client

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator, main, running_emulator
from tests._secrets import FAL_KEY, WRONG_FAL_KEY

REPO = Path(__file__).resolve().parents[2]
SORA = "fal-ai/sora-2/text-to-video"
KLING = "fal-ai/kling-video/v2.5-turbo/pro/text-to-video"


@pytest.fixture
def emu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "home"))
    # Queued long enough that a loaded machine still reads the stream while the job waits.
    emulator = Emulator(state_dir=tmp_path / "state", queue_delay=1.0, progress_time=0.1)
    yield emulator
    emulator.close()


def test_queue_api_sse_and_media_over_a_real_socket(emu: Emulator) -> None:
    with running_emulator(emu) as base, httpx.Client(base_url=base, timeout=30) as client:
        assert base.startswith("http://127.0.0.1:")
        job = client.post(f"/{SORA}", json={"prompt": "loopback", "duration": 4}).json()
        assert job["status_url"] == f"{base}/fal-ai/sora-2/requests/{job['request_id']}/status"
        events = []
        with client.stream("GET", job["status_url"] + "/stream", params={"logs": "1"}) as stream:
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                    if len(events) == 1:  # streamed, not buffered until the end
                        assert client.get(job["status_url"]).json()["status"] != "COMPLETED"
        assert events[0]["status"] == "IN_QUEUE" and events[-1]["status"] == "COMPLETED"
        out = client.get(job["response_url"]).json()
        assert out["video"]["url"].startswith(f"{base}/media/")
        video = client.get(out["video"]["url"])
        assert video.headers["content-type"] == "video/mp4" and len(video.content) == out["video"]["file_size"]
        assert video.headers["x-sora2-emulator"] == "1"

        emu.faults.truncate_downloads = 1
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(out["video"]["url"])
        assert len(client.get(out["video"]["url"]).content) == out["video"]["file_size"]
        assert client.post(f"/run/{KLING}", json={"prompt": "sync"}).json()["video"]["content_type"] == "video/mp4"
    assert emu.stats["submits"] == 1 and emu.stats["run"] == 1 and emu.stats["stream"] == 1


def test_official_fal_client_submits_waits_and_fetches(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    fal_client = official_fal_client()
    import fal_client.client as fc

    emu._require_key = FAL_KEY  # the official client always sends a key: check it arrives
    with running_emulator(emu) as base:
        monkeypatch.setattr(fc, "QUEUE_URL_FORMAT", base + "/")
        monkeypatch.setattr(fc, "RUN_URL_FORMAT", base + "/run/")
        client = fal_client.SyncClient(key=FAL_KEY)

        handle = client.submit(SORA, {"prompt": "via fal-client", "duration": 4, "delete_video": False})
        events = list(handle.iter_events(with_logs=True, interval=0.02))
        assert isinstance(events[0], fal_client.Queued)
        positions = [e.position for e in events if isinstance(e, fal_client.Queued)]
        assert positions[0] <= emu.queue_depth and positions == sorted(positions, reverse=True)
        assert any(isinstance(e, fal_client.InProgress) for e in events)
        assert isinstance(events[-1], fal_client.Completed) and events[-1].error is None
        assert any("[simulated]" in log["message"] for log in events[-1].logs)
        result = handle.get(interval=0.02)
        parsed = sw.VideoResult.parse("sora2_text_to_video", result, handle.request_id)
        assert (parsed.width, parsed.height, parsed.duration) == (1280, 720, 4)
        # By request id: fal-client builds these URLs itself, from the app id (owner/alias).
        assert client.result(SORA, handle.request_id) == result
        assert isinstance(client.status(SORA, handle.request_id, with_logs=True), fal_client.Completed)
        assert httpx.get(parsed.url).content[4:8] == b"ftyp"

        updates: list[Any] = []
        out = client.subscribe(
            KLING, {"prompt": "subscribe"}, with_logs=True, on_queue_update=updates.append, interval=0.02
        )
        assert set(out) == {"video"} and updates
        assert set(client.run(SORA, {"prompt": "run"})) == {"video", "video_id", "thumbnail"}

        invalid = client.submit(SORA, {"prompt": "x", "duration": 5})  # accepted, as on fal
        with pytest.raises(fal_client.client.FalClientHTTPError) as bad:
            invalid.get(interval=0.02)  # the 422 comes from the result
        assert bad.value.status_code == 422 and bad.value.message[0]["loc"] == ["body", "duration"]

        emu.queue_delay = 30
        queued = client.submit(SORA, {"prompt": "to cancel"})
        queued.cancel()  # 202
        assert isinstance(queued.status(), fal_client.Completed)
        with pytest.raises(fal_client.client.FalClientHTTPError) as done:
            queued.cancel()
        assert done.value.status_code == 400

        unauthorized = fal_client.SyncClient(key=WRONG_FAL_KEY)
        with pytest.raises(fal_client.client.FalClientHTTPError) as denied:
            unauthorized.submit(SORA, {"prompt": "x"})
        assert denied.value.status_code == 401


def test_official_async_fal_client_works_too(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    fal_client = official_fal_client()
    import asyncio

    import fal_client.client as fc

    with running_emulator(emu) as base:
        monkeypatch.setattr(fc, "QUEUE_URL_FORMAT", base + "/")

        async def go() -> dict[str, Any]:
            client = fal_client.AsyncClient(key="any")
            handle = await client.submit(SORA, {"prompt": "async"})
            return dict(await handle.get(interval=0.02))

        assert asyncio.run(go())["video"]["content_type"] == "video/mp4"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl binary to make a test certificate")
def test_fal_client_reaches_an_https_emulator_through_its_env_vars_alone(emu: Emulator, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    with running_emulator(emu, ssl_certfile=str(cert), ssl_keyfile=str(key)) as base:
        assert base.startswith("https://")
        script = textwrap.dedent(
            f"""
            import json, fal_client
            handle = fal_client.submit({SORA!r}, {{"prompt": "env vars only", "duration": 4}})
            print(json.dumps(handle.get(interval=0.02)))
            """
        )
        env = {
            **os.environ,
            "FAL_QUEUE_RUN_HOST": base.removeprefix("https://"),
            "SSL_CERT_FILE": str(cert),
            "FAL_KEY": FAL_KEY,
        }
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["video"]["url"].startswith(base + "/media/")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_python_m_emulator_serves_and_prints_the_urls(tmp_path: Path) -> None:
    port, run_port = _free_port(), _free_port()
    args = [sys.executable, "-m", "sora2_widgets.emulator", "--port", str(port), "--state-dir", str(tmp_path / "s")]
    args += ["--queue-delay", "0.05", "--progress-time", "0.05", "--queue-depth", "2", "--log-level", "warning"]
    args += ["--run-port", str(run_port)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "SORA2_WIDGETS_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                info = httpx.get(base + "/", timeout=1).json()
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.1)
        assert info["queue_url"] == base and SORA in info["endpoints"]
        job = httpx.post(f"{base}/{SORA}", json={"prompt": "cli"}).json()
        assert job["queue_position"] == 2
        assert job["status_url"] == f"{base}/fal-ai/sora-2/requests/{job['request_id']}/status"
        ran = httpx.post(f"http://127.0.0.1:{run_port}/{KLING}", json={"prompt": "run host"}, timeout=60).json()
        assert set(ran) == {"video"}, "the run port answers like fal.run"
    finally:
        proc.terminate()
        stdout, _ = proc.communicate(timeout=30)
    assert f'queue_url="{base}"' in stdout and f'run_url="{base}/run"' in stdout
    assert f'QUEUE_URL_FORMAT = "{base}/"' in stdout and f'RUN_URL_FORMAT = "http://127.0.0.1:{run_port}/"' in stdout
    assert f'fc.REST_URL = "{base}"' in stdout and f"{base}/api/fal/proxy" in stdout


def test_main_exits_3_when_the_run_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--state-dir", str(tmp_path), "--port", str(_free_port()), "--run-port", str(port)]) == 3


def test_main_rejects_bad_switches(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Refused by argparse, before an emulator (or its state folder) exists: exit 2, one line.
    with pytest.raises(SystemExit) as info:
        main(["--state-dir", str(tmp_path / "state"), "--status-error-rate", "3"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].endswith("argument --status-error-rate: takes a fraction from 0 to 1, got '3'")
    assert not (tmp_path / "state").exists()
    with pytest.raises(SystemExit) as info:
        main(["--retired-status", "500"])
    assert info.value.code == 2


@pytest.mark.parametrize("ci", ["1", ""])
def test_a_missing_fal_client_fails_in_ci_and_skips_only_locally(ci: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fal_client", None)  # makes `import fal_client` fail, as if not installed
    monkeypatch.setenv("CI", ci)
    if ci:
        with pytest.raises(ImportError):
            official_fal_client()
    else:
        with pytest.raises(pytest.skip.Exception):
            official_fal_client()
