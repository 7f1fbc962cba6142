"""Prompt experiments (issue #15): comparing generations side by side (``compare``)."""

from __future__ import annotations

from ._compare import Compare, compare

__all__ = ["Compare", "compare"]
