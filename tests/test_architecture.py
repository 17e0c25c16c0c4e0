"""Imports run one way: models/errors <- pure core <- I/O edges <- pipeline <- cli (STYLE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "burstd"
PURE_CORE = ["models", "errors", "naming", "ranking", "grouping", "features", "metadata", "xmp", "xmp_packet", "undo_plan",
             "arrivals", "settings_merge", "report_html", "tagging"]
FORBIDDEN_IN_CORE = {"os", "sqlite3", "sqlite_utils", "watchdog", "pyexiv2", "rawpy", "shutil", "subprocess", "tempfile",
                     "tomllib", "burstd.cache", "burstd.decode", "burstd.sidecars", "burstd.pipeline", "burstd.cli",
                     "burstd.discover", "burstd.daemon", "burstd.watch", "burstd.config", "burstd.service"}


def imports_of(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", PURE_CORE)
def test_pure_core_touches_no_disk(module: str) -> None:
    assert not imports_of(module) & FORBIDDEN_IN_CORE


@pytest.mark.parametrize("module", sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in {"cli", "__main__"}))
def test_nothing_imports_the_cli(module: str) -> None:
    assert "burstd.cli" not in imports_of(module)


def test_only_the_cache_speaks_sql() -> None:
    for path in PACKAGE.glob("*.py"):
        if path.stem != "cache":
            assert not imports_of(path.stem) & {"sqlite3", "sqlite_utils"}, path.name


def test_every_module_says_what_it_owns() -> None:
    for path in PACKAGE.glob("*.py"):
        assert ast.get_docstring(ast.parse(path.read_text())), f"{path.name} has no module docstring"
