"""The panel's stylesheet styles only classes the code sets: a rule for a removed widget is dead weight."""

from __future__ import annotations

import re
from pathlib import Path

import sora2_widgets
from sora2_widgets.panel._jobs import JobStatus
from sora2_widgets.panel._style import CSS

PACKAGE = Path(sora2_widgets.__file__).parent


def _code() -> str:
    files = [*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.js")]
    return "\n".join(p.read_text(encoding="utf-8") for p in files if p.name != "_style.py")


def test_every_styled_class_is_set_by_some_widget() -> None:
    code = _code()
    # A finished card gets sw-card-<status> and sw-pill-<status> from its final status word.
    ended = {f"sw-{kind}-{s.lower()}" for kind in ("card", "pill") for s in JobStatus.FINAL}
    styled = set(re.findall(r"\.(sw-[a-z0-9-]+)", CSS))
    dead = sorted(c for c in styled - ended if not re.search(rf"{re.escape(c)}(?![a-z0-9-])", code))
    assert styled and dead == [], f"CSS for classes no code sets: {dead}"
