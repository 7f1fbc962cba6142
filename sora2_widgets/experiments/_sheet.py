"""``Sweep.contact_sheet``: every job's thumbnail in one PNG grid, each with a caption (Pillow).

A job without a thumbnail (failed, not run yet) keeps its place as a grey cell saying so, so the
grid's positions always match the plan's order.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._errors import ConfigError
from ._results import model_name, settings_of

__all__ = ["caption_lines", "contact_sheet"]

CELL_W, CELL_H = 320, 180
CAPTION_LINES = 3
LINE_H = 16
PAD = 8
#: Most columns a sheet gets when the caller does not say.
MAX_COLUMNS = 4


def _money(value: object) -> str:
    return f"${value:.2f}" if isinstance(value, float) and not math.isnan(value) else "—"


def caption_lines(row: Mapping[str, Any], settings: Sequence[str]) -> list[str]:
    """A cell's caption: number, model and status; the settings; the prompt (cut to fit)."""
    seconds = row.get("seconds")
    took = f" · {seconds:.1f} s" if isinstance(seconds, float) and not math.isnan(seconds) else ""
    cost = _money(row.get("cost_usd"))
    first = f"#{row['combination']} {model_name(row['model_id'])} · {row['status']} · {cost}{took}"
    shown = [f"{n}={row[n]}" for n in settings if row.get(n) is not None]
    prompt = " ".join(str(row["prompt"]).split())
    return [first, " ".join(shown) or "(defaults)", prompt]


def _fit(text: str, font: Any, width: int) -> str:
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def contact_sheet(rows: Sequence[Mapping[str, Any]], path: Path, *, columns: int | None = None) -> Path:
    """Draw the sheet and write it to ``path`` (a ``.png``) atomically; returns the path."""
    from PIL import Image, ImageDraw, ImageFont

    if path.suffix.lower() != ".png":
        raise ConfigError("path", f"must end in .png (the sheet is a PNG image), got {path.name!r:.60}")
    if columns is not None and (isinstance(columns, bool) or not isinstance(columns, int) or columns < 1):
        raise ConfigError("columns=", f"must be a whole number of 1 or more, got {columns!r:.40}")
    if not rows:
        raise ConfigError("sweep", "has no jobs, so there is nothing to draw")
    cols = columns or min(MAX_COLUMNS, len(rows))
    lines = math.ceil(len(rows) / cols)
    cell_h = CELL_H + PAD + CAPTION_LINES * LINE_H
    sheet = Image.new("RGB", (PAD + cols * (CELL_W + PAD), PAD + lines * (cell_h + PAD)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=13)
    settings = settings_of(rows)
    for i, row in enumerate(rows):
        x = PAD + (i % cols) * (CELL_W + PAD)
        y = PAD + (i // cols) * (cell_h + PAD)
        thumb = row.get("thumbnail_path")
        if thumb and Path(thumb).is_file():
            with Image.open(thumb) as img:
                picture = img.convert("RGB")
            picture.thumbnail((CELL_W, CELL_H))
            sheet.paste(picture, (x + (CELL_W - picture.width) // 2, y + (CELL_H - picture.height) // 2))
        else:
            draw.rectangle((x, y, x + CELL_W - 1, y + CELL_H - 1), fill="#d0d0d0")
            draw.text((x + PAD, y + PAD), f"no picture ({row['status']})", fill="#333333", font=font)
        for n, line in enumerate(caption_lines(row, settings)):
            draw.text((x, y + CELL_H + PAD // 2 + n * LINE_H), _fit(line, font, CELL_W), fill="black", font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside and renamed: an interrupted save never leaves half a PNG under the name.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".sheet-", suffix=".png")
    os.close(fd)
    try:
        sheet.save(tmp, format="PNG")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path.resolve()
