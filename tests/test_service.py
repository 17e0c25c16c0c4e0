"""burstd.daemon.notify, burstd.daemon.systemd and systemd/burstd.service: notifications on a real
socket (with and without systemd-python), logging, the unit.

systemd itself is never needed: a test plays systemd's part by binding the NOTIFY_SOCKET, and
`systemd-analyze verify` checks the unit offline.
"""

from __future__ import annotations

import configparser
import os
import secrets
import shutil
import socket
import stat
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from burstd.daemon import systemd as service
from burstd.daemon.notify import Notifier
from burstd.daemon.systemd import UNIT_NAME, exec_command, install_service, unit_text

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "systemd" / "burstd.service"
SYSTEMD_VARS = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "INVOCATION_ID")

try:
    import systemd.daemon  # noqa: F401

    HAVE_SYSTEMD_PYTHON = True
except ImportError:
    HAVE_SYSTEMD_PYTHON = False

needs_systemd_python = pytest.mark.skipif(
    not HAVE_SYSTEMD_PYTHON, reason="systemd-python not installed (pip install -e '.[systemd]')"
)
needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed (apt-get install systemd)"
)

NOTIFY_ALL = """
from burstd.daemon.notify import Notifier
n = Notifier()
n.ready("watching 2 roots")
n.status("analysing 3 files\\nin ~/Pictures")
n.watchdog()
n.stopping()
"""


def python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter, outside any systemd unit unless `env` says otherwise."""
    clean = {k: v for k, v in os.environ.items() if k not in SYSTEMD_VARS}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        timeout=60,
    )


# --- sd_notify on a socket the test provides ---------------------------------------------------------


@pytest.fixture
def notify_dir(tmp_path: Path) -> Iterator[Path]:
    # sun_path holds 108 bytes; a deep pytest tmp_path (long TMPDIR in CI) may not fit.
    if len(str(tmp_path / "notify.sock")) < 100:
        yield tmp_path
    else:
        short = Path(tempfile.mkdtemp(prefix="burstd-"))
        yield short
        shutil.rmtree(short)


def listening(address: str | bytes) -> socket.socket:
    """What systemd does for a Type=notify unit: a datagram socket that receives sender credentials."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    sock.settimeout(10)
    return sock


def receive(sock: socket.socket, count: int) -> list[tuple[str, int]]:
    """`count` datagrams as (text, sender pid), the pid taken from SCM_CREDENTIALS like systemd does."""
    messages = []
    for _ in range(count):
        data, ancillary, _flags, _addr = sock.recvmsg(4096, socket.CMSG_SPACE(struct.calcsize("3i")))
        pids = [struct.unpack("3i", d[:12])[0] for level, kind, d in ancillary
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS]
        messages.append((data.decode(), pids[0] if pids else -1))
    return messages


def nothing_more(sock: socket.socket) -> bool:
    sock.settimeout(0.2)
    try:
        sock.recv(4096)
    except TimeoutError:
        return True
    return False


def run_notifier(notify_socket: str, sock: socket.socket) -> list[tuple[str, int]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", NOTIFY_ALL + "\nimport os; print(os.getpid())"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**{k: v for k, v in os.environ.items() if k not in SYSTEMD_VARS},
             "PYTHONPATH": str(ROOT), "NOTIFY_SOCKET": notify_socket},
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert err == ""
    messages = receive(sock, 4)
    assert nothing_more(sock)
    assert {pid for _, pid in messages} == {int(out)}, "systemd attributes messages to the main pid"
    return messages


EXPECTED = ["READY=1\nSTATUS=watching 2 roots", "STATUS=analysing 3 files in ~/Pictures", "WATCHDOG=1", "STOPPING=1"]


def test_notifications_arrive_on_the_notify_socket(notify_dir: Path) -> None:
    path = notify_dir / "notify.sock"
    with listening(str(path)) as sock:
        messages = run_notifier(str(path), sock)
    assert [text for text, _ in messages] == EXPECTED


def test_notifications_arrive_on_an_abstract_socket() -> None:
    # systemd's user manager uses a path, but containers and some managers hand out "@name".
    name = f"burstd-test-{secrets.token_hex(6)}"
    with listening(b"\0" + name.encode()) as sock:
        messages = run_notifier(f"@{name}", sock)
    assert [text for text, _ in messages] == EXPECTED


def test_a_vanished_notify_socket_does_not_stop_the_daemon(tmp_path: Path) -> None:
    result = python(NOTIFY_ALL + "print('still alive')", NOTIFY_SOCKET=str(tmp_path / "gone.sock"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "still alive\n"
    assert result.stderr.count("could not notify systemd") == 1, result.stderr


def test_outside_systemd_notifying_is_silent() -> None:
    result = python(NOTIFY_ALL + "print('done')")
    assert (result.returncode, result.stdout, result.stderr) == (0, "done\n", "")


# --- without systemd-python ---------------------------------------------------------------------------

WITHOUT_SYSTEMD_PYTHON = """
import sys
sys.modules["systemd"] = None  # makes every `import systemd...` raise ImportError
from burstd.daemon.notify import Notifier
from burstd.daemon.systemd import setup_logging
setup_logging()
n = Notifier()
n.ready("watching")
n.status("idle")
n.watchdog()
n.stopping()
print("ran to the end")
"""


def test_without_systemd_python_notifications_still_arrive(notify_dir: Path) -> None:
    # Type=notify must not depend on the optional extra: sd_notify is one datagram.
    path = notify_dir / "notify.sock"
    with listening(str(path)) as sock:
        result = python(WITHOUT_SYSTEMD_PYTHON, NOTIFY_SOCKET=str(path))
        assert result.returncode == 0, result.stderr
        assert [text for text, _ in receive(sock, 4)] == ["READY=1\nSTATUS=watching", "STATUS=idle", "WATCHDOG=1", "STOPPING=1"]
        assert nothing_more(sock)
    assert (result.stdout, result.stderr) == ("ran to the end\n", "")


def test_without_systemd_python_and_outside_systemd_it_says_nothing() -> None:
    result = python(WITHOUT_SYSTEMD_PYTHON)
    assert (result.returncode, result.stdout, result.stderr) == (0, "ran to the end\n", "")


# --- the watchdog interval ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("usec", "pid", "expected"),
    [
        ("60000000", None, 30.0),  # WatchdogSec=60 → ping every 30 s
        ("60000000", "self", 30.0),
        ("60000000", "other", None),  # meant for another process (we are its child)
        ("1000000", None, 0.5),
        (None, None, None),
        ("0", None, None),
        ("sixty", None, None),
        ("", None, None),
    ],
)
def test_watchdog_interval(usec: str | None, pid: str | None, expected: float | None,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, {"self": str(os.getpid()), "other": str(os.getpid() + 1)}.get(value, value))
    assert Notifier().watchdog_interval == expected


# --- logging ------------------------------------------------------------------------------------------

LOG_LINES = """
import logging, sys
from burstd.daemon.systemd import setup_logging
setup_logging(verbose="-v" in sys.argv)
setup_logging(verbose="-v" in sys.argv)  # idempotent: still one line per record
logging.basicConfig(format="root: %(message)s")  # the CLI's root handler must not print it twice
log = logging.getLogger("burstd.daemon")
log.debug("3 events coalesced")
log.info("watching 2 roots")
log.warning("root /media/card disappeared")
log.error("cannot write sidecar")
print([type(h).__name__ for h in logging.getLogger("burstd").handlers])
"""


def test_logging_goes_to_stderr_outside_systemd() -> None:
    result = python(LOG_LINES)
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        "burstd: watching 2 roots\n"
        "burstd: WARNING root /media/card disappeared\n"
        "burstd: ERROR cannot write sidecar\n"
    )
    assert result.stdout == "['StreamHandler']\n"


def test_verbose_logging_shows_debug() -> None:
    result = python(LOG_LINES.replace('"-v" in sys.argv', "True"))
    assert result.stderr.splitlines()[:2] == ["burstd: DEBUG 3 events coalesced", "burstd: watching 2 roots"]


def test_started_by_systemd_without_systemd_python_logs_to_stderr() -> None:
    # stderr of a unit goes to the journal anyway, just without the priority field.
    code = "import sys; sys.modules['systemd'] = None\n" + LOG_LINES
    result = python(code, JOURNAL_STREAM="8:12345", INVOCATION_ID="0123456789abcdef0123456789abcdef")
    assert result.stdout == "['StreamHandler']\n"
    assert "burstd: watching 2 roots\n" in result.stderr


@needs_systemd_python
@pytest.mark.parametrize("variable", ["JOURNAL_STREAM", "INVOCATION_ID"])
def test_started_by_systemd_logs_to_the_journal(variable: str) -> None:
    code = """
import logging
from burstd.daemon.systemd import setup_logging
setup_logging()
setup_logging()
[handler] = logging.getLogger("burstd").handlers
print(type(handler).__name__, handler._extra["SYSLOG_IDENTIFIER"])
"""
    result = python(code, **{variable: "8:12345"})
    assert (result.returncode, result.stdout) == (0, "JournalHandler burstd\n"), result.stderr


# --- installing the unit ------------------------------------------------------------------------------


def analyze_verify(unit: Path, tmp_path: Path) -> list[str]:
    """Problems `systemd-analyze --user verify` reports for `unit`; works without a running systemd."""
    # --user needs a runtime directory to build its (offline, test-mode) manager; a private one
    # keeps it away from a real session's.
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    result = subprocess.run(
        ["systemd-analyze", "--user", "verify", str(unit)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
    )
    # Unknown keys and bad values are only warnings (exit 0), so read the output too; lines about
    # other units on this machine are not ours to judge.
    problems = [line for line in (result.stdout + result.stderr).splitlines() if unit.name in line]
    if result.returncode != 0:
        problems.append(f"exit {result.returncode}: {result.stderr.strip()}")
    return problems


def test_install_writes_an_absolute_unit(tmp_path: Path) -> None:
    installation = install_service(unit_dir=tmp_path / "units", enable=False)
    lines = installation.lines
    unit = tmp_path / "units" / UNIT_NAME
    [exec_start] = [line for line in unit.read_text().splitlines() if line.startswith("ExecStart=")]
    command = exec_start.removeprefix("ExecStart=")
    assert command.endswith(" run")
    program = command.split('"')[1] if command.startswith('"') else command.split()[0]
    assert os.path.isabs(program) and os.access(program, os.X_OK), program
    assert stat.S_IMODE(unit.stat().st_mode) == 0o644
    assert os.listdir(tmp_path / "units") == [UNIT_NAME], "no temp file left behind"
    assert lines[0] == f"wrote {unit}"
    assert any("systemctl --user enable --now burstd.service" in line for line in lines)
    assert installation.done, "--no-enable asks for the unit only"
    assert install_service(unit_dir=tmp_path / "units", enable=False).lines[0] == f"replaced {unit}"


def test_install_keeps_everything_but_exec_start(tmp_path: Path) -> None:
    install_service(unit_dir=tmp_path, enable=False)
    template = [line for line in TEMPLATE.read_text().splitlines() if not line.startswith("ExecStart=")]
    installed = [line for line in (tmp_path / UNIT_NAME).read_text().splitlines() if not line.startswith("ExecStart=")]
    assert installed == template


def test_install_defaults_to_the_xdg_user_unit_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    install_service(enable=False)
    assert (tmp_path / "config" / "systemd" / "user" / UNIT_NAME).is_file()


@needs_systemd_analyze
def test_systemd_analyze_accepts_the_installed_unit(tmp_path: Path) -> None:
    install_service(unit_dir=tmp_path, enable=False)
    assert analyze_verify(tmp_path / UNIT_NAME, tmp_path) == []


@needs_systemd_analyze
def test_systemd_analyze_accepts_an_awkward_install_path(tmp_path: Path) -> None:
    # A home folder with a space and a percent sign: ExecStart= must quote and escape it.
    program = tmp_path / "Ann Lee 100%" / "burstd"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    unit = tmp_path / UNIT_NAME
    unit.write_text(unit_text(exec_command([str(program), "run"])))
    assert analyze_verify(unit, tmp_path) == []
    assert exec_command([str(program), "run"]) == f'"{tmp_path}/Ann Lee 100%%/burstd" run'


@needs_systemd_analyze
def test_systemd_analyze_check_catches_a_broken_unit(tmp_path: Path) -> None:
    # Proof that the check above can fail: a misspelt directive and a missing program.
    unit = tmp_path / UNIT_NAME
    unit.write_text(unit_text("/nonexistent/burstd run").replace("WatchdogSec=", "WatchDogSec="))
    problems = analyze_verify(unit, tmp_path)
    assert any("Unknown key 'WatchDogSec'" in p for p in problems), problems
    assert any("/nonexistent/burstd" in p for p in problems), problems


def fake_systemctl(tmp_path: Path, *, exit_code: int, stderr: str = "") -> Path:
    """A `systemctl` that records its arguments, so enabling is tested without a user manager."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "systemctl"
    script.write_text(f'#!/bin/sh\necho "$*" >> "{tmp_path / "calls"}"\necho "{stderr}" >&2\nexit {exit_code}\n')
    script.chmod(0o755)
    return bin_dir


def test_install_enables_through_systemctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(fake_systemctl(tmp_path, exit_code=0)))
    installation = install_service(unit_dir=tmp_path / "units")
    assert (tmp_path / "calls").read_text().splitlines() == ["--user daemon-reload", "--user enable --now burstd.service"]
    assert "ran `systemctl --user enable --now burstd.service`" in installation.lines and installation.done


def test_install_reports_a_failing_systemctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What an SSH session without a user bus gets.
    monkeypatch.setenv("PATH", str(fake_systemctl(tmp_path, exit_code=1, stderr="Failed to connect to bus: No medium found")))
    installation = install_service(unit_dir=tmp_path / "units")
    assert (tmp_path / "calls").read_text().splitlines() == ["--user daemon-reload"], "stops at the first failure"
    assert any("`systemctl --user daemon-reload` failed (exit 1: Failed to connect to bus: No medium found)" in line
               for line in installation.lines), installation.lines
    assert (tmp_path / "units" / UNIT_NAME).is_file() and not installation.done


def test_install_without_systemctl_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    installation = install_service(unit_dir=tmp_path / "units")
    assert any(line.startswith("systemctl not found") for line in installation.lines), installation.lines
    assert (tmp_path / "units" / UNIT_NAME).is_file() and not installation.done


def install_command(tmp_path: Path, bin_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `burstd install-service` in a subprocess, with `bin_dir` as its whole PATH and its own
    XDG_CONFIG_HOME (so the unit goes under tmp_path)."""
    clean = {k: v for k, v in os.environ.items() if k not in SYSTEMD_VARS}
    return subprocess.run(
        [sys.executable, "-m", "burstd", "install-service", *args], capture_output=True, text=True, timeout=60,
        env={**clean, "PYTHONPATH": str(ROOT), "PATH": str(bin_dir), "XDG_CONFIG_HOME": str(tmp_path / "config")},
    )


@pytest.mark.parametrize("failing", ["daemon-reload", "enable"])
def test_install_service_exits_1_when_systemctl_fails(tmp_path: Path, failing: str) -> None:
    # An SSH session without a user bus fails at daemon-reload; a unit systemd refuses, at enable.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text(
        f'#!/bin/sh\necho "$*" >> "{tmp_path / "calls"}"\n'
        f'case "$*" in *{failing}*) echo "Failed to connect to bus: No medium found" >&2; exit 1;; esac\nexit 0\n')
    (bin_dir / "systemctl").chmod(0o755)
    result = install_command(tmp_path, bin_dir)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    assert f"`systemctl --user {'daemon-reload' if failing == 'daemon-reload' else 'enable --now burstd.service'}` failed" \
        in result.stdout
    assert "run by hand in your login session: systemctl --user daemon-reload && systemctl --user enable --now " \
        "burstd.service" in result.stdout
    assert (tmp_path / "config" / "systemd" / "user" / UNIT_NAME).is_file(), "the unit is written all the same"


def test_install_service_exits_1_without_systemctl_and_0_when_it_works(tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    missing = install_command(tmp_path, empty)
    assert missing.returncode == 1 and "systemctl not found" in missing.stdout, missing
    assert install_command(tmp_path, empty, "--no-enable").returncode == 0, "only the unit was asked for"
    works = install_command(tmp_path, fake_systemctl(tmp_path, exit_code=0))
    assert works.returncode == 0 and "burstd is running" in works.stdout, works


def test_install_without_systemd_python_has_nothing_to_warn_about(tmp_path: Path) -> None:
    code = f"""
import sys; sys.modules["systemd"] = None
from pathlib import Path
from burstd.daemon.systemd import install_service
print("\\n".join(install_service(unit_dir=Path({str(tmp_path)!r}), enable=False).lines))
"""
    result = python(code)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stdout and "systemd-python" not in result.stdout, result.stdout


# --- the unit file itself -----------------------------------------------------------------------------


def test_every_line_of_the_unit_is_commented() -> None:
    lines = TEMPLATE.read_text().splitlines()
    uncommented = [
        f"{number}: {line}"
        for number, line in enumerate(lines, 1)
        if line.strip() and not line.startswith("#") and not (number > 1 and lines[number - 2].startswith("#"))
    ]
    assert uncommented == []


def test_the_unit_says_what_the_daemon_relies_on() -> None:
    unit = configparser.ConfigParser(interpolation=None, strict=True)
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read_string(TEMPLATE.read_text())
    expected = {
        "Type": "notify",  # the daemon sends READY=1
        "ExecStart": "%h/.local/bin/burstd run",
        "Restart": "on-failure",
        "WatchdogSec": "60",  # Notifier.watchdog_interval → 30 s
        "NoNewPrivileges": "yes",
        "Nice": "10",
        "IOSchedulingClass": "idle",
    }
    assert {key: unit["Service"].get(key) for key in expected} == expected
    assert unit["Install"]["WantedBy"] == "default.target"
    # StateDirectory= exists only for system units; burstd uses $XDG_STATE_HOME.
    assert "StateDirectory" not in unit["Service"]


def test_service_module_is_the_only_one_that_imports_systemd() -> None:
    import ast

    for path in (ROOT / "burstd").rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        if path != ROOT / "burstd" / "daemon" / "systemd.py":
            assert not {n for n in names if n.split(".")[0] == "systemd"}, path
    assert service.__doc__
