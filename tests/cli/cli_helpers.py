"""Shared by the CLI suites (a uniquely named module, so it cannot clash with other test dirs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def cli_env(home: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a user with no fal key (unless ``env`` gives one) and a private data folder."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("FAL_KEY") and not k.startswith("SORA2_")}
    base.update({"SORA2_WIDGETS_HOME": str(home), "PYTHONPATH": str(REPO)})
    base.update(env or {})
    return base


def run(
    home: Path, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``sora2-widgets *args`` in a real subprocess, as a shell script would run it."""
    return subprocess.run(
        [sys.executable, "-m", "sora2_widgets.cli", *args],
        capture_output=True,
        text=True,
        env=cli_env(home, env),
        cwd=cwd,
        timeout=180,
    )
