"""Text layout for the synthetic renderer: the built-in font at a size, and greedy word wrap by
rendered width (ellipsized past a line limit)."""

from __future__ import annotations

from functools import lru_cache

from PIL import ImageFont

__all__ = ["ELLIPSIS", "Font", "font", "wrap"]

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
ELLIPSIS = "\u2026"


@lru_cache(maxsize=32)
def font(size: int) -> Font:
    return ImageFont.load_default(size=size)


def _split_long_word(word: str, font: Font, max_width: float) -> list[str]:
    pieces: list[str] = []
    current = ""
    for ch in word:
        if current and font.getlength(current + ch) > max_width:
            pieces.append(current)
            current = ch
        else:
            current += ch
    if current:
        pieces.append(current)
    return pieces


def wrap(text: str, font: Font, max_width: float, max_lines: int) -> list[str]:
    """Greedy word wrap by rendered width; ellipsize if over ``max_lines``."""
    words: list[str] = []
    for word in " ".join(text.split()).split(" "):
        if word:
            words.extend(_split_long_word(word, font, max_width))
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= max_width:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    last = kept[-1]
    while last and font.getlength(last + ELLIPSIS) > max_width:
        last = last[:-1]
    kept[-1] = last.rstrip(" ,.;:-") + ELLIPSIS
    return kept
