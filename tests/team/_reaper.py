"""Stops a throwaway PostgreSQL server when the process that started it goes, however it goes.

``python _reaper.py <root> <data> <command prefix …> -- <pg_ctl>`` blocks reading its stdin, a pipe
whose only writer is the test process. When that process ends (normally, on SIGTERM or SIGINT, or
killed with SIGKILL, when no atexit or signal handler runs) the kernel closes the pipe, the read
returns, and this process stops the server at once and removes its folder. It runs in a session of
its own, so the Ctrl-C or SIGTERM that reaches the test's process group does not reach it.

Run as a script (no imports from the project): the test process may be gone when it does its work.
"""

from __future__ import annotations

import shutil
import subprocess
import sys


def main(argv: list[str]) -> int:
    root, data, *rest = argv
    split = rest.index("--")
    prefix, pg_ctl = rest[:split], rest[split + 1]
    try:
        while sys.stdin.buffer.read(4096):
            pass  # nothing is ever written: only the end of the pipe matters
    except (OSError, KeyboardInterrupt):
        pass
    # Already stopped when the session ended normally: pg_ctl then just says so.
    subprocess.run(
        [*prefix, pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
