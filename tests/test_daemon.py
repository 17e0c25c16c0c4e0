"""The real daemon in a subprocess, real folders, files copied in the ways photographers copy them."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from burstd.daemon.watch import Watcher
from tests.conftest import ROOT
from tests.helpers_exiftool import exiftool_tags, needs_exiftool
from tests.photos import DATA, make_burst

pytestmark = pytest.mark.slow  # the real daemon in a subprocess

T0 = datetime(2026, 11, 24, 16, 0, 0)
SIZE = (900, 600)


class Daemon:
    """`burstd run` with its own config and state folders; stopped with SIGTERM at the end."""

    def __init__(self, base: Path, root: Path, extra_config: str = "", env: dict[str, str] | None = None) -> None:
        self.base, self.root = base, root
        self.config_home, self.state_home = base / "config", base / "state"
        (self.config_home / "burstd").mkdir(parents=True, exist_ok=True)
        self.write_config(extra_config)
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(self.config_home),
                    "XDG_STATE_HOME": str(self.state_home), **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.log_path = base / f"daemon-{time.monotonic_ns()}.log"

    def write_config(self, extra: str = "") -> None:
        (self.config_home / "burstd" / "config.toml").write_text(
            f'roots = ["{self.root}"]\nquiet_seconds = 1.0\nstable_seconds = 0.5\n{extra}\n'
        )

    def start(self, *, preexec_fn: Callable[[], None] | None = None, ready: bool = True,
              user_limits: dict[str, int] | None = None) -> Daemon:
        """Start it (under `preexec_fn`, e.g. a resource limit); with `ready`, wait until status says running.
        With `user_limits` (e.g. `{"max_inotify_watches": 2}`), it runs in a user namespace of its own
        whose /proc/sys/user limits are those: they cap the daemon only, never the host."""
        argv = [sys.executable, "-m", "burstd", "run", "-v"]
        if user_limits is not None:
            argv = in_user_namespace(argv, user_limits)
        self.log_path = self.base / f"daemon-{time.monotonic_ns()}.log"
        self.proc = subprocess.Popen(
            argv, env=self.env, cwd=self.base,
            stdout=self.log_path.open("w"), stderr=subprocess.STDOUT, preexec_fn=preexec_fn,
        )
        if ready:
            self.wait_for(lambda: self.status()["running"], what="the daemon to start")
        return self

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self.proc = None
        return code

    def cli(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "burstd", *map(str, args)], env=self.env,
                              capture_output=True, text=True, timeout=60)

    def status(self) -> dict:
        return json.loads(self.cli("status", "--json").stdout)

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_for(self, condition: Callable[[], bool], *, what: str, timeout: float = 45.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"the daemon exited ({self.proc.returncode}) waiting for {what}:\n{self.log()}")
            if condition():
                return
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}:\n{self.log()}")

    def wait_sessions(self, count: int) -> list[dict]:
        self.wait_for(lambda: len(self.status()["sessions"]) >= count, what=f"{count} session(s)")
        return self.status()["sessions"]


# Writes each `knob value` pair before `--` to /proc/sys/user/<knob>, then runs the rest of its arguments.
_SET_USER_LIMITS = ('while [ "$1" != -- ]; do printf "%s\\n" "$2" > "/proc/sys/user/$1" || exit 125; shift 2; done; '
                    'shift; exec "$@"')


def in_user_namespace(argv: list[str], limits: dict[str, int]) -> list[str]:
    """`argv` run in a new user namespace with its /proc/sys/user/<knob> limits (the kernel's per-namespace
    ucounts: they cap that namespace and everything in it, and leave the host's limits alone). The limits
    are set as root of an outer namespace; `argv` runs in a nested one as the caller's own uid and gid
    (no capabilities), so it sees the files as it would without the namespace. Counts start at zero in a
    new namespace: `{"max_inotify_watches": 2}` lets `argv` add exactly two watches. The test is skipped
    where user namespaces cannot be made."""
    for knob in limits:
        if "/" in knob or not (Path("/proc/sys/user") / knob).is_file():
            pytest.skip(f"this kernel has no per-user-namespace limit /proc/sys/user/{knob}")
    if shutil.which("unshare") is None:
        pytest.skip("no `unshare` (util-linux) to start the daemon in a user namespace with its own limits")
    pairs = [arg for knob, value in limits.items() for arg in (knob, str(int(value)))]
    prefix = ["unshare", "--user", "--map-root-user", "sh", "-c", _SET_USER_LIMITS, "sh", *pairs, "--",
              "unshare", "--user", f"--map-user={os.geteuid()}", f"--map-group={os.getegid()}"]
    probe = subprocess.run(["unshare", "-Ur", "true"], capture_output=True, text=True)
    if probe.returncode == 0:  # and the whole chain, limits written, with nothing to run
        probe = subprocess.run([*prefix, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot start a process in a new user namespace with {limits} here "
                    f"(`unshare --user` not permitted or too old: {probe.stderr.strip()})")
    return [*prefix, *argv]


HOST_LIMITS = ("/proc/sys/fs/inotify/max_user_watches", "/proc/sys/fs/inotify/max_user_instances",
               "/proc/sys/user/max_inotify_watches", "/proc/sys/user/max_inotify_instances")


def host_limits() -> dict[str, str]:
    """The host's inotify limits, as read from this (the test's own) namespace."""
    found = {}
    for path in HOST_LIMITS:
        with contextlib.suppress(OSError):
            found[path] = Path(path).read_text()
    return found


@pytest.fixture
def host_limits_untouched() -> Iterator[None]:
    """Proof that a test limiting the daemon leaves the host's inotify limits as they were."""
    before = host_limits()
    assert before, "no inotify limits to read in /proc/sys"
    yield
    assert host_limits() == before, "the test changed the host's inotify limits"


def watching(tmp_path: Path, kind: type[Daemon] = Daemon) -> Iterator[Daemon]:
    """A daemon of `kind` watching `tmp_path/import`, killed at the end if a test left it running."""
    root = tmp_path / "import"
    root.mkdir()
    d = kind(tmp_path, root)
    yield d
    if d.proc is not None:
        d.proc.kill()
        d.proc.wait()


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    yield from watching(tmp_path)


def staged(tmp_path: Path, name: str, blurs: list[float], *, first: int = 1, start: datetime = T0, source: str = "IMG_5910.jpg") -> Path:
    folder = tmp_path / "staging" / name
    folder.mkdir(parents=True)
    make_burst(folder, DATA / source, blurs, start=start, first_number=first, size=SIZE)
    return folder


def ratings(folder: Path) -> dict[str, int]:
    return {p.name.removesuffix(".xmp"): exiftool_tags(p)["XMP-xmp:Rating"] for p in sorted(folder.glob("*.xmp"))}


def sidecars_for(folder: Path, count: int) -> Callable[[], bool]:
    return lambda: len(list(folder.glob("*.xmp"))) >= count


@needs_exiftool
def test_cp_of_a_card_dump_is_grouped_and_rated(daemon: Daemon, tmp_path: Path) -> None:
    source = staged(tmp_path, "card", [1.0, 0.0, 2.0, 3.0])
    daemon.start()
    subprocess.run(["cp", "-r", str(source), str(daemon.root / "card")], check=True)
    card = daemon.root / "card"
    (session,) = daemon.wait_sessions(1)
    assert session["files"] == 4 and session["bursts"] == 1 and session["written"] == 4 and session["errors"] == 0
    assert session["single_shots"] == 0
    assert ratings(card) == {"DSC_0002.JPG": 3, "DSC_0001.JPG": 2, "DSC_0003.JPG": 1, "DSC_0004.JPG": 1}
    status = daemon.status()
    assert status["running"] and status["daemon"]["state"]["roots"] == [str(daemon.root)]
    assert daemon.cli("status").returncode == 0
    assert daemon.stop() == 0
    assert daemon.cli("status").returncode == 3


@needs_exiftool
def test_rsync_temp_names_and_mv_are_handled(daemon: Daemon, tmp_path: Path) -> None:
    a = staged(tmp_path, "a", [0.0, 2.0, 1.0])
    b = staged(tmp_path, "b", [2.0, 0.0], first=10, source="pcb_004.JPG")
    daemon.start()
    subprocess.run(["rsync", "-a", f"{a}/", f"{daemon.root / 'rsynced'}/"], check=True)
    (daemon.root / "moved").mkdir()
    for f in sorted(b.iterdir()):
        f.rename(daemon.root / "moved" / f.name)  # a rename within one file system: created only
    daemon.wait_sessions(2)
    assert ratings(daemon.root / "rsynced") == {"DSC_0001.JPG": 3, "DSC_0003.JPG": 2, "DSC_0002.JPG": 1}
    assert ratings(daemon.root / "moved") == {"DSC_0011.JPG": 3, "DSC_0010.JPG": 2}
    assert not [p for p in (daemon.root / "rsynced").iterdir() if p.name.startswith(".")]
    assert daemon.stop() == 0


@needs_exiftool
def test_a_file_written_slowly_is_rated_whole(daemon: Daemon, tmp_path: Path) -> None:
    source = staged(tmp_path, "slow", [0.0, 2.0])
    data = (source / "DSC_0001.JPG").read_bytes()
    daemon.start()
    card = daemon.root / "slow"
    card.mkdir()
    shutil.copy(source / "DSC_0002.JPG", card)
    with (card / "DSC_0001.JPG").open("wb") as f:
        for start in range(0, len(data), 4096):  # in chunks, each well within the stability wait
            f.write(data[start : start + 4096])
            f.flush()
            time.sleep(0.05)
    (session,) = daemon.wait_sessions(1)
    assert session["errors"] == 0, daemon.status()["errors"]
    assert ratings(card) == {"DSC_0001.JPG": 3, "DSC_0002.JPG": 2}
    assert daemon.stop() == 0


@needs_exiftool
def test_restart_catches_up_and_trailing_frames_regroup_only_the_last_burst(daemon: Daemon, tmp_path: Path) -> None:
    first = staged(tmp_path, "first", [0.0, 2.0, 1.0])  # scene 1 at T0
    later = T0.replace(second=5)
    second = staged(tmp_path, "second", [1.5, 0.0], first=4, start=later, source="pcb_004.JPG")  # scene 2
    card = daemon.root / "card"
    card.mkdir()
    for f in [*first.iterdir(), *second.iterdir()]:
        shutil.copy2(f, card)
    daemon.start()  # catch-up: the files were there before the daemon
    daemon.wait_sessions(1)
    before = {p.name: p.stat().st_mtime_ns for p in card.glob("*.xmp")}
    assert ratings(card) == {"DSC_0001.JPG": 3, "DSC_0002.JPG": 1, "DSC_0003.JPG": 2, "DSC_0004.JPG": 2, "DSC_0005.JPG": 3}
    assert daemon.stop() == 0
    # Two more frames of scene 2 arrive while burstd is stopped; a restart processes only them.
    more = staged(tmp_path, "more", [3.0, 0.5], first=6, start=later.replace(microsecond=200000), source="pcb_004.JPG")
    for f in more.iterdir():
        shutil.copy2(f, card)
    daemon.start()
    sessions = daemon.wait_sessions(2)
    assert sessions[0]["files"] == 2
    after = {p.name: p.stat().st_mtime_ns for p in card.glob("*.xmp")}
    for name in ("DSC_0001.JPG.xmp", "DSC_0002.JPG.xmp", "DSC_0003.JPG.xmp"):
        assert after[name] == before[name], f"{name} of the earlier burst was rewritten"
    tags = exiftool_tags(card / "DSC_0005.JPG.xmp")
    assert tags["XMP-burstd:BurstSize"] == 4 and tags["XMP-xmp:Rating"] == 3
    assert ratings(card)["DSC_0007.JPG"] == 2
    # A restart with nothing new redoes nothing.
    assert daemon.stop() == 0
    daemon.start()
    time.sleep(2.5)
    assert len(daemon.status()["sessions"]) == 2
    assert {p.name: p.stat().st_mtime_ns for p in card.glob("*.xmp")} == after
    assert daemon.stop() == 0


@needs_exiftool
def test_a_folder_config_changes_that_folder_only(daemon: Daemon, tmp_path: Path) -> None:
    sports, family = daemon.root / "sports", daemon.root / "family"
    sports.mkdir()
    (sports / ".burstd.toml").write_text("max_rank = 5\n")
    daemon.start()
    assert "max_rank" in daemon.cli("config", "show", sports).stdout
    for name, target in (("s", sports), ("f", family)):
        shutil.copytree(staged(tmp_path, name, [0.0, 1.0]), target, dirs_exist_ok=True)
    daemon.wait_sessions(2)
    assert ratings(sports) == {"DSC_0001.JPG": 5, "DSC_0002.JPG": 4}
    assert ratings(family) == {"DSC_0001.JPG": 3, "DSC_0002.JPG": 2}
    assert daemon.stop() == 0


def test_an_invalid_folder_config_skips_that_folder_and_shows_in_status(daemon: Daemon, tmp_path: Path) -> None:
    bad, good = daemon.root / "bad", daemon.root / "good"
    bad.mkdir()
    (bad / ".burstd.toml").write_text("max_rank = 9\nbogus = 1\n")
    daemon.start()
    shutil.copytree(staged(tmp_path, "b", [0.0, 1.0]), bad, dirs_exist_ok=True)
    shutil.copytree(staged(tmp_path, "g", [0.0, 1.0]), good, dirs_exist_ok=True)
    daemon.wait_for(sidecars_for(good, 2), what="the good folder's sidecars")
    daemon.wait_for(lambda: daemon.cli("status").returncode == 1, what="status to report the problem")
    out = daemon.cli("status").stdout
    assert "max_rank" in out and "bogus" in out
    assert not list(bad.glob("*.xmp"))
    assert daemon.stop() == 0


@needs_exiftool
@pytest.mark.parametrize("how", ["in place", "renamed into place"])
def test_a_fixed_folder_config_is_picked_up_without_a_restart(daemon: Daemon, tmp_path: Path, how: str) -> None:
    bad = daemon.root / "bad"
    bad.mkdir()
    (bad / ".burstd.toml").write_text("max_rank = 9\n")
    daemon.start()
    shutil.copytree(staged(tmp_path, "b", [0.0, 1.0]), bad, dirs_exist_ok=True)
    daemon.wait_for(lambda: daemon.cli("status").returncode == 1, what="status to report the problem")
    assert "max_rank" in daemon.cli("status").stdout
    if how == "in place":
        (bad / ".burstd.toml").write_text("max_rank = 4\n")
    else:  # as many editors save: a temp file renamed over the old one
        (bad / ".burstd.toml.new").write_text("max_rank = 4\n")
        os.replace(bad / ".burstd.toml.new", bad / ".burstd.toml")
    daemon.wait_for(sidecars_for(bad, 2), what="the fixed folder's sidecars")
    assert ratings(bad) == {"DSC_0001.JPG": 4, "DSC_0002.JPG": 3}
    daemon.wait_for(lambda: daemon.cli("status").returncode == 0, what="status to be healthy again")
    assert "max_rank" not in daemon.cli("status").stdout
    assert "SIGHUP" not in daemon.log()
    assert daemon.stop() == 0


def test_without_roots_run_and_status_name_the_config_file_to_edit(daemon: Daemon) -> None:
    config = daemon.config_home / "burstd" / "config.toml"
    config.unlink()
    daemon.start()
    create = (f"no roots to watch: create {config} with the folders to watch in `roots` (burstd's "
              "config/config.toml is a commented example), then restart burstd")
    daemon.wait_for(lambda: create in daemon.log(), what="the line naming the file")
    assert f"burstd: WARNING {create}\n" in daemon.log()
    status = daemon.cli("status")
    assert status.returncode == 1 and f"problem: {create}" in status.stdout, status
    assert daemon.stop() == 0
    config.write_text("roots = []\n")
    daemon.start()
    edit = f"no roots to watch: list the folders to watch in `roots` in {config}, then restart burstd"
    daemon.wait_for(lambda: edit in daemon.log(), what="the line naming the file")
    assert f"problem: {edit}" in daemon.cli("status").stdout
    assert daemon.stop() == 0


def test_invalid_global_config_stops_start_up_with_every_problem(daemon: Daemon) -> None:
    daemon.write_config("max_rank = 0\nworkers = -1\nbogus = 1\n")
    result = daemon.cli("run")
    assert result.returncode == 2
    assert all(key in result.stderr for key in ("max_rank", "workers", "bogus"))


def test_one_instance_per_user(daemon: Daemon) -> None:
    daemon.start()
    second = daemon.cli("run")
    assert second.returncode == 1 and "already running" in second.stderr
    assert "burstd: burstd" not in second.stderr  # one prefix: the message does not name burstd again
    assert daemon.stop() == 0


@needs_exiftool
def test_sighup_reloads_the_global_config(daemon: Daemon, tmp_path: Path) -> None:
    daemon.start()
    daemon.write_config("max_rank = 4\n")
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_for(lambda: "reloaded" in daemon.log(), what="the reload")
    shutil.copytree(staged(tmp_path, "x", [0.0, 1.0]), daemon.root / "x")
    daemon.wait_for(sidecars_for(daemon.root / "x", 2), what="sidecars")
    daemon.wait_sessions(1)
    assert ratings(daemon.root / "x") == {"DSC_0001.JPG": 4, "DSC_0002.JPG": 3}
    assert daemon.stop() == 0


def test_a_root_that_disappears_is_watched_again_when_it_returns(daemon: Daemon, tmp_path: Path) -> None:
    daemon.start()
    shutil.rmtree(daemon.root)
    daemon.wait_for(lambda: daemon.status()["daemon"]["state"]["missing_roots"] == [str(daemon.root)],
                    what="the root to be reported missing", timeout=40)
    assert daemon.cli("status").returncode == 1
    daemon.root.mkdir()
    daemon.wait_for(lambda: daemon.status()["daemon"]["state"]["missing_roots"] == [], what="the root to return", timeout=40)
    shutil.copytree(staged(tmp_path, "back", [0.0, 1.0]), daemon.root / "back")
    daemon.wait_for(sidecars_for(daemon.root / "back", 2), what="sidecars after the root returned")
    assert daemon.stop() == 0


def without_systemd_python(base: Path) -> str:
    """A PYTHONPATH on which `import systemd` fails, as on an install without the `systemd` extra."""
    blocker = base / "no-systemd-python" / "systemd"
    blocker.mkdir(parents=True, exist_ok=True)
    (blocker / "__init__.py").write_text('raise ImportError("systemd-python is not installed (hidden by the test)")\n')
    return f"{blocker.parent}{os.pathsep}{ROOT}"


class NotifySocket:
    """systemd's side of sd_notify: a real AF_UNIX datagram socket, each datagram kept with its arrival time."""

    def __init__(self, base: Path, *, abstract: bool = False) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = f"burstd-test-{os.getpid()}-{time.monotonic_ns()}"
            self.sock.bind(b"\0" + name.encode())
            self.address = f"@{name}"
        else:
            folder = base if len(str(base)) < 90 else Path(tempfile.mkdtemp(prefix="burstd-"))  # sun_path: 108 bytes
            self.address = str(folder / "notify.sock")
            self.sock.bind(self.address)
        self.sock.settimeout(0.2)
        self.received: list[tuple[float, str]] = []
        self._open = True
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while self._open:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.received.append((time.monotonic(), data.decode()))

    def texts(self) -> list[str]:
        return [text for _, text in list(self.received)]

    def has(self, line: str) -> bool:
        return any(line in text.split("\n") for text in self.texts())

    def close(self) -> None:
        self._open = False
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_notifications_reach_systemd_without_systemd_python(tmp_path: Path, abstract: bool) -> None:
    """Type=notify must work on an install without the optional `systemd` extra (a plain datagram)."""
    notify = NotifySocket(tmp_path, abstract=abstract)
    root = tmp_path / "import"
    root.mkdir()
    d = Daemon(tmp_path, root, env={"NOTIFY_SOCKET": notify.address, "WATCHDOG_USEC": "2000000",
                                     "PYTHONPATH": without_systemd_python(tmp_path)})
    d.env.pop("WATCHDOG_PID", None)
    try:
        d.start()
        d.wait_for(lambda: notify.has("READY=1") and notify.has("WATCHDOG=1"), what="READY=1 and WATCHDOG=1")
        assert any(line.startswith("STATUS=watching 1 root") for text in notify.texts() for line in text.split("\n"))
        assert d.stop() == 0
        deadline = time.monotonic() + 5
        while not notify.has("STOPPING=1") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert notify.has("STOPPING=1"), notify.texts()
        assert "systemd-python" not in d.log(), d.log()
    finally:
        if d.proc is not None:
            d.proc.kill()
        notify.close()


def test_watchdog_keeps_coming_while_a_long_session_settles(tmp_path: Path) -> None:
    """WatchdogSec= must not kill a daemon busy with a big card: the work itself says it is alive.

    WATCHDOG_USEC=1 s means systemd kills the daemon after 1 s without WATCHDOG=1; the session here
    (sidecars, then the review page's pictures) takes several seconds.
    """
    staging = tmp_path / "staging" / "big"
    staging.mkdir(parents=True)
    sources = sorted(DATA.glob("step*.jpg")) + [DATA / "flower.jpg", DATA / "IMG_5910.jpg"]
    for i in range(WATCHDOG_FILES):
        shutil.copy(sources[i % len(sources)], staging / f"IMG_{i:04d}.jpg")
    notify = NotifySocket(tmp_path)
    root = tmp_path / "import"
    root.mkdir()
    d = Daemon(tmp_path, root, "report = true\n",
               env={"NOTIFY_SOCKET": notify.address, "WATCHDOG_USEC": "1000000",
                    "PYTHONPATH": without_systemd_python(tmp_path)})
    d.env.pop("WATCHDOG_PID", None)
    try:
        d.start()
        shutil.copytree(staging, root / "big")
        (session,) = d.wait_sessions(1)
        d.wait_for((root / "big" / "burstd-report.html").exists, what="the review page", timeout=120)
        page_seen = time.monotonic()
        d.wait_for(lambda: d.status()["daemon"]["state"]["reports"] != {}, what="the page in status")
        assert d.stop() == 0
    finally:
        if d.proc is not None:
            d.proc.kill()
        notify.close()
    assert session["files"] == WATCHDOG_FILES
    settling = [at for at, text in notify.received if "settling" in text]
    assert settling, "STATUS= says what the daemon is busy with"
    assert page_seen - settling[0] > 3, "a session this quick proves nothing: use more files"
    beats = [at for at, text in notify.received if "WATCHDOG=1" in text.split("\n")]
    gaps = [b - a for a, b in zip(beats, beats[1:])]
    assert max(gaps) < 1.0 + WATCHDOG_SLACK, (
        f"{max(gaps):.1f} s without WATCHDOG=1 (systemd kills after 1 s); the session and its page took "
        f"{page_seen - settling[0]:.1f} s"
    )


WATCHDOG_FILES = 150
WATCHDOG_SLACK = 0.75  # a loaded CI machine may delay the main thread a little, never by seconds


def test_a_folder_named_dot_dot_x_is_inside_its_root(tmp_path: Path) -> None:
    """`..x` is a folder like any other name (a hidden one): the watcher must judge it by the rules of its root."""
    root = tmp_path / "import"
    (root / "..x").mkdir(parents=True)
    (root / "seen").mkdir()
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    watcher = Watcher((root,), inbox)
    watcher.start()
    try:
        for folder in ("..x", "seen"):
            shutil.copy(DATA / "flower.jpg", root / folder / "DSC_0001.JPG")
        deadline = time.monotonic() + 10
        paths: set[Path] = set()
        while time.monotonic() < deadline and root / "seen" / "DSC_0001.JPG" not in paths:
            try:
                paths.add(inbox.get(timeout=0.5).path)
            except queue.Empty:
                pass
        time.sleep(0.5)
        while not inbox.empty():
            paths.add(inbox.get().path)
    finally:
        watcher.stop()
    assert root / "seen" / "DSC_0001.JPG" in paths
    # Like every folder whose name starts with a dot (catch-up skips them too): never rated.
    assert root / "..x" / "DSC_0001.JPG" not in paths


@needs_exiftool
def test_a_deleted_frame_leaves_its_burst_which_is_re_rated(daemon: Daemon, tmp_path: Path) -> None:
    daemon.start()
    shutil.copytree(staged(tmp_path, "d", [0.0, 1.0, 2.0]), daemon.root / "d")
    card = daemon.root / "d"
    daemon.wait_sessions(1)
    assert exiftool_tags(card / "DSC_0002.JPG.xmp")["XMP-burstd:BurstSize"] == 3
    (card / "DSC_0001.JPG").unlink()  # the photographer deletes the pick in the file manager
    daemon.wait_sessions(2)
    tags = exiftool_tags(card / "DSC_0002.JPG.xmp")
    assert tags["XMP-burstd:BurstSize"] == 2 and tags["XMP-xmp:Rating"] == 3
    assert daemon.stop() == 0


@pytest.mark.usefixtures("host_limits_untouched")
def test_inotify_exhaustion_falls_back_to_polling(daemon: Daemon, tmp_path: Path) -> None:
    # No inotify instance at all for the daemon (and only for it: its own user namespace's limit).
    daemon.start(user_limits={"max_inotify_instances": 0})
    assert "inotify is not available" in daemon.log() and "polling" in daemon.log()
    assert daemon.status()["daemon"]["state"]["polled_roots"] == [str(daemon.root)]
    shutil.copytree(staged(tmp_path, "p", [0.0, 1.0]), daemon.root / "sub" / "p")
    daemon.wait_for(sidecars_for(daemon.root / "sub" / "p", 2), what="sidecars through the polling observer")
    assert daemon.stop() == 0


def test_the_review_page_is_written_after_each_session_when_asked(daemon: Daemon, tmp_path: Path) -> None:
    daemon.write_config("report = true\n")
    daemon.start()
    shutil.copytree(staged(tmp_path, "r", [0.0, 1.0, 2.0]), daemon.root / "r")
    page = daemon.root / "r" / "burstd-report.html"
    daemon.wait_for(page.exists, what="the review page")
    daemon.wait_for(lambda: daemon.status()["daemon"]["state"]["reports"] == {str(daemon.root / "r"): str(page)},
                    what="status to give the page's path")
    assert f"review page: {page}" in daemon.cli("status").stdout
    assert "DSC_0001.JPG" in page.read_text()
    assert not list((daemon.root / "r").glob("*.jpg")), "the page's pictures must stay in its hidden folder"
    assert len(daemon.status()["sessions"]) == 1, "the page's own pictures started a session"
    assert daemon.stop() == 0


@needs_exiftool
def test_a_folder_set_to_lightroom_names_gets_keywords_in_its_style(daemon: Daemon, tmp_path: Path) -> None:
    source = staged(tmp_path, "card", [0.0, 1.0, 2.0])
    (source / ".burstd.toml").write_text('sidecar_style = "lightroom"\npick_label = "green"\n')
    daemon.start()
    subprocess.run(["cp", "-r", str(source), str(daemon.root / "card")], check=True)
    card = daemon.root / "card"
    (session,) = daemon.wait_sessions(1)
    assert session["written"] == 3 and session["errors"] == 0
    assert sorted(p.name for p in card.glob("*.xmp")) == ["DSC_0001.xmp", "DSC_0002.xmp", "DSC_0003.xmp"]
    pick = exiftool_tags(card / "DSC_0001.xmp")
    assert pick["XMP-xmp:Rating"] == 3 and pick["XMP-darktable:Colorlabels"] == [2]
    assert pick["XMP-lr:HierarchicalSubject"][1] == "burstd|pick"
    assert pick["XMP-lr:HierarchicalSubject"][0].startswith("burstd|burst|2026-11-24 DSC_0001-")
    time.sleep(2.5)  # its own sidecars appearing never start another session
    assert len(daemon.status()["sessions"]) == 1


def test_long_work_beats_at_most_once_per_watchdog_interval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The keep-alive handed to the pipeline stages: rate-limited by the clock (the one thing faked)."""
    from burstd.config.files import load_global
    from burstd.daemon.lifecycle import Daemon as RunningDaemon
    from burstd.store import Store

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "n.sock"))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "n.sock"))
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")  # a beat every 0.5 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    (tmp_path / "import").mkdir()
    (tmp_path / "config.toml").write_text(f'roots = ["{tmp_path / "import"}"]\n')

    def sent() -> list[str]:
        texts = []
        while True:
            try:
                texts.append(sock.recv(4096).decode())
            except BlockingIOError:
                return texts

    now = [100.0]
    beats: list[tuple[float, list[str]]] = []
    with Store.open(tmp_path / "cache.sqlite3") as store:
        d = RunningDaemon(load_global(tmp_path / "config.toml"), store)
        d.heart.clock = lambda: now[0]
        try:
            d.heart.beat()  # the loop's own beat, just before the work starts
            beats.append((now[0], sent()))
            with d.heart.busy("settling /card") as progress:
                for done, now[0] in enumerate((100.1, 100.4, 100.5, 100.6, 100.99, 101.0, 101.2, 103.0), start=1):
                    progress("write", done, 8)
                    beats.append((now[0], sent()))
            assert d.heart.status_line().endswith("being analysed"), "the progress is gone with the work"
        finally:
            d.pool.shutdown()
            sock.close()
    assert [at for at, texts in beats if "WATCHDOG=1" in texts] == [100.0, 100.5, 101.0, 103.0]
    assert beats[3][1] == ["WATCHDOG=1", "STATUS=watching 1 root; 0 files arriving, 0 being analysed; settling /card: write 3/8"]
