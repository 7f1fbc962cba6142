"""The production path: a key, HTTPS, and httpx's own transport (no ``transport=`` given).

fal.ai cannot be reached from here, so the emulator serves HTTPS on loopback with a throwaway
certificate. This checks that TLS works end to end (submit, status stream, result, download),
that ``SSL_CERT_FILE`` is honoured, and that certificate verification is never bypassed.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator, running_emulator
from tests._secrets import FAL_KEY

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")


@pytest.fixture
def https_emulator(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    emu = Emulator(state_dir=tmp_path / "emu", queue_delay=0.05, progress_time=0.1, require_key=FAL_KEY)
    try:
        with running_emulator(emu, ssl_certfile=str(cert), ssl_keyfile=str(key)) as base:
            assert base.startswith("https://")
            yield base, cert
    finally:
        emu.close()


def test_generate_and_download_over_https_with_a_key(
    https_emulator: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, cert = https_emulator
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with sw.FalClient(key=FAL_KEY, queue_url=base) as client:
        assert client.provider == "fal"
        updates: list[sw.QueueUpdate] = []
        result = client.generate("sora2_text_to_video", prompt="over TLS", duration=4, on_update=updates.append)
        got = client.download(result.url, tmp_path / "tls.mp4")
    assert updates and updates[-1].status == "COMPLETED"
    assert result.url.startswith(base + "/media/")
    assert got.path.read_bytes()[4:8] == b"ftyp" and got.size == got.path.stat().st_size


def test_an_untrusted_certificate_is_refused(https_emulator: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    base, _cert = https_emulator
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    sleeps: list[float] = []
    retry = sw.RetryPolicy(sleep=_record(sleeps))
    with sw.FalClient(key=FAL_KEY, queue_url=base, retry=retry) as client:
        with pytest.raises(sw.ServiceError, match=r"TLS certificate of 127\.0\.0\.1 could not be verified") as info:
            client.submit("sora2_text_to_video", prompt="must not be sent")
    assert FAL_KEY not in str(info.value)
    assert sleeps == []  # a bad certificate is not retried


def _record(sleeps: list[float]) -> Callable[[float], Awaitable[None]]:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return sleep
