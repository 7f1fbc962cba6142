"""The snapshot file of :attr:`History.df`: the DataFrame as of one ledger revision, next to the ledger.

Why: building the frame from 100 000 SQLite rows costs over a second; unpickling a finished frame
costs a fraction of that, and the ledger then only supplies the rows changed since (by ``rev``).

The file is a cache, never a source of truth. It is used only if *everything* matches: magic and
format, the schema version, the ledger's random id (a re-created database never matches), the
folder (paths in the frame are absolute), the pandas version and the category lists (a pickle from
another pandas or another release could decode to other dtypes), a revision not newer than the
database's, and the SHA-256 of the pickled bytes (a torn or flipped file is caught before it is
unpickled). Anything else — unreadable, mismatched, missing — means "rebuild from SQLite".
The frame cache (``_frame``) then also checks the row count and the sum of row revisions against the
database.

Unpickling runs code named in the file, so the file must be ours: on POSIX it is created ``0600``
and read only if it is owned by this user and not writable by group or others (the same rule ssh
applies to its keys), so a shared data folder cannot be used to run code in someone's kernel.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FORMAT", "MAGIC", "Snapshot", "expected_header", "read", "write"]

log = logging.getLogger("sora2_widgets.history")

MAGIC = b"SORA2-WIDGETS-DF-CACHE\n"
#: Bump when ``_frame.build_frame`` changes what it builds (columns, dtypes): old snapshots are then ignored.
FORMAT = 3


@dataclass(frozen=True)
class Snapshot:
    rev: int
    frame: pd.DataFrame
    revs: pd.Series[int]


def expected_header(*, schema: int, ledger: str, folder: str, categories: Any) -> dict[str, Any]:
    """What a snapshot's header must say to be used by this process for this ledger."""
    import pandas as pd

    return {
        "format": FORMAT,
        "schema": schema,
        "ledger": ledger,
        "folder": folder,
        "pandas": pd.__version__,
        "categories": categories,
    }


def _ours(st: os.stat_result) -> bool:
    if os.name != "posix":
        return True
    return st.st_uid == os.geteuid() and not (st.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def read(path: Path, expect: dict[str, Any], max_rev: int) -> Snapshot | None:
    """The snapshot at ``path`` if it is valid for ``expect`` and not newer than ``max_rev``; else None."""
    try:
        with open(path, "rb") as fh:
            if not _ours(os.fstat(fh.fileno())):
                log.warning("history: ignoring %s: not owned by this user or writable by others", path)
                return None
            if fh.read(len(MAGIC)) != MAGIC:
                raise ValueError("not a snapshot file")
            size = int.from_bytes(fh.read(4), "big")
            header = json.loads(fh.read(size))
            payload = fh.read()
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.info("history: ignoring the DataFrame snapshot %s (%s); rebuilding", path, exc)
        return None
    if not isinstance(header, dict):
        return None
    mismatch = [k for k, v in expect.items() if header.get(k) != v]
    rev, count = header.get("rev"), header.get("rows")
    if mismatch or not isinstance(rev, int) or not isinstance(count, int) or rev > max_rev:
        log.info("history: the DataFrame snapshot is stale (%s); rebuilding", ", ".join(mismatch) or "revision")
        return None
    if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        log.warning("history: the DataFrame snapshot %s is corrupt (checksum); rebuilding", path)
        return None
    try:
        frame, revs = pickle.loads(payload)  # noqa: S301 - our own file: checksummed, owner-checked
    except Exception as exc:  # a pickle can fail in many ways; a cache never breaks the ledger
        log.warning("history: cannot load the DataFrame snapshot %s (%s); rebuilding", path, exc)
        return None
    if len(frame) != count or len(revs) != count:
        return None
    return Snapshot(rev, frame, revs)


def write(path: Path, header: dict[str, Any], snap: Snapshot) -> bool:
    """Write atomically (temp file in the same folder, fsync, rename). False if it could not be written."""
    payload = pickle.dumps((snap.frame, snap.revs), protocol=pickle.HIGHEST_PROTOCOL)
    head = json.dumps(
        {**header, "rev": snap.rev, "rows": len(snap.frame), "sha256": hashlib.sha256(payload).hexdigest()}
    ).encode()
    tmp: str | None = None
    try:
        # mkstemp creates the file 0600: only this user can read or replace it.
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(MAGIC)
            fh.write(len(head).to_bytes(4, "big"))
            fh.write(head)
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
        return True
    except OSError as exc:  # read-only folder, disk full: the cache is optional
        log.info("history: could not write the DataFrame snapshot %s (%s)", path, exc)
        return False
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
