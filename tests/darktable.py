"""Import files into a brand-new darktable library, headless, and read back what darktable stored.

The real darktable (Debian's 4.2) runs under Xvfb with a fresh config, cache and library; a `luarc` in
its config folder imports each file and quits. darktable reads each file's sidecar on import (and
rewrites it, so callers import copies). Then `library.db` and `data.db` say what darktable made of
our sidecars: `images.flags & 7` is the star count, `flags & 8` means rejected; colour labels,
tags and the edit history have tables of their own.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

DARKTABLE = shutil.which("darktable")
XVFB_RUN = shutil.which("xvfb-run")
needs_darktable = pytest.mark.skipif(
    DARKTABLE is None or XVFB_RUN is None, reason="darktable and xvfb-run are not installed (apt: darktable xvfb xauth)"
)


@dataclass(frozen=True)
class Imported:
    stars: int
    rejected: bool
    labels: frozenset[int]
    tags: frozenset[str]
    history: tuple[tuple[int, str, int, bytes, str], ...]  # (num, operation, enabled, params, multi_name)


def _lua_string(text: str) -> str:
    return '"' + "".join(c if c.isalnum() or c in "/._- " else f"\\{ord(c):03d}" for c in text) + '"'


def import_files(files: list[Path], workdir: Path, timeout: float = 120.0) -> dict[str, Imported]:
    """Import `files` into a new library under `workdir`; what darktable stored, by file name."""
    for attempt in (1, 2):  # darktable under Xvfb occasionally hangs at start: one retry
        run = workdir / f"darktable-{attempt}"
        conf, cache = run / "config", run / "cache"
        conf.mkdir(parents=True)
        cache.mkdir()
        paths = ", ".join(_lua_string(str(f)) for f in files)
        (conf / "luarc").write_text(
            'local dt = require "darktable"\n'
            f"for _, f in ipairs({{{paths}}}) do dt.database.import(f) end\n"
            'dt.print_log("burstd-test: imported " .. #dt.database)\n'
            'dt.gui.action("global/quit", 0, "", "", 1.0)\n'
        )
        cmd = [XVFB_RUN, "-a", DARKTABLE, "--configdir", str(conf), "--cachedir", str(cache),
               "--library", str(run / "library.db"), "-d", "lua"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # darktable, Xvfb and xvfb-run: nothing left behind
            proc.communicate()
            continue
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        if proc.returncode == 0 and (run / "library.db").exists():
            return _read_library(run / "library.db", conf / "data.db")
        last = out.decode(errors="replace")[-2000:]
    raise AssertionError(f"darktable did not import the files:\n{last if 'last' in locals() else 'timed out twice'}")


def _read_library(library: Path, data: Path) -> dict[str, Imported]:
    db = sqlite3.connect(library)
    db.execute("ATTACH DATABASE ? AS data", [str(data)])
    result = {}
    for imgid, name, flags in db.execute("SELECT id, filename, flags FROM images"):
        labels = frozenset(c for (c,) in db.execute("SELECT color FROM color_labels WHERE imgid = ?", [imgid]))
        tags = frozenset(
            t for (t,) in db.execute(
                "SELECT t.name FROM tagged_images ti JOIN data.tags t ON t.id = ti.tagid WHERE ti.imgid = ?", [imgid]
            )
            if not t.startswith("darktable|")
        )
        history = tuple(db.execute(
            "SELECT num, operation, enabled, op_params, multi_name FROM history WHERE imgid = ? ORDER BY num", [imgid]
        ))
        result[name] = Imported(flags & 7, bool(flags & 8), labels, tags, history)
    db.close()
    return result


@contextmanager
def running_darktable(files: list[Path], conf: Path, timeout: float = 90.0) -> Iterator[int]:
    """darktable, open on a fresh library in `conf` with `files` imported, until the block ends.

    Yields the PID darktable wrote into its `library.db.lock`. Everything is killed afterwards.
    """
    conf.mkdir(parents=True)
    cache = conf.parent / "cache"
    cache.mkdir()
    paths = ", ".join(_lua_string(str(f)) for f in files)
    (conf / "luarc").write_text(
        'local dt = require "darktable"\n'
        f"for _, f in ipairs({{{paths}}}) do dt.database.import(f) end\n"
    )
    cmd = [XVFB_RUN, "-a", DARKTABLE, "--configdir", str(conf), "--cachedir", str(cache), "-d", "lua"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            lock = conf / "library.db.lock"
            if lock.exists() and lock.read_text().strip() and _rolls(conf / "library.db") >= 1:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("darktable did not start and import within the time limit")
            time.sleep(0.3)
        yield int(lock.read_text().strip("\x00 \n"))
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def _rolls(library: Path) -> int:
    if not library.exists():
        return 0
    try:
        db = sqlite3.connect(f"{library.as_uri()}?mode=ro", uri=True, timeout=0.2)
        try:
            return db.execute("SELECT count(*) FROM film_rolls").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0
