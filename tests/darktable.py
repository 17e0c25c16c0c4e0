"""Import files into a brand-new darktable library, headless, and read back what darktable stored;
or run Lua in darktable on a config folder that lives across runs, as a photographer's does.

The real darktable (Debian's 4.2) runs under Xvfb with a fresh config, cache and library; a `luarc` in
its config folder imports each file and quits (`import_files`), or runs a Lua driver (`run_lua`).
darktable reads each file's sidecar on import (and rewrites it, so callers import copies). Then
`library.db` and `data.db` say what darktable made of our sidecars: `images.flags & 7` is the star
count, `flags & 8` means rejected, `group_id` the image's group leader; colour labels, tags and the
edit history have tables of their own. Xvfb can keep its screen in a file, for screenshots.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
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
    id: int = 0
    group_id: int = 0  # the id of the image's group leader (its own id when it stands alone)


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


def read_library(conf: Path) -> dict[str, Imported]:
    """What the library in darktable's config folder `conf` holds, by file name."""
    return _read_library(conf / "library.db", conf / "data.db")


def _read_library(library: Path, data: Path) -> dict[str, Imported]:
    db = sqlite3.connect(library)
    db.execute("ATTACH DATABASE ? AS data", [str(data)])
    result = {}
    for imgid, name, flags, group_id in db.execute("SELECT id, filename, flags, group_id FROM images"):
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
        result[name] = Imported(flags & 7, bool(flags & 8), labels, tags, history, imgid, group_id)
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


DRIVER = "burstd_test_driver"
_DRIVER_FRAME = """local dt = require "darktable"
local function log(text) dt.print_log("burstd-test: " .. tostring(text)) end
local function wait_for(what, done, seconds)
  for _ = 1, seconds * 10 do
    if done() then return end
    dt.control.sleep(100)
  end
  error("timed out waiting for " .. what)
end
local function ready()
  log("ready")
  wait_for("the test to go on", function()
    local f = io.open(GO_FILE)
    if f then f:close() end
    return f ~= nil
  end, 60)
end
log("started")
local ok, err = pcall(function()
BODY
end)
if not ok then log("FAILED " .. tostring(err)) end
log("end")
dt.gui.action("global/quit", 0, "", "", 1.0)
"""


def run_lua(
    conf: Path, body: str, timeout: float = 60.0, server_args: str = "", ready: Callable[[], None] | None = None
) -> list[str]:
    """Start darktable on its config folder `conf` (library.db inside), run the Lua `body` once
    darktable and its luarc are up, then quit; what `body` logged with `log(text)`.

    `body` runs as a module required from the end of `conf/luarc` for this run only (luarc is put
    back byte for byte afterwards), so a plugin burstd installed there is loaded first. It has
    `dt`, `log(text)`, `wait_for(what, done, seconds)` and `ready()`, and runs inside pcall: an error
    fails the run. `server_args` go to Xvfb; `ready`, the Python callable, is called when the driver
    calls `ready()`, which waits until it has returned. darktable sometimes hangs as it
    starts: one retry, from a copy of `conf` as it was.
    """
    conf.mkdir(parents=True, exist_ok=True)
    cache, backup, go = conf.parent / f"{conf.name}-cache", conf.parent / f"{conf.name}-before", conf.parent / "go"
    luarc, module = conf / "luarc", conf / "lua" / f"{DRIVER}.lua"
    original = luarc.read_bytes() if luarc.exists() else None
    shutil.rmtree(backup, ignore_errors=True)
    shutil.copytree(conf, backup, symlinks=True)
    last = "timed out twice"
    try:
        for _attempt in (1, 2):
            module.parent.mkdir(parents=True, exist_ok=True)
            module.write_text(_DRIVER_FRAME.replace("GO_FILE", _lua_string(str(go))).replace("BODY", body))
            before = original or b""
            newline = b"\n" if before and not before.endswith(b"\n") else b""
            luarc.write_bytes(before + newline + f'require "{DRIVER}"\n'.encode())
            go.unlink(missing_ok=True)
            cmd = [XVFB_RUN, "-a", *(["-s", server_args] if server_args else []), DARKTABLE,
                   "--configdir", str(conf), "--cachedir", str(cache), "-d", "lua"]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                out = _output_until_exit(proc, timeout, ready, go)
            except subprocess.TimeoutExpired:
                _restore(backup, conf)
                continue
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            logged = [line.split("burstd-test: ", 1)[1] for line in out.splitlines() if "burstd-test: " in line]
            if "end" in logged:
                failed = [line for line in logged if line.startswith("FAILED")]
                assert not failed, f"the Lua driver failed: {failed}\n{out[-3000:]}"
                return logged
            last = out[-3000:]
            _restore(backup, conf)
    finally:
        if original is None:
            luarc.unlink(missing_ok=True)
        else:
            luarc.write_bytes(original)
        module.unlink(missing_ok=True)
        shutil.rmtree(backup, ignore_errors=True)
    raise AssertionError(f"darktable did not run the test driver:\n{last}")


STARTED_WITHIN = 30.0  # seconds: darktable that has not run luarc by then has hung as it started


def _output_until_exit(proc: subprocess.Popen, timeout: float, ready: Callable[[], None] | None, go: Path) -> str:
    """darktable's output once it exits; calls `ready` when the driver logs "ready", then lets it go on.
    Raises TimeoutExpired after `timeout`, or sooner when the driver has not started."""
    started = time.monotonic()
    deadline = started + timeout
    chunks: list[bytes] = []
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    while True:
        data = proc.stdout.read()
        if data:
            chunks.append(data)
            if ready is not None and b"burstd-test: ready" in b"".join(chunks) and not go.exists():
                ready()
                go.touch()
        if proc.poll() is not None:
            rest = proc.stdout.read()
            return b"".join(chunks + ([rest] if rest else [])).decode(errors="replace")
        hung = time.monotonic() > started + STARTED_WITHIN and b"burstd-test: started" not in b"".join(chunks)
        if time.monotonic() > deadline or hung:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise subprocess.TimeoutExpired(proc.args, timeout)
        time.sleep(0.1)


def _restore(backup: Path, conf: Path) -> None:
    shutil.rmtree(conf)
    shutil.copytree(backup, conf, symlinks=True)


# darktablerc lines for a screenshot: a large window, thumbnails with their stars, labels and group
# mark always shown (extended overlays), burstd's module open in the right panel.
SCREENSHOT_RC = """ui_last/window_w=1400
ui_last/window_h=860
ui_last/window_x=0
ui_last/window_y=0
plugins/lighttable/images_in_row=4
plugins/lighttable/overlays/1/0=4
plugins/lighttable/overlays/1/1=4
plugins/lighttable/overlays/1/2=4
plugins/lighttable/burstd/expanded=TRUE
"""
SCREEN = (1400, 860)


def xvfb_framebuffer(folder: Path) -> str:
    """Xvfb arguments that keep its screen in `folder/Xvfb_screen0`, an XWD image (no X client needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    return f"-screen 0 {SCREEN[0]}x{SCREEN[1]}x24 -fbdir {folder}"


def save_screen(folder: Path, png: Path) -> None:
    """Xvfb's screen, as `xvfb_framebuffer` keeps it, saved as a PNG (24-bit TrueColor XWD, LSB first)."""
    import struct

    import numpy as np
    from PIL import Image

    data = (folder / "Xvfb_screen0").read_bytes()
    header = struct.unpack(">25I", data[:100])
    size, width, height, per_line, colours = header[0], header[4], header[5], header[12], header[19]
    assert header[11] == 32 and header[7] == 0, "expected 32 bits per pixel, least significant byte first"
    pixels = np.frombuffer(data, np.uint8, count=per_line * height, offset=size + colours * 12)
    rgb = pixels.reshape(height, per_line // 4, 4)[:, :width, 2::-1]
    png.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(rgb)).save(png)
