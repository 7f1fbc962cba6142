"""Before and while the ledger file is used: is it there, whole, ours, and writable? Else one sentence.

The ledger holds what was paid for, so a broken one is never "repaired", re-created or written to:
every problem becomes a :class:`~sora2_widgets.LedgerError` that names the file and what to do
(restore a backup, move it aside, fix permissions), raised before anything is recorded or sent.

- Checked before SQLite opens the file (so that opening cannot change it): a path that is a folder,
  a home that is a file, a file of 0 bytes (it existed and lost its content: treating it as new
  would reset the spend, and with it the budget, to $0), a header that is not SQLite's, a file
  shorter than its own header says (truncated).
- Checked after: the tables are there and SQLite's ``quick_check`` passes (a damaged page found
  now, not half-way through a paid job), and the schema is not from a newer release (``_schema``).
- Permissions: a file or folder that cannot be written is opened read-only (``mode=ro``), so
  ``history``, ``spend`` and ``History().df`` still work; the first write names the problem.
- Any SQLite error that means "this file" (malformed, not a database, read-only, cannot open,
  missing table) met later is translated by :func:`translated`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from .._errors import LedgerError

__all__ = [
    "SQLITE_MAGIC",
    "can_write",
    "damaged",
    "not_writable",
    "preflight",
    "translated",
]

#: The first 16 bytes of every SQLite 3 database (sqlite.org/fileformat2.html#the_database_header).
SQLITE_MAGIC = b"SQLite format 3\x00"
_HEADER_LEN = 100

_MOVE_ASIDE = "restore it from a backup, or move it aside to start a new history (its past spend will not be counted)"


def can_write(path: Path) -> bool:
    """Whether this process may write ``path`` (a file, or a folder to create files in).

    One function so that tests running as root, whom permissions do not stop, can say "no"."""
    return os.access(path, os.W_OK | (os.X_OK if path.is_dir() else 0))


def damaged(path: Path, what: str) -> LedgerError:
    # SQLite's own words on one line ("*** in database main ***\nOn tree page 3 ...").
    what = " ".join(what.replace("*** in database main ***", "").split())
    return LedgerError(path, f"The history file {path} is damaged ({what}); {_MOVE_ASIDE}.")


def not_writable(path: Path) -> LedgerError:
    return LedgerError(
        path,
        f"The history file {path} is read-only (it or its folder cannot be written), so nothing can be "
        "recorded; fix the permissions of the file and its folder (reading it still works).",
    )


def _home_problem(folder: Path) -> LedgerError | None:
    """A folder for the ledger that is a file, or that cannot be created; ``None`` when usable."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        return LedgerError(
            probe,
            f"The history folder {folder} cannot be used: {probe} is a file, not a folder; move that file "
            "aside, or point SORA2_WIDGETS_HOME at a folder.",
        )
    if probe != folder and not can_write(probe):
        return LedgerError(
            probe,
            f"The history folder {folder} cannot be created: {probe} is not writable; fix its permissions, "
            "or point SORA2_WIDGETS_HOME at a writable folder.",
        )
    return None


#: Ledger files this process holds open through SQLite, by (device, inode), with how many
#: connections. POSIX locks belong to the process, and closing *any* descriptor of a file drops them
#: all: reading the header of a file SQLite holds open here would let another process think it is
#: the ledger's only user and delete the WAL our commits are in. Such a file was checked when this
#: process first opened it, and SQLite's own locking now guards it.
_HELD: Counter[tuple[int, int]] = Counter()
_HELD_LOCK = threading.Lock()


def hold(db: Path) -> tuple[int, int]:
    """Note that a connection of this process has ``db`` open; give the key to :func:`release`."""
    st = db.stat()
    key = (st.st_dev, st.st_ino)
    with _HELD_LOCK:
        _HELD[key] += 1
    return key


def release(key: tuple[int, int]) -> None:
    with _HELD_LOCK:
        _HELD[key] -= 1
        if _HELD[key] <= 0:
            del _HELD[key]


def _held_here(st: os.stat_result) -> bool:
    with _HELD_LOCK:
        return _HELD[(st.st_dev, st.st_ino)] > 0


def _check_header(db: Path, size: int) -> None:
    """The file's first bytes say SQLite, and it is as long as its header says (not truncated)."""
    try:
        with db.open("rb") as f:
            header = f.read(_HEADER_LEN)
    except PermissionError:
        raise LedgerError(
            db, f"The history file {db} cannot be read (permission denied); fix its permissions."
        ) from None
    except OSError as exc:
        raise LedgerError(db, f"The history file {db} cannot be read ({exc.strerror}); {_MOVE_ASIDE}.") from None
    if not header.startswith(SQLITE_MAGIC):
        raise damaged(db, "it is not an SQLite database")
    if len(header) < _HEADER_LEN:
        raise damaged(db, f"it is cut short: {size} bytes")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The page count is valid only when the change counter (24) equals "version-valid-for" (92).
    if header[24:28] == header[92:96] and pages and size < pages * page_size:
        raise damaged(db, f"it is cut short: {size} of {pages * page_size} bytes")


def _create(db: Path) -> None:
    """Make a new, empty WAL ledger appear at ``db`` whole, never as a 0-byte file.

    SQLite creates its file empty and writes the header later, so another kernel opening it in
    between would see 0 bytes, which must mean "lost its content" (an error). So the file is made
    beside it and hard-linked into place: the link fails if someone was first, never overwriting."""
    tmp = db.with_name(f".{db.name}.{os.getpid()}.{os.urandom(4).hex()}.new")
    try:
        conn = sqlite3.connect(str(tmp))
        try:
            conn.execute("PRAGMA journal_mode = WAL")  # writes page 1: the file is a database now
        finally:
            conn.close()
        try:
            os.link(tmp, db)
        except FileExistsError:
            pass  # another kernel made it first: open theirs
        except OSError:
            # No hard links here (some network or FAT file systems): the rename may race with
            # another kernel's, which then replaces an equally empty ledger.
            if not db.exists():
                os.replace(tmp, db)
    except OSError as exc:
        raise LedgerError(
            db.parent,
            f"The history file {db} cannot be created ({exc.strerror}); fix the folder's permissions, "
            "or point SORA2_WIDGETS_HOME at a writable folder.",
        ) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def preflight(db: Path) -> bool:
    """Check ``db`` before SQLite opens it; create its folder if needed. Returns whether it must be
    opened read-only. Raises :class:`LedgerError` for a path that cannot be a ledger."""
    if (problem := _home_problem(db.parent)) is not None:
        raise problem
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LedgerError(
            db.parent,
            f"The history folder {db.parent} cannot be created ({exc.strerror}); fix the permissions of its "
            "parent, or point SORA2_WIDGETS_HOME at a writable folder.",
        ) from None
    if db.is_dir():
        raise LedgerError(
            db,
            f"The history file {db} is a folder, not a file; move it aside, or point SORA2_WIDGETS_HOME elsewhere.",
        )
    if not db.exists():
        if not can_write(db.parent):
            raise LedgerError(
                db.parent,
                f"The history file {db} cannot be created: its folder is not writable; fix the folder's "
                "permissions, or point SORA2_WIDGETS_HOME at a writable folder.",
            )
        _create(db)  # a new ledger: the only case that starts from nothing
        return False
    st = db.stat()
    size = st.st_size
    if size == 0:
        raise LedgerError(
            db,
            f"The history file {db} is empty (0 bytes): it lost its content, so past spend cannot be "
            f"counted; {_MOVE_ASIDE}.",
        )
    if not _held_here(st):
        _check_header(db, size)
    # SQLite writes beside the file too (its -wal and -shm files): both must be writable.
    return not (can_write(db) and can_write(db.parent))


def connect_uri(db: Path, *, read_only: bool, immutable: bool = False) -> str:
    """The ``file:`` URI SQLite opens: read-write (never creating more than the file), or ``mode=ro``."""
    from urllib.parse import quote

    mode = "ro" if read_only else "rwc"
    return f"file:{quote(str(db))}?mode={mode}" + ("&immutable=1" if immutable else "")


_FILE_PROBLEMS = ("malformed", "not a database", "no such table", "no such column", "disk i/o error", "corrupt")


@contextlib.contextmanager
def translated(db: Path) -> Iterator[None]:
    """SQLite errors that are about the file become a :class:`LedgerError` naming it.

    Others (a locked database after the busy timeout, a constraint) are left as they are: they are
    not the file's fault and a retry may help."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        text = str(exc).lower()
        if "readonly" in text or "read-only" in text:
            raise not_writable(db) from None
        if "unable to open" in text:
            raise LedgerError(
                db, f"The history file {db} cannot be opened; check that it and its folder can be read and written."
            ) from None
        if type(exc) is sqlite3.DatabaseError or any(p in text for p in _FILE_PROBLEMS):
            raise damaged(db, str(exc)) from None
        raise
