"""``sora2-widgets lab``: JupyterLab on the quickstart notebook."""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from ._exits import EXIT_USAGE


def _quickstart() -> Path | None:
    here = Path(__file__).resolve().parent.parent  # the package folder (this module is in cli/)
    # An installed wheel carries the notebooks inside the package; a source checkout has them beside it.
    for candidate in (here / "_notebooks" / "01_quickstart.ipynb", here.parent / "notebooks" / "01_quickstart.ipynb"):
        if candidate.exists():
            return candidate
    return None


def _jupyter_args(extra: Sequence[str]) -> list[str]:
    """What the user meant for JupyterLab: the options we do not know, minus the ``--`` separator."""
    args = list(extra)
    if "--" in args:
        args.remove("--")
    return args


_ALLOW_ROOT = ("--allow-root", "--ServerApp.allow_root")


def lab_command(workdir: Path, notebook: Path | None, jupyter_args: Sequence[str], *, as_root: bool) -> list[str]:
    """The JupyterLab command line: root folder, the user's options, then the notebook to open."""
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={workdir}"]
    # jupyter_server refuses to start as root without it, and containers and CI run as root; a user
    # who says otherwise (either way) is obeyed.
    if as_root and not any(arg.split("=", 1)[0] in _ALLOW_ROOT for arg in jupyter_args):
        cmd.append("--allow-root")
    cmd += jupyter_args
    if notebook is not None:
        # Absolute: jupyter_server resolves a relative one against our cwd, not the root folder.
        # Last: a notebook the user names among their own arguments comes first and wins.
        cmd.append(str(notebook))
    return cmd


def cmd_lab(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("jupyterlab") is None:
        print('JupyterLab is not installed: pip install "sora2-widgets[lab]"', file=sys.stderr)
        return EXIT_USAGE
    notebook = _quickstart()
    workdir = Path(args.dir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    target: Path | None = None
    if notebook is None:
        print("The quickstart notebook is not part of this installation: JupyterLab opens empty.", file=sys.stderr)
    else:
        target = workdir / notebook.name
        if not target.exists():  # never overwrite the user's edited copy
            shutil.copyfile(notebook, target)
    if not os.environ.get("FAL_KEY"):
        print("No FAL_KEY set: the panel runs on the built-in emulator (offline, nothing is charged).", file=sys.stderr)
    geteuid = getattr(os, "geteuid", None)
    cmd = lab_command(workdir, target, args.lab_args, as_root=geteuid is not None and geteuid() == 0)
    if os.name == "posix":
        # Become JupyterLab: Ctrl-C (its shutdown prompt), SIGTERM and the exit code are its own,
        # and no orphaned server outlives a killed wrapper.
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, cmd)  # noqa: S606 - our own interpreter and arguments
    return subprocess.call(cmd)  # noqa: S603 - our own interpreter and arguments
