"""A throwaway PostgreSQL server for the team-ledger tests: initdb + pg_ctl in a temporary folder.

Found on PATH or in Debian's /usr/lib/postgresql/<version>/bin (.ci/run installs it). initdb and
the server refuse to run as root, so as root (CI, this machine) they run as Debian's ``postgres``
user through ``runuser``. The server listens on 127.0.0.1 on a free port and a socket folder of its
own, requires a password (tests/_secrets.DB_PASSWORD: the leak check then proves it never comes
back out), and is stopped when the session ends, or by a reaper process (tests/team/_reaper.py)
when the test process is killed or interrupted first.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from tests._secrets import DB_PASSWORD

__all__ = ["PgServer", "find_bin", "running_server"]

USER = "sw_team"


def find_bin() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("pg_ctl")
    candidates = [str(Path(found).resolve().parent)] if found else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
    for folder in candidates:
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    def __init__(self, bin_dir: Path, root: Path, *, durable: bool = False) -> None:
        self.bin = bin_dir
        self.root = root
        self.data = root / "data"
        self.sockets = root / "sockets"
        self.log = root / "server.log"
        self.port = _free_port()
        self.durable = durable
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
            ids = pwd.getpwnam("postgres")
            os.chown(root, ids.pw_uid, ids.pw_gid)
        self.sockets.mkdir()
        if self._as:
            os.chown(self.sockets, pwd.getpwnam("postgres").pw_uid, pwd.getpwnam("postgres").pw_gid)

    def _run(self, *args: str, timeout: float = 120) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True, timeout=timeout, cwd=self.root)

    def init(self) -> None:
        pwfile = self.root / "pw"
        pwfile.write_text(DB_PASSWORD + "\n")
        if self._as:
            ids = pwd.getpwnam("postgres")
            os.chown(pwfile, ids.pw_uid, ids.pw_gid)
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            USER,
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=scram-sha-256",
            "-E",
            "UTF8",
            "--no-locale",
            *([] if self.durable else ["--no-sync"]),
        )
        pwfile.unlink()

    def _options(self) -> str:
        opts = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not self.durable:
            # A throwaway server for tests: commits need not reach the disk (a restart is a clean one).
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        return opts

    def start(self) -> None:
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", self._options(), "-w", "start"
        )

    def restart(self) -> None:
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            self._options(),
            "-m",
            "fast",
            "-w",
            "restart",
        )

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", timeout=60)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{USER}:{DB_PASSWORD}@127.0.0.1:{self.port}/{dbname}"

    def new_database(self, template: str | None = None) -> str:
        """A fresh, empty database on the server; its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))  # type: ignore[arg-type]
        return self.url(name)


@contextlib.contextmanager
def running_server(*, durable: bool = False) -> Iterator[PgServer]:
    bin_dir = find_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (initdb/pg_ctl); .ci/run installs it from Debian")
    root = Path(tempfile.mkdtemp(prefix="sw-pg-"))
    server = PgServer(bin_dir, root, durable=durable)
    # Started before the server, so no moment exists when a dying test process could leave it behind.
    reaper = _reaper(server)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop("immediate")
        # The reaper's cue: it removes the folder. A session's databases are ~9 MB each, a few
        # hundred of them take a loaded box a minute to delete; the test run need not wait for that.
        assert reaper.stdin is not None
        reaper.stdin.close()
        if reaper.poll() is not None:  # no reaper left to do it
            shutil.rmtree(root, ignore_errors=True)
        _FINISHING.append(reaper)  # not collected (and warned about) while it still works


#: Reapers told to finish: they outlive their server by the time a folder takes to delete.
_FINISHING: list[subprocess.Popen[bytes]] = []


def _reaper(server: PgServer) -> subprocess.Popen[bytes]:
    """A process that stops ``server`` and removes its folder once this process ends in any way
    (tests/team/_reaper.py): a SIGTERM or a SIGKILL runs no ``finally``, and PostgreSQL has no
    "exit with your parent" switch."""
    script = Path(__file__).with_name("_reaper.py")
    args = [str(server.root), str(server.data), *server._as, "--", str(server.bin / "pg_ctl")]
    return subprocess.Popen(
        [sys.executable, str(script), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C and SIGTERM to the test's process group do not reach it
    )
