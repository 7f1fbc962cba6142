"""Two History handles on one ledger in one process, and another process opening it meanwhile.

POSIX file locks belong to the process, and closing *any* descriptor of a file drops all of them.
Opening a second handle must therefore never open and close the ledger file itself while the first
handle's SQLite connection holds its locks: the other process would then believe it is the ledger's
only user, and its close would remove the WAL that holds our commits (writes lost without an error,
or "disk I/O error" later).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import sora2_widgets as sw

from .ledger_rows import add

READ_AND_CLOSE = "import sys, sora2_widgets as sw; h = sw.History(sys.argv[1]); print(len(h.records())); h.close()"
READ_RATING = "import sys, sora2_widgets as sw; h = sw.History(sys.argv[1]); print(h.get(int(sys.argv[2])).rating)"


def _run(code: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.sqlite_only("POSIX locks on the local ledger file; PostgreSQL's are its server's")
def test_a_second_handle_keeps_the_first_handle_s_writes_when_another_process_reads(tmp_path: Path) -> None:
    first = sw.History(tmp_path)
    hid = add(first)
    second = sw.History(tmp_path)  # the same process opens the ledger again (a panel beside a sweep)
    assert _run(READ_AND_CLOSE, str(tmp_path)) == "1"  # another kernel reads it and goes away
    first.rate(hid, 4, notes="kept")
    second.rate(hid, 5)
    # The WAL that holds these commits is still there, and a new process sees them.
    assert (tmp_path / (first.path.name + "-wal")).exists()
    assert _run(READ_RATING, str(tmp_path), str(hid)) == "5"
    assert first.get(hid).notes == "kept"
    second.close()
    first.close()
    assert _run(READ_RATING, str(tmp_path), str(hid)) == "5"
