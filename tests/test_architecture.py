"""The layout shows the architecture, and imports run one way (STYLE.md):

models/errors <- pure core <- I/O edges <- pipeline <- daemon <- cli.

Every module of the package is found by walking it, and each must be placed by the layer table (by
its own name or its package's), so a new module can never be skipped silently.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "burstd"

BASE, PURE, EDGE, PIPELINE, DAEMON, CLI = range(6)
# A module takes the layer of the longest entry that names it or one of its packages.
LAYERS: dict[str, int] = {
    "burstd": BASE,
    "burstd.errors": BASE,
    "burstd.models": BASE,
    # The pure core: functions over values; no disk, no database, no watcher, no config files.
    "burstd.naming": PURE,
    "burstd.grouping": PURE,
    "burstd.sequences": PURE,
    "burstd.ranking": PURE,
    "burstd.people": PURE,
    "burstd.subject": PURE,
    "burstd.tagging": PURE,
    "burstd.paths": PURE,
    "burstd.wording": PURE,
    "burstd.exit_codes": PURE,
    "burstd.analysis.features": PURE,
    "burstd.analysis.metadata": PURE,
    "burstd.analysis.makernotes": PURE,
    "burstd.sidecar.xmp": PURE,
    "burstd.sidecar.packet": PURE,
    "burstd.sidecar.policy": PURE,
    "burstd.config.rules": PURE,
    "burstd.daemon.arrivals": PURE,
    "burstd.daemon.messages": PURE,
    "burstd.undo.plan": PURE,
    "burstd.report.html": PURE,
    # Thin edges, one owner each: decoding, files on disk, the database, configuration files, darktable.
    "burstd.fsio": EDGE,
    "burstd.exiv2": EDGE,
    "burstd.discover": EDGE,
    "burstd.analysis": EDGE,
    # Faces: measuring with cv2 like features, but it loads the shipped models and keeps one set of
    # nets per thread, so it sits with the decoders, not in the pure core.
    "burstd.analysis.faces": EDGE,
    "burstd.sidecar": EDGE,
    "burstd.store": EDGE,
    "burstd.config": EDGE,
    "burstd.darktable": EDGE,
    "burstd.daemon.watch": EDGE,
    "burstd.daemon.notify": EDGE,
    "burstd.daemon.systemd": EDGE,
    # The one pipeline, and what runs it once.
    "burstd.pipeline": PIPELINE,
    "burstd.undo": PIPELINE,
    "burstd.report": PIPELINE,
    "burstd.status": PIPELINE,
    # The daemon, then the command line on top.
    "burstd.daemon": DAEMON,
    "burstd.cli": CLI,
    "burstd.__main__": CLI,
}
FORBIDDEN_IN_PURE = {"os", "sqlite3", "sqlite_utils", "watchdog", "pyexiv2", "rawpy", "shutil", "subprocess",
                     "tempfile", "tomllib", "socket", "signal", "threading"}  # computing with numpy or cv2 is fine
# SQL: burstd's own database has one owner; darktable's library is read (read-only) by darktable code.
SQL_OWNERS = ("burstd.store", "burstd.darktable.library")
# exiv2 keeps process-wide state behind one lock: one module alone may call it.
EXIV2_OWNER = "burstd.exiv2"
# Files beside the photographer's are written one way (temp, fsync, replace); the store only moves
# a broken database aside.
RENAMERS = ("burstd.fsio", "burstd.store")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(name: str) -> int | None:
    while name:
        if name in LAYERS:
            return LAYERS[name]
        name = name.rpartition(".")[0]
    return None


def imports_of(name: str) -> set[str]:
    tree = ast.parse(MODULES[name].read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            # `from burstd.sidecar import xmp` imports the module burstd.sidecar.xmp
            found.update(f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in MODULES)
    return found


def test_the_walk_finds_the_packages() -> None:
    assert {"burstd.pipeline", "burstd.store", "burstd.sidecar", "burstd.daemon", "burstd.cli"} <= set(MODULES)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_has_a_place_in_the_layers(name: str) -> None:
    assert layer_of(name) is not None, f"{name} is in no layer: add it (or its package) to LAYERS"
    if name != "burstd" and not name.endswith(".__main__"):
        assert name in LAYERS or name.rpartition(".")[0] in LAYERS, f"{name}: its package has no layer"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_run_one_way(name: str) -> None:
    mine = layer_of(name)
    assert mine is not None
    for other in imports_of(name):
        if other == "burstd" or not other.startswith("burstd."):
            continue
        theirs = layer_of(other)
        assert theirs is not None and theirs <= mine, f"{name} (layer {mine}) imports {other} (layer {theirs})"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer_of(n) in (BASE, PURE)))
def test_pure_core_touches_no_disk(name: str) -> None:
    assert not {i.split(".")[0] for i in imports_of(name)} & FORBIDDEN_IN_PURE


@pytest.mark.parametrize("name", sorted(MODULES))
def test_only_the_store_speaks_sql(name: str) -> None:
    if not name.startswith(SQL_OWNERS):
        assert not imports_of(name) & {"sqlite3", "sqlite_utils"}, name


@pytest.mark.parametrize("name", sorted(MODULES))
def test_only_the_exiv2_adapter_imports_pyexiv2(name: str) -> None:
    if name != EXIV2_OWNER:
        assert not {i.split(".")[0] for i in imports_of(name)} & {"pyexiv2", "exiv2"}, name


def calls_of(name: str) -> set[str]:
    """`module.function` for every call of an attribute of a plain name (`os.replace(...)`)."""
    tree = ast.parse(MODULES[name].read_text())
    return {
        f"{node.func.value.id}.{node.func.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
    }


@pytest.mark.parametrize("name", sorted(MODULES))
def test_only_fsio_writes_through_a_temp_file(name: str) -> None:
    if not name.startswith(RENAMERS):
        hand_written = {"os.replace", "os.rename", "os.link", "tempfile.mkstemp", "tempfile.NamedTemporaryFile"}
        assert not calls_of(name) & hand_written, f"{name}: write files with burstd.fsio.write_atomically"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_says_what_it_owns(name: str) -> None:
    assert ast.get_docstring(ast.parse(MODULES[name].read_text())), f"{name} has no module docstring"


def test_status_loads_no_image_library(tmp_path: Path) -> None:
    """`burstd status` answers fast: it must not import OpenCV, rawpy, exiv2 or the analysis code."""
    code = (
        "import sys\n"
        "from burstd.cli.main import main\n"
        f"rc = main(['status', '--cache', {str(tmp_path / 'none.sqlite3')!r}])\n"
        "heavy = sorted(m for m in ('cv2', 'rawpy', 'pyexiv2', 'imagehash', 'watchdog', 'burstd.analysis.decode')"
        " if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr
