"""``Sweep.report``: one HTML page that plays a sweep's videos, for sharing or archiving.

The videos (and their thumbnails, as posters) are **copied** into a folder beside the page,
``<page name>_files/``, and the page points at them by relative path. Linking to the data folder
instead would break as soon as the page is zipped and opened elsewhere; a copy makes the page and
its folder a unit that can be moved, zipped and unzipped. Every text (prompts, notes, errors,
settings, the sweep's name) is HTML-escaped, the page holds no script at all, and its content
security policy forbids one, so a prompt written as markup stays text.
"""

from __future__ import annotations

import html
import math
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .._errors import ConfigError
from ._results import model_name, settings_of

__all__ = ["media_folder", "write_report"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:1em}
figure{margin:0;border:1px solid #ddd;border-radius:6px;padding:.5em;background:#fafafa}
video,.none{width:100%;aspect-ratio:16/9;background:#ccc;display:block}
.none{display:flex;align-items:center;justify-content:center;color:#555}
figcaption{font-size:.85em;line-height:1.35}
.prompt{white-space:pre-wrap;margin:.3em 0}
.meta{color:#555}.error{color:#a00}.notes{font-style:italic;white-space:pre-wrap}
"""
#: No script may run, whatever the page ends up holding; media and images come from beside it.
_POLICY = "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'"


def media_folder(page: Path) -> Path:
    """Where the page's videos go: ``report_files/`` beside ``report.html``."""
    return page.with_name(page.stem + "_files")


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _copy(source: str | None, folder: Path, name: str) -> str | None:
    """Copy one media file into the folder (skipped when the same file is there already); returns
    its name there, or None when there is no file to copy."""
    if not source or not Path(source).is_file():
        return None
    src = Path(source)
    target = folder / (name + src.suffix.lower())
    if not (target.is_file() and target.stat().st_size == src.stat().st_size):
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
    return target.name


def _number(value: object, fmt: str) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value):
        return fmt.format(value)
    return None


def _figure(row: Mapping[str, Any], settings: Sequence[str], folder: Path, href: str) -> str:
    stem = f"{int(row['combination']):03d}-{row['model_id']}"
    video = _copy(row.get("local_path"), folder, stem)
    poster = _copy(row.get("thumbnail_path"), folder, stem + "-poster")
    if video:
        poster_attr = f' poster="{_e(href + quote(poster))}"' if poster else ""
        player = (
            f'<video src="{_e(href + quote(video))}"{poster_attr} controls loop muted playsinline preload="metadata">'
            "</video>"
        )
    else:
        player = f'<div class="none">{_e(row["status"])}</div>'
    meta = [f"#{row['combination']}", model_name(row["model_id"]), str(row["status"])]
    meta += [x for x in (_number(row.get("cost_usd"), "${:.2f}"), _number(row.get("seconds"), "{:.1f} s")) if x]
    shown = [f"{n}={row[n]}" for n in settings if row.get(n) is not None]
    parts = [
        f'<div class="meta">{_e(" · ".join(meta))}</div>',
        f'<div class="prompt">{_e(row["prompt"])}</div>',
        f'<div class="meta">{_e(" ".join(shown) or "(default settings)")}</div>',
    ]
    rating = row.get("rating")
    if isinstance(rating, int) and not isinstance(rating, bool):
        parts.append(f'<div class="meta">{_e("★" * rating + "☆" * (5 - rating))}</div>')
    if row.get("notes"):
        parts.append(f'<div class="notes">{_e(row["notes"])}</div>')
    if row.get("error"):
        parts.append(f'<div class="error">{_e(row["error"])}</div>')
    return f"<figure>{player}<figcaption>{''.join(parts)}</figcaption></figure>"


def write_report(name: str, rows: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Write the page (atomically) and copy its media beside it; returns the page's path."""
    if path.suffix.lower() not in (".html", ".htm"):
        raise ConfigError("path", f"must end in .html, got {path.name!r:.60}")
    path = path.resolve()
    folder = media_folder(path)
    href = quote(folder.name) + "/"
    settings = settings_of(rows)
    figures = "\n".join(_figure(r, settings, folder, href) for r in rows)
    done = sum(1 for r in rows if r["status"] == "completed")
    spent = sum(c for r in rows if isinstance(c := r.get("cost_usd"), float) and not math.isnan(c))
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">'
        f"<title>{_e(name)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{_e(name)}</h1>"
        f'<p class="meta">{_e(f"{len(rows)} jobs, {done} completed, ${spent:.2f} spent")}</p>'
        f'<div class="grid">\n{figures}\n</div></body></html>\n'
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".report-", suffix=".html")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(page)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
