"""Bad input beyond the common cases of test_scan: unreadable and vanishing files, odd names."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import pytest

from burstd.analysis.analyse import analyse_file
from burstd.errors import ImageError
from tests.conftest import ROOT
from tests.photos import DATA, make_burst

T0 = datetime(2026, 11, 24, 9, 0, 0)

# The real CLI, as `nobody` when started as root (root reads every file). A dry run as root first
# imports everything a scan imports lazily (Pillow's plugins, exiv2, ...): the interpreter's and the
# venv's own files need not be readable by `nobody`.
_AS_NOBODY = """
import contextlib, io, os, sys, tempfile
import burstd.cli.main
if os.geteuid() == 0:
    with tempfile.TemporaryDirectory() as warm, contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        burstd.cli.main.main(["scan", sys.argv[2], "--dry-run", "--cache", os.path.join(warm, "c.sqlite3")])
    os.setgid(65534)
    os.setuid(65534)
    os.environ["XDG_CONFIG_HOME"] = "/nonexistent"  # nobody has no configuration (the test's is root's, unreadable)
sys.exit(burstd.cli.main.main(sys.argv[1:]))
"""


def test_unreadable_image_is_reported_and_the_rest_is_rated() -> None:
    # root reads everything: as root, burstd runs as `nobody` in a world-writable folder.
    folder = Path(tempfile.mkdtemp(prefix="burstd-unreadable-"))
    try:
        folder.chmod(0o777)
        make_burst(folder, DATA / "IMG_5910.jpg", [0.0, 1.5, 3.0], start=T0, first_number=1, size=(900, 600))
        locked = folder / "DSC_0009.JPG"
        shutil.copy(DATA / "flower.jpg", locked)
        locked.chmod(0o000)
        for p in folder.iterdir():
            if p != locked:
                p.chmod(0o666)
        result = subprocess.run(
            [sys.executable, "-c", _AS_NOBODY, "scan", str(folder), "--json", "--cache", str(folder / ".cache.sqlite3")],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120,
        )
        assert result.returncode == 1, result.stderr
        report = json.loads(result.stdout)
        assert report["errors"] == [{"path": str(locked), "reason": "permission denied"}]
        assert f"{locked}: permission denied" in result.stderr
        assert sorted(p.name for p in folder.glob("*.xmp")) == ["DSC_0001.JPG.xmp", "DSC_0002.JPG.xmp", "DSC_0003.JPG.xmp"]
    finally:
        shutil.rmtree(folder)


def test_a_file_that_vanished_is_named_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as err:
        analyse_file(tmp_path / "gone.JPG", 0)
    assert err.value.path == tmp_path / "gone.JPG"
    assert "vanished" in err.value.reason or "No such file" in err.value.reason


def test_unicode_and_non_utf8_names(burstd, tmp_path: Path) -> None:
    folder = tmp_path / "caf\u00e9 \U0001f4f7"
    folder.mkdir()
    make_burst(folder, DATA / "IMG_5910.jpg", [0.0, 2.0], start=T0, first_number=1, size=(900, 600), prefix="\u00e9t\u00e9_")
    odd = os.fsencode(folder) + b"/IMG_\xff\xfe.JPG"
    shutil.copy(DATA / "flower.jpg", os.fsdecode(odd))
    long_name = folder / ("x" * 240 + ".JPG")
    shutil.copy(DATA / "BlueSquare.jpg", long_name)
    result = burstd("scan", folder, "-v", check=None)
    # The 240-character name leaves no room for `.xmp` (255 bytes at most): reported, not fatal.
    assert result.returncode == 1
    assert (folder / "\u00e9t\u00e9_0001.JPG.xmp").exists()
    assert os.path.exists(odd + b".xmp")
    assert len([l for l in result.stderr.splitlines() if l.startswith("burstd:")]) == 1
