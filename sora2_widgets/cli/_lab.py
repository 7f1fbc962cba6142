"""``sora2-widgets lab``: JupyterLab on the quickstart notebook."""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from ._exits import EXIT_USAGE

#: The notebooks ``lab`` opens, together: the quickstart's "Next" links point at the other two by name.
NOTEBOOKS = ("01_quickstart.ipynb", "02_prompt_experiments.ipynb", "03_spend_report.ipynb")
QUICKSTART = NOTEBOOKS[0]


def _shipped() -> Path | None:
    """The folder holding the notebooks: inside an installed wheel, or beside the package in a checkout."""
    here = Path(__file__).resolve().parent.parent  # the package folder (this module is in cli/)
    for folder in (here / "_notebooks", here.parent / "notebooks"):
        if (folder / QUICKSTART).exists():
            return folder
    return None


def _quickstart() -> Path | None:
    folder = _shipped()
    return None if folder is None else folder / QUICKSTART


def work_folder(given: str | None) -> Path:
    """Where the notebooks are opened: ``--dir``, or ``notebooks/`` in the data directory.

    Never the current folder unless asked: a checkout's root must not gain untracked copies, and
    the shipped notebooks themselves stay as they were shipped.
    """
    if given is not None:
        return Path(given).resolve()
    from .._config import data_dir

    return data_dir() / "notebooks"


def copy_notebooks(source: Path, workdir: Path) -> list[str]:
    """Copy into ``workdir`` each notebook it lacks (never over the user's edited copy); the names copied."""
    workdir.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in NOTEBOOKS:
        target = workdir / name
        if (source / name).exists() and not target.exists():
            shutil.copyfile(source / name, target)
            copied.append(name)
    return copied


def _jupyter_args(extra: Sequence[str]) -> list[str]:
    """What the user meant for JupyterLab: the options we do not know, minus the ``--`` separator."""
    args = list(extra)
    if "--" in args:
        args.remove("--")
    return args


_ALLOW_ROOT = ("--allow-root", "--ServerApp.allow_root")
_DEFAULT_URL = ("--LabApp.default_url", "--ServerApp.default_url")


def _given(jupyter_args: Sequence[str], names: Sequence[str]) -> bool:
    return any(arg.split("=", 1)[0] in names for arg in jupyter_args)


def lab_command(workdir: Path, notebook: Path | None, jupyter_args: Sequence[str], *, as_root: bool) -> list[str]:
    """The JupyterLab command line: root folder, the user's options, then the notebook to open."""
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={workdir}"]
    # jupyter_server refuses to start as root without it, and containers and CI run as root; a user
    # who says otherwise (either way) is obeyed.
    if as_root and not _given(jupyter_args, _ALLOW_ROOT):
        cmd.append("--allow-root")
    if notebook is not None and not _given(jupyter_args, _DEFAULT_URL):
        # JupyterLab prints its default URL (with the token) at start-up: make it the notebook's, so
        # that with --no-browser the printed link opens the quickstart, not the Launcher.
        relative = notebook.relative_to(workdir).as_posix()
        cmd.append(f"--LabApp.default_url=/lab/tree/{urllib.parse.quote(relative)}")
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
    source = _shipped()
    workdir = work_folder(args.dir)
    target: Path | None = None
    if source is None:
        workdir.mkdir(parents=True, exist_ok=True)
        print("The notebooks are not part of this installation: JupyterLab opens empty.", file=sys.stderr)
    else:
        copied = copy_notebooks(source, workdir)
        target = workdir / QUICKSTART
        kept = [name for name in NOTEBOOKS if name not in copied]
        note = f" (your copies of {', '.join(kept)} are kept as they are)" if kept else ""
        print(f"Notebooks in {workdir}{note}; JupyterLab prints the quickstart's URL below.", file=sys.stderr)
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
