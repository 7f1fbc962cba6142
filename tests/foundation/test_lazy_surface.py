"""The public surface loads lazily (PEP 562) and is still complete: every name, dir(), star-import."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import sora2_widgets as sw

INIT = Path(sw.__file__)
HEAVY = ("pandas", "numpy", "av", "ipywidgets", "matplotlib", "pydantic", "httpx", "IPython", "starlette")


def _loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_loads_none_of_the_heavy_libraries() -> None:
    loaded = _loaded_after("import sora2_widgets")
    assert [m for m in HEAVY if m in loaded] == []
    assert "sora2_widgets._catalog" not in loaded and "sora2_widgets.emulator" not in loaded


def test_cli_help_loads_neither_the_catalog_nor_the_heavy_libraries() -> None:
    loaded = _loaded_after(
        "import contextlib, io, sys\n"
        "from sora2_widgets.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()): main(['--help'])"
    )
    assert [m for m in (*HEAVY, "rich") if m in loaded] == []
    assert "sora2_widgets._catalog" not in loaded and "sora2_widgets._schemas" not in loaded


def test_every_public_name_resolves_and_is_listed() -> None:
    for name in sw.__all__:
        assert getattr(sw, name) is not None, name
    assert set(sw.__all__) <= set(dir(sw))
    assert sw.Generator.__module__.startswith("sora2_widgets.generator")
    assert sw.MODELS[0].id


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        sw.NoSuchThing
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("an unknown name must raise AttributeError")


def test_star_import_gives_every_public_name() -> None:
    space: dict[str, object] = {}
    exec("from sora2_widgets import *", space)
    assert set(sw.__all__) <= set(space)


def test_the_type_checkers_imports_match_the_lazy_table() -> None:
    # What mypy/pyright see (the TYPE_CHECKING block) and what runs (_WHERE) name the same modules.
    tree = ast.parse(INIT.read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    seen = {
        alias.name: "." * node.level + (node.module or "")
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert seen == sw._WHERE
    assert set(seen) | {"__version__"} == set(sw.__all__)
