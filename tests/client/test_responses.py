"""Reading fal's answers: Retry-After, details, retirement wording, network failures."""

from __future__ import annotations
