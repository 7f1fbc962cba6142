"""The options both clients take, listed once."""

from __future__ import annotations
