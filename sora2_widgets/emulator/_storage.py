"""fal's storage, offline: the CDN token, uploads (single, legacy initiate + PUT, multipart) and the files.

The routes are those the official clients call (``fal_client`` 1.0.x ``client.py``;
``@fal-ai/client`` 1.10 ``storage.js``), on the emulator's own host:

* ``POST /storage/auth/token?storage_type=fal-cdn-v3`` (fal: ``rest.fal.ai``, ``Authorization: Key``)
  → ``{token, token_type, base_url, expires_at}``.
* ``POST /files/upload`` (fal: ``v3.fal.media``, ``Authorization: Bearer <token>``), the bytes in the
  body, ``Content-Type`` and optional ``X-Fal-File-Name`` → ``{"access_url"}``.
* ``POST /files/upload/multipart`` (fal: the token's ``base_url``) → ``{access_url, uploadId}``;
  ``PUT {access_url}/multipart/{uploadId}/{n}`` → ``ETag`` (and ``{partNumber, etag}`` for the JS
  client); ``POST {access_url}/multipart/{uploadId}/complete`` with ``{"parts": [{partNumber, etag}]}``.
* ``POST /storage/upload/initiate?storage_type=gcs|fal-cdn-v3`` with ``{file_name, content_type}``
  → ``{upload_url, file_url}``, then ``PUT upload_url`` with the bytes (fal-client's fallback, and
  how the JS client uploads every Blob up to 90 MB).
* ``POST /storage/upload/initiate-multipart?storage_type=fal-cdn-v3`` → ``{upload_url, file_url}``;
  the JS client PUTs part ``n`` to ``{upload_url}/{n}`` and POSTs ``{upload_url}/complete``.
* ``GET /files/{key}/{name}`` serves a file (public, like fal's CDN; Range requests work).

Files live under ``state_dir/storage``. Bodies are streamed to disk, never held whole in memory.
Uploads are idempotent: a retried single upload of the same bytes (same name and type) gets the
same URL and stores nothing new; a retried part replaces the part; a retried ``complete`` answers
the same. Upload and part URLs are capabilities (unguessable ids), as fal's signed URLs are: the
JS client PUTs to them without credentials.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = [
    "CDN_TOKEN_TTL",
    "FILE_URL_RE",
    "Storage",
    "StoredFile",
    "UploadError",
    "lifecycle_seconds",
    "safe_file_name",
]

#: Seconds a CDN token is valid (fal-client caches it until ``expires_at``).
CDN_TOKEN_TTL = 3600.0
#: The path of a stored file: ``/files/{32 hex}/{name}``.
FILE_URL_RE = re.compile(r"^/files/(?P<key>[0-9a-f]{32})/(?P<name>[^/]+)$")
KEY_RE = re.compile(r"^[0-9a-f]{32}$")
UPLOAD_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_PARTS = 10_000
#: Bytes gathered before one write to disk.
_SPOOL_BLOCK = 1 << 20
_NAME_OK = re.compile(r"[^A-Za-z0-9._-]+")


class UploadError(Exception):
    """An upload request the storage refuses: ``status_code`` and a sentence for ``{"detail"}``."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


@dataclass(frozen=True)
class StoredFile:
    key: str
    file_name: str
    content_type: str
    size: int
    sha256: str
    created_at: float
    expires_at: float | None = None

    @property
    def path_part(self) -> str:
        return f"/files/{self.key}/{urllib.parse.quote(self.file_name)}"

    def url(self, base: str) -> str:
        return base.rstrip("/") + self.path_part

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and (time.time() if now is None else now) >= self.expires_at


def safe_file_name(name: str | None, default: str = "upload.bin") -> str:
    """A file name safe in a URL and on disk: the last path component, odd characters replaced."""
    if not name:
        return default
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _NAME_OK.sub("_", base).lstrip(".")[:120]
    return cleaned or default


def lifecycle_seconds(headers: Any) -> tuple[bool, float | None]:
    """``(given, seconds)`` from ``X-Fal-Object-Lifecycle(-Preference)``: ``{"expiration_duration_seconds": N}``.

    ``given`` is False when neither header is there (or it cannot be read); ``seconds`` is
    ``None`` for "never expires" (fal: null, or 0).
    """
    for name in ("x-fal-object-lifecycle-preference", "x-fal-object-lifecycle"):
        raw = headers.get(name)
        if not raw:
            continue
        try:
            value = json.loads(raw).get("expiration_duration_seconds")
        except (ValueError, AttributeError):
            continue
        if value is None or value == 0:
            return True, None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return True, float(value)
    return False, None


class Storage:
    """Uploaded files and uploads in progress, under ``root`` (shared by processes on the same state dir)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files_dir = root / "files"
        self.uploads_dir = root / "uploads"
        self.multipart_dir = root / "multipart"
        self.tmp_dir = root / "tmp"
        for d in (self.files_dir, self.uploads_dir, self.multipart_dir, self.tmp_dir):
            d.mkdir(parents=True, exist_ok=True)
        self._secret = _load_secret(root / "token-secret")
        self._lock = threading.RLock()

    # -- CDN tokens -------------------------------------------------------------------------
    def issue_token(self, base: str, ttl: float = CDN_TOKEN_TTL) -> dict[str, Any]:
        expires = time.time() + ttl
        claims = base64.urlsafe_b64encode(json.dumps({"exp": expires, "n": secrets.token_hex(8)}).encode()).decode()
        token = f"{claims}.{self._sign(claims)}"
        stamp = datetime.fromtimestamp(expires, tz=timezone.utc).isoformat()
        return {"token": token, "token_type": "Bearer", "base_url": base.rstrip("/"), "expires_at": stamp}

    def token_ok(self, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").partition(" ")
        claims, _, sig = token.strip().partition(".")
        if scheme.lower() != "bearer" or not claims or not hmac.compare_digest(sig, self._sign(claims)):
            return False
        try:
            expires = float(json.loads(base64.urlsafe_b64decode(claims.encode()))["exp"])
        except (ValueError, KeyError, TypeError):
            return False
        return time.time() < expires

    def _sign(self, text: str) -> str:
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()

    # -- single-request upload (content-addressed: a retry stores nothing new) -------------
    async def put(
        self, chunks: AsyncIterator[bytes], *, file_name: str, content_type: str, expires_in: float | None
    ) -> StoredFile:
        digest = hashlib.sha256()
        digest.update(f"{content_type}\0{file_name}\0".encode())
        content = hashlib.sha256()
        tmp, size = await self._spool(chunks, digest, content)
        key = digest.hexdigest()[:32]
        now = time.time()
        meta = StoredFile(key, file_name, content_type, size, content.hexdigest(), now, _expiry(now, expires_in))
        return await asyncio.to_thread(self._publish, tmp, meta, True)

    # -- legacy initiate + PUT ---------------------------------------------------------------
    def reserve(self, file_name: str, content_type: str, expires_in: float | None) -> tuple[str, str]:
        """A slot for ``PUT upload_url``: ``(key, upload_id)``."""
        key, upload_id = secrets.token_hex(16), secrets.token_urlsafe(24)
        slot = {"key": key, "file_name": file_name, "content_type": content_type, "expires_in": expires_in}
        _atomic_json(self.uploads_dir / f"{upload_id}.json", slot)
        return key, upload_id

    def reserved(self, upload_id: str) -> dict[str, Any] | None:
        if not UPLOAD_ID_RE.match(upload_id):
            return None
        return _read_json(self.uploads_dir / f"{upload_id}.json")

    async def put_reserved(self, upload_id: str, chunks: AsyncIterator[bytes], content_type: str | None) -> StoredFile:
        slot = self.reserved(upload_id)
        if slot is None:
            raise UploadError(404, "Unknown upload URL (it was never issued by this storage)")
        content = hashlib.sha256()
        tmp, size = await self._spool(chunks, content)
        now = time.time()
        ctype = content_type or str(slot["content_type"])
        meta = StoredFile(
            str(slot["key"]), str(slot["file_name"]), ctype, size, content.hexdigest(), now,
            _expiry(now, slot.get("expires_in")),
        )  # fmt: skip
        # A repeated PUT to a signed URL replaces the object: the retry of a lost answer is harmless.
        return await asyncio.to_thread(self._publish, tmp, meta, False)

    # -- multipart ---------------------------------------------------------------------------
    def start_multipart(self, file_name: str, content_type: str, expires_in: float | None) -> tuple[str, str]:
        key, upload_id = secrets.token_hex(16), secrets.token_urlsafe(24)
        folder = self.multipart_dir / upload_id
        folder.mkdir()
        meta = {"key": key, "file_name": file_name, "content_type": content_type, "expires_in": expires_in}
        _atomic_json(folder / "meta.json", meta)
        return key, upload_id

    def _multipart(self, key: str, upload_id: str) -> tuple[Path, dict[str, Any]]:
        meta = _read_json(self.multipart_dir / upload_id / "meta.json") if UPLOAD_ID_RE.match(upload_id) else None
        if meta is None or meta.get("key") != key:
            raise UploadError(404, f"No such multipart upload: {upload_id}")
        return self.multipart_dir / upload_id, meta

    async def put_part(self, key: str, upload_id: str, part_number: int, chunks: AsyncIterator[bytes]) -> str:
        """Store part ``part_number`` (1…10000); returns its ETag (the MD5 of its bytes, quoted, as S3)."""
        folder, _ = self._multipart(key, upload_id)
        if (folder / "completed.json").exists():
            raise UploadError(400, f"Multipart upload {upload_id} is already complete")
        if not 1 <= part_number <= MAX_PARTS:
            raise UploadError(400, f"Part numbers run from 1 to {MAX_PARTS}, got {part_number}")
        md5 = hashlib.md5(usedforsecurity=False)
        tmp, _ = await self._spool(chunks, md5)
        etag = f'"{md5.hexdigest()}"'
        os.replace(tmp, folder / f"{part_number:05d}.part")
        return etag

    async def complete_multipart(self, key: str, upload_id: str, parts: Any) -> StoredFile:
        folder, meta = self._multipart(key, upload_id)
        return await asyncio.to_thread(self._complete, folder, meta, parts)

    def _complete(self, folder: Path, meta: dict[str, Any], parts: Any) -> StoredFile:
        wanted = _parse_parts(parts)
        with self._lock:
            done = _read_json(folder / "completed.json")
            if done is not None:
                if done.get("parts") != [[n, e] for n, e in wanted]:
                    raise UploadError(400, "The upload was already completed with other parts")
                stored = self.lookup(str(meta["key"]), str(meta["file_name"]), include_expired=True)
                if stored is None:
                    raise UploadError(404, "The completed upload's file is gone")
                return stored
            content = hashlib.sha256()
            fd, tmp_name = tempfile.mkstemp(dir=self.tmp_dir, suffix=".part")
            size = 0
            try:
                with os.fdopen(fd, "wb") as out:
                    for number, etag in wanted:
                        part = folder / f"{number:05d}.part"
                        if not part.exists():
                            raise UploadError(400, f"Part {number} was never uploaded")
                        md5 = hashlib.md5(usedforsecurity=False)
                        with part.open("rb") as src:
                            while block := src.read(1 << 20):
                                md5.update(block)
                                content.update(block)
                                out.write(block)
                                size += len(block)
                        if etag.strip('"') != md5.hexdigest():
                            raise UploadError(400, f"Part {number}: the ETag does not match the uploaded part")
            except BaseException:
                Path(tmp_name).unlink(missing_ok=True)
                raise
            now = time.time()
            stored = StoredFile(
                str(meta["key"]), str(meta["file_name"]), str(meta["content_type"]), size, content.hexdigest(), now,
                _expiry(now, meta.get("expires_in")),
            )  # fmt: skip
            self._publish(Path(tmp_name), stored, False)
            _atomic_json(folder / "completed.json", {"parts": [[n, e] for n, e in wanted]})
            for part in folder.glob("*.part"):
                part.unlink(missing_ok=True)
            return stored

    # -- reading -----------------------------------------------------------------------------
    def lookup(self, key: str, file_name: str, *, include_expired: bool = False) -> StoredFile | None:
        """The stored file, or ``None`` (never uploaded, not finished, or expired)."""
        if not KEY_RE.match(key):
            return None
        data = _read_json(self.files_dir / f"{key}.json")
        if data is None or data.get("file_name") != file_name:
            return None
        stored = StoredFile(**data)
        if stored.expired() and not include_expired:
            return None
        return stored if self.path_of(stored).exists() else None

    def path_of(self, stored: StoredFile) -> Path:
        return self.files_dir / stored.key / stored.file_name

    def from_url(self, url: str) -> tuple[bool, StoredFile | None]:
        """``(looks_ours, file)`` for a URL: its path is ``/files/{key}/{name}`` of this storage.

        Any host counts (the emulator is reached under several names), as long as the key was
        issued here; ``file`` is ``None`` when it was never finished, or has expired.
        """
        try:
            parts = urllib.parse.urlsplit(url)
        except ValueError:
            return False, None
        match = FILE_URL_RE.match(parts.path)
        if parts.scheme not in ("http", "https") or match is None:
            return False, None
        key, name = match["key"], urllib.parse.unquote(match["name"])
        known = (self.files_dir / f"{key}.json").exists() or self._issued(key)
        if not known:
            return False, None
        return True, self.lookup(key, name)

    def _issued(self, key: str) -> bool:
        # A reserved slot or a multipart upload that never finished: the URL is ours, the file is not there.
        metas = [*self.uploads_dir.glob("*.json"), *self.multipart_dir.glob("*/meta.json")]
        return any((_read_json(meta) or {}).get("key") == key for meta in metas)

    # -- internals ---------------------------------------------------------------------------
    async def _spool(self, chunks: AsyncIterator[bytes], *hashes: Any) -> tuple[Path, int]:
        """Write a request body to a temporary file as it arrives (in a thread: the loop may be a
        client's, when the emulator runs in-process), hashing it on the way."""
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, suffix=".part")
        tmp = Path(name)
        size = 0
        out = os.fdopen(fd, "wb")
        try:
            pending = bytearray()
            async for chunk in chunks:
                for h in hashes:
                    h.update(chunk)
                pending += chunk
                size += len(chunk)
                if len(pending) >= _SPOOL_BLOCK:
                    await asyncio.to_thread(out.write, bytes(pending))
                    pending.clear()
            if pending:
                await asyncio.to_thread(out.write, bytes(pending))
            await asyncio.to_thread(out.close)
        except BaseException:
            out.close()
            await asyncio.to_thread(tmp.unlink, missing_ok=True)
            raise
        return tmp, size

    def _publish(self, tmp: Path, meta: StoredFile, dedupe: bool) -> StoredFile:
        with self._lock:
            if dedupe:
                existing = self.lookup(meta.key, meta.file_name)
                if existing is not None and existing.sha256 == meta.sha256:
                    tmp.unlink(missing_ok=True)
                    return existing
            folder = self.files_dir / meta.key
            folder.mkdir(exist_ok=True)
            os.replace(tmp, folder / meta.file_name)
            _atomic_json(self.files_dir / f"{meta.key}.json", asdict(meta))
            return meta

    def remove(self, stored: StoredFile) -> None:
        with self._lock, contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.files_dir / stored.key)
            (self.files_dir / f"{stored.key}.json").unlink()


def _parse_parts(parts: Any) -> list[tuple[int, str]]:
    if not isinstance(parts, list) or not parts:
        raise UploadError(400, 'The body must be {"parts": [{"partNumber": n, "etag": "..."}, ...]}')
    out: dict[int, str] = {}
    for item in parts:
        number = item.get("partNumber") if isinstance(item, dict) else None
        etag = item.get("etag") if isinstance(item, dict) else None
        if not isinstance(number, int) or isinstance(number, bool) or not isinstance(etag, str):
            raise UploadError(400, 'Each part must be {"partNumber": <int>, "etag": "<string>"}')
        out[number] = etag
    # fal-client lists the parts in the order they finished (several upload at once): sort them.
    return sorted(out.items())


def _expiry(now: float, seconds: Any) -> float | None:
    return now + float(seconds) if isinstance(seconds, (int, float)) and seconds > 0 else None


def _load_secret(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(100):  # another process is writing it
            data = path.read_bytes()
            if len(data) == 32:
                return data
            time.sleep(0.01)
        raise RuntimeError(f"unreadable token secret at {path}") from None
    secret = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as fh:
        fh.write(secret)
    return secret


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _atomic_json(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
