"""The messages a photographer reads (issue 14): the words every command uses for what it found and
what failed, its help, and what a dry run or a kept sidecar says.

Each test reads the text a user sees: the real command line (`burstd.cli.main.main` in this process,
or the real CLI in a subprocess), on real photos, real sidecars (read back by exiftool where it
matters), a real read-only mount, the real daemon.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from burstd import __version__
from burstd.analysis.analyse import analyse_file
from burstd.analysis.decode import raw_io_reason
from burstd.cli.main import main
from burstd.errors import ImageError
from burstd.exit_codes import COMMAND_EXIT_CODES
from burstd.models import FileProblem, Kind, SidecarAction, SidecarOutcome
from burstd.store import Store
from burstd.wording import counted, failure_lines, group_counts, session_summary
from tests.conftest import ROOT
from tests.helpers_exiftool import exiftool_tags, needs_exiftool
from tests.photos import DATA, make_burst
from tests.test_docs import all_commands

T0 = datetime(2026, 11, 24, 14, 3, 7)
SIZE = (900, 600)
ARW = "sony_alpha_a7iii_raw_image.ARW"  # a real 8 KB ARW: its header promises data the file does not hold
LIGHTROOM = DATA / "IMG_5910.xmp.orig"  # a real Lightroom sidecar (xmp:Rating="3")


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """The real command line, in this process: (exit code, stdout, stderr)."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as done:  # --help, --version, argparse's own usage errors
        code = done.code
    out = capsys.readouterr()
    return int(code or 0), out.out, out.err


def card(folder: Path, *, bursts: tuple[int, ...] = (3,), singles: int = 1) -> Path:
    """Bursts of these sizes, then single shots minutes apart, all real JPEGs with camera EXIF."""
    folder.mkdir(parents=True)
    number = 1
    for i, size in enumerate(bursts):
        make_burst(folder, DATA / ("pcb_004.JPG", "IMG_5910.jpg")[i % 2], [0.0, 1.0, 2.0, 0.5, 1.5][:size],
                   start=T0.replace(minute=i), first_number=number, size=SIZE, seed=i + 1)
        number += size
    for i in range(singles):
        make_burst(folder, DATA / "flower.jpg", [0.0], start=T0.replace(minute=20 + 5 * i), first_number=number,
                   size=(400, 300), seed=10 + i)
        number += 1
    return folder


# --- words and plurals ---------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "word", "plural", "text"), [
    (0, "burst", None, "0 bursts"), (1, "burst", None, "1 burst"), (2, "burst", None, "2 bursts"),
    (1, "single shot", None, "1 single shot"), (16, "single shot", None, "16 single shots"),
    (1, "error", None, "1 error"), (1, "file", None, "1 file"), (2, "entry", "entries", "2 entries"),
])
def test_every_count_takes_its_plural(n: int, word: str, plural: str | None, text: str) -> None:
    assert counted(n, word, plural) == text


def test_bursts_are_two_or_more_shots_and_groups_are_both() -> None:
    groups = group_counts([(5, Kind.BURST), (1, Kind.BURST), (1, Kind.BURST), (2, Kind.BURST), (1, Kind.BURST)])
    assert (groups.shots, groups.bursts, groups.single_shots, groups.groups) == (10, 2, 3, 5)
    assert str(groups) == "10 shots in 2 bursts and 3 single shots"
    assert str(group_counts([(1, Kind.BURST)])) == "1 shot in 0 bursts and 1 single shot"


def test_sets_are_named_by_kind_where_there_are_some() -> None:
    groups = group_counts([(5, Kind.BURST), (3, Kind.BRACKET), (1, Kind.BURST), (4, Kind.PANORAMA), (2, Kind.BURST)])
    assert (groups.bursts, groups.brackets, groups.focus_stacks, groups.panoramas, groups.groups) == (2, 1, 0, 1, 5)
    assert str(groups) == "15 shots in 2 bursts, 1 bracket, 1 panorama and 1 single shot"
    record = {"files": 9, "bursts": 1, "single_shots": 5, "brackets": None, "focus_stacks": 2, "panoramas": 0,
              "written": 9, "kept_manual": 0, "errors": 0, "seconds": 1.25}
    assert session_summary(record).startswith("9 files, 1 burst, 2 focus stacks, 5 single shots, 9 sidecars written")


def test_a_folders_cause_is_one_line_and_a_files_own_cause_names_the_file() -> None:
    card = Path("/card/DCIM/100MSDCF")
    read_only = "the folder is read-only (a write-protected card, or a read-only mount)"
    failed = [SidecarOutcome(card / f"DSC_{i:04d}.JPG.xmp", SidecarAction.FAILED, read_only, folder_wide=True)
              for i in range(106)]
    failed.append(SidecarOutcome(card / "DSC_0200.JPG.xmp", SidecarAction.FAILED, "is not XML"))
    failed.append(SidecarOutcome(Path("/card/DCIM/101MSDCF/DSC_0001.JPG.xmp"), SidecarAction.FAILED, read_only,
                                 folder_wide=True))
    problems = [FileProblem(card / "DSC_0300.ARW", "truncated or damaged RAW file")]
    assert failure_lines(problems, failed) == [
        (card / "DSC_0300.ARW", "truncated or damaged RAW file"),
        (card / "DSC_0200.JPG.xmp", "is not XML"),
        (card, f"106 sidecars not written: {read_only}"),
        (Path("/card/DCIM/101MSDCF/DSC_0001.JPG.xmp"), read_only),  # alone in its folder: named
    ]


# --- scan: what it found, what failed ------------------------------------------------------------


def test_a_truncated_raw_is_called_truncated_not_a_failing_card(capsys, tmp_path: Path) -> None:
    folder = card(tmp_path / "card", bursts=(2,), singles=0)
    shutil.copy(DATA / ARW, folder / "DSC_0009.ARW")
    code, out, err = cli(capsys, "scan", folder, "--cache", tmp_path / "c.sqlite3")
    assert code == 1
    assert err.splitlines() == [
        f"burstd: {folder / 'DSC_0009.ARW'}: truncated or damaged RAW file: it ends before the image data its "
        "header describes (8,255 bytes)"
    ]
    assert "1 file could not be read" in out and "sidecars could not be written" not in out


def test_a_read_error_of_the_disk_is_told_apart_from_a_damaged_file(tmp_path: Path) -> None:
    # /proc/self/mem is a real file whose read fails with EIO at offset 0, as a failing card's sector does.
    reason = raw_io_reason(Path("/proc/self/mem"))
    assert reason == "read error: the disk or card could not read it (Input/output error)"
    (tmp_path / "DSC_0001.ARW").symlink_to("/proc/self/mem")
    with pytest.raises(ImageError) as caught:
        analyse_file(tmp_path / "DSC_0001.ARW", 0)
    assert caught.value.reason == reason
    assert "truncated" in raw_io_reason(DATA / ARW)


def test_scan_counts_files_images_bursts_and_single_shots_in_one_vocabulary(capsys, tmp_path: Path) -> None:
    folder = card(tmp_path / "card", bursts=(3,), singles=1)
    (folder / "notes.txt").write_text("not a photo, and not named like one\n")
    cache = tmp_path / "c.sqlite3"
    code, out, err = cli(capsys, "scan", folder, "--cache", cache)
    assert (code, err) == (0, "")
    assert re.fullmatch(r"5 files, 4 images: 4 shots in 1 burst and 1 single shot; sidecars: 4 created; "
                        r"4 analysed, 0 from cache; no errors; \d+\.\d s\n", out), out
    code, out, _ = cli(capsys, "scan", folder, "--cache", cache, "--json")
    report = json.loads(out)
    summary = {k: v for k, v in report["summary"].items() if k != "seconds"}
    assert summary == {"files": 5, "images": 4, "shots": 4, "groups": 2, "bursts": 1, "single_shots": 1,
                       "brackets": 0, "focus_stacks": 0, "panoramas": 0, "analysed": 0, "cached": 4, "unreadable": 0, "sidecars": {"unchanged": 4}}
    assert [(g["kind"], g["size"]) for g in report["groups"]] == [("burst", 3), ("single_shot", 1)]
    # `burstd status` lists the scan's session in the same words.
    code, out, _ = cli(capsys, "status", "--cache", cache)
    assert "5 files, 1 burst, 1 single shot, 4 sidecars written, 0 manual ratings kept, 0 errors" in out  # scan 1
    assert "5 files, 1 burst, 1 single shot, 0 sidecars written, 0 manual ratings kept, 0 errors" in out  # --json


def test_scan_v_shows_the_photographers_stars_for_a_rating_it_kept(capsys, tmp_path: Path) -> None:
    folder = card(tmp_path / "card", bursts=(3,), singles=0)
    cache = tmp_path / "c.sqlite3"
    cli(capsys, "scan", folder, "--cache", cache)
    sidecar = folder / "DSC_0003.JPG.xmp"  # blur 3.0: burstd gave it 1 star; the photographer gives 5
    sidecar.write_text(sidecar.read_text().replace('xmp:Rating="1"', 'xmp:Rating="5"'))
    code, out, _ = cli(capsys, "scan", folder, "--cache", cache, "-v")
    line = next(line for line in out.splitlines() if "DSC_0003.JPG " in line)
    assert re.fullmatch(r"\s+3\. \*\*\*\*\* \(kept\)\s+\d\.\d\d  DSC_0003\.JPG  \[kept-manual "
                        r"\(burstd's rating would be \*\)\]", line), line
    assert "1 kept-manual" in out


def test_a_cards_top_folder_without_r_says_where_the_images_are(capsys, tmp_path: Path) -> None:
    top = tmp_path / "card"
    card(top / "DCIM" / "100MSDCF", bursts=(2,), singles=0)
    (top / "MISC").mkdir()
    (top / "MISC" / "AUTPRINT.MRK").write_text("[HDR]\n")
    cache = tmp_path / "c.sqlite3"
    hint = (f"{top} holds no images itself, only its sub-folders do (such as {top / 'DCIM' / '100MSDCF'}): "
            f"add -r to include them: burstd {{command}} -r {top}\n")
    assert cli(capsys, "scan", top, "--cache", cache) == (2, "", "burstd scan: " + hint.format(command="scan"))
    assert cli(capsys, "report", top, "--cache", cache) == (2, "", "burstd report: " + hint.format(command="report"))
    assert not list(top.rglob("*.xmp")) and not list(top.rglob("*.html"))
    code, out, _ = cli(capsys, "scan", top, "-r", "--cache", cache)
    # The card's other file is counted as a file, not an image.
    assert code == 0 and out.startswith("3 files, 2 images: 2 shots in 1 burst and 0 single shots;")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli(capsys, "scan", empty, "--cache", cache)[0] == 0  # nothing anywhere: nothing to say


@pytest.mark.skipif(os.geteuid() != 0, reason="a read-only mount needs root")
def test_a_write_protected_card_is_one_line_per_folder(capsys, tmp_path: Path) -> None:
    source = card(tmp_path / "source", bursts=(3, 3), singles=2)
    shutil.copy(DATA / ARW, source / "DSC_0099.ARW")
    mounted = tmp_path / "card"
    mounted.mkdir()
    if subprocess.run(["mount", "--bind", str(source), str(mounted)], capture_output=True).returncode != 0:
        pytest.skip("cannot bind-mount here")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(mounted)], check=True)
        code, out, err = cli(capsys, "scan", mounted, "--cache", tmp_path / "c.sqlite3")
        _, json_out, _ = cli(capsys, "scan", mounted, "--cache", tmp_path / "c.sqlite3", "--json")
    finally:
        subprocess.run(["umount", str(mounted)], check=True)
    assert code == 1
    assert err.splitlines() == [
        f"burstd: {mounted / 'DSC_0099.ARW'}: truncated or damaged RAW file: it ends before the image data its "
        "header describes (8,255 bytes)",
        f"burstd: {mounted}: 8 sidecars not written: the folder is read-only (a write-protected card, or a "
        "read-only mount)",
    ]
    # The summary tells what failed apart: a file not read, sidecars not written.
    assert "; sidecars: none; " in out and "; 1 file could not be read, 8 sidecars could not be written; " in out
    report = json.loads(json_out)  # --json still names each file
    assert len(report["errors"]) == 9 and report["summary"]["sidecars"] == {"failed": 8}
    assert not list(source.glob("*.xmp"))


# --- help ------------------------------------------------------------------------------------------


def test_help_shows_a_percent_sign_as_it_is(capsys) -> None:
    code, out, _ = cli(capsys, "report", "--help")
    assert code == 0 and "100% crop" in " ".join(out.split()) and "%%" not in out


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_the_version(capsys, flag: str) -> None:
    assert cli(capsys, flag) == (0, f"burstd {__version__}\n", "")


def test_every_command_has_its_exit_codes() -> None:
    runnable = {name for name, command in all_commands() if command.get_default("handler") is not None}
    assert runnable == set(COMMAND_EXIT_CODES)  # `config` is only a group of actions; `config show` runs


@pytest.mark.parametrize("name", sorted(COMMAND_EXIT_CODES))
def test_every_commands_help_ends_with_its_exit_codes(capsys, name: str) -> None:
    code, out, _ = cli(capsys, *name.split(), "--help")
    tail = "".join(out.split()).split("Exitcodes:")[-1]  # as wrapped: `sub-` may end a line
    expected = "; ".join(f"{int(c)} {m}" for c, m in sorted(COMMAND_EXIT_CODES[name].items())) + "."
    assert code == 0 and tail == "".join(expected.split())


def test_scans_help_lists_every_exit_code(capsys) -> None:
    out = " ".join(cli(capsys, "scan", "--help")[1].split())
    assert "Exit codes: 0 all done; 1 some files could not be read or some sidecars not written" in out
    assert "; 2 usage or configuration error, or DIR holds images only in sub-folders and -r was not given" in out
    assert "DIR the folder to rate" in out


# --- report ------------------------------------------------------------------------------------------


def test_report_into_a_folder_that_does_not_exist_is_refused(capsys, tmp_path: Path) -> None:
    folder = card(tmp_path / "card", bursts=(2,), singles=0)
    before = sorted(tmp_path.rglob("*"))
    missing = tmp_path / "not" / "there" / "page.html"
    assert cli(capsys, "report", folder, "-o", missing) == (
        2, "", f"burstd report: cannot write {missing}: the folder {missing.parent} does not exist "
        "(create it first, or choose another -o)\n")
    assert cli(capsys, "report", folder, "-o", tmp_path)[0:2] == (2, "")
    assert sorted(tmp_path.rglob("*")) == before  # no folder made, nothing written


@needs_exiftool
def test_the_page_reads_ratings_set_by_hand_in_a_lightroom_sidecar(capsys, tmp_path: Path) -> None:
    folder = card(tmp_path / "card", bursts=(3,), singles=1)
    for name, stars in (("DSC_0001.xmp", "5"), ("DSC_0004.xmp", "4")):  # Lightroom's naming: IMG.xmp
        (folder / name).write_text(LIGHTROOM.read_text().replace('xmp:Rating="3"', f'xmp:Rating="{stars}"'))
    cache = tmp_path / "c.sqlite3"
    code, out, _ = cli(capsys, "scan", folder, "--cache", cache)
    assert code == 0 and "2 kept-manual" in out
    code, out, _ = cli(capsys, "report", folder, "--cache", cache)
    assert code == 0 and "sidecars: 2 written by burstd, 2 manual kept; 0 errors;" in out
    page = (folder / "burstd-report.html").read_text()
    frames = {a["data-name"]: a for a in (dict(re.findall(r'(data-[a-z]+)="([^"]*)"', f))
                                          for f in re.findall(r'<figure class="frame[^>]*>', page))}
    for name, stars in (("DSC_0001.JPG", 5), ("DSC_0004.JPG", 4)):
        assert (frames[name]["data-state"], int(frames[name]["data-rating"])) == ("manual", stars)
        assert exiftool_tags(folder / name.replace(".JPG", ".xmp"))["XMP-xmp:Rating"] == stars
    assert re.search(r'data-total="manual kept"><b>2</b>', page)
    assert "no sidecar yet" not in page


# --- undo ----------------------------------------------------------------------------------------


@pytest.mark.slow  # exiftool writes and reads, three commands
@needs_exiftool
def test_undo_says_would_in_a_dry_run_and_what_of_burstd_a_kept_sidecar_holds(capsys, tmp_path: Path) -> None:
    folder = card(tmp_path / "card", bursts=(3,), singles=0)
    cache = tmp_path / "c.sqlite3"
    cli(capsys, "scan", folder, "--cache", cache)
    edited = folder / "DSC_0002.JPG.xmp"  # the photographer rates it in another program afterwards
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-XMP-xmp:Rating=5", str(edited)], check=True)
    tags = exiftool_tags(edited)
    burst_keyword = next(k for k in tags["XMP-lr:HierarchicalSubject"] if k.startswith("burstd|burst|"))
    kept = (f"{edited.resolve()}: changed since burstd wrote it (by you or another program), so it stays as it "
            "is; burstd's fields are still in it: burstd:Rating, burstd:BurstId, burstd:Rank, burstd:BurstSize, "
            f"burstd:Sharpness, burstd:Subjects; keywords {burst_keyword} (and their levels in dc:subject)")

    code, out, _ = cli(capsys, "undo", folder, "--cache", cache, "--dry-run")
    assert code == 1
    assert out.splitlines() == [
        f"would remove  {(folder / 'DSC_0001.JPG.xmp').resolve()}",
        f"would keep    {kept}",
        f"would remove  {(folder / 'DSC_0003.JPG.xmp').resolve()}",
        "dry run, nothing changed: sidecars: would keep 1, would remove 2",
    ]
    code, out, _ = cli(capsys, "undo", folder, "--cache", cache)
    assert out.splitlines()[1] == f"kept     {kept}" and out.splitlines()[-1] == "sidecars: 1 kept, 2 removed"
    # What the listing says is what the sidecar holds: the photographer's rating and burstd's fields.
    after = exiftool_tags(edited)
    assert after == tags and after["XMP-xmp:Rating"] == 5 and after["XMP-burstd:BurstId"]
    assert sorted(p.name for p in folder.glob("*.xmp")) == ["DSC_0002.JPG.xmp"]
    code, out, _ = cli(capsys, "undo", "--list", folder, "--cache", cache)
    assert ": 3 sidecar writes, 0 still to undo" in out


# --- status: the sessions of before the words were told apart --------------------------------------


def test_status_shows_an_old_sessions_groups_as_groups(capsys, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite3"
    Store.open(cache).close()
    with sqlite3.connect(cache) as conn:  # as recorded before `single_shots` existed: `bursts` held both
        conn.execute("INSERT INTO sessions (folder, started, ended, files, bursts, written, kept_manual, errors, "
                     "seconds, kind, open) VALUES ('/card', 1, 2, 23, 23, 23, 0, 1, 0.5, 'scan', 0)")
    out = cli(capsys, "status", "--cache", cache)[1]
    assert "/card: 23 files, 23 groups, 23 sidecars written, 0 manual ratings kept, 1 error, 0.5 s" in out


# --- the daemon ------------------------------------------------------------------------------------


@pytest.fixture
def held_lock(tmp_path: Path) -> Iterator[Path]:
    """The user's daemon lock, held as a running daemon holds it; yields the state home."""
    state = tmp_path / "state"
    (state / "burstd").mkdir(parents=True)
    with (state / "burstd" / "burstd.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield state


@pytest.mark.slow
def test_already_running_is_said_once(held_lock: Path, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "burstd", "run"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(held_lock),
                                 "XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert result.returncode == 1
    assert result.stderr == ("burstd: the daemon is already running for this user; "
                             "`burstd status` shows what it does\n")


@pytest.mark.slow
def test_the_daemon_logs_a_session_in_the_words_status_uses(tmp_path: Path) -> None:
    from tests.test_daemon import Daemon

    root = tmp_path / "watched"
    root.mkdir()
    daemon = Daemon(tmp_path, root)
    staged = card(tmp_path / "staged" / "mixed", bursts=(3,), singles=2)
    singles = card(tmp_path / "staged" / "singles", bursts=(), singles=3)
    daemon.start()
    try:
        os.rename(staged, root / "mixed")
        daemon.wait_sessions(1)
        os.rename(singles, root / "singles")
        sessions = daemon.wait_sessions(2)
        status = daemon.cli("status").stdout
    finally:
        assert daemon.stop() == 0
    by_folder = {Path(s["folder"]).name: s for s in sessions}
    assert (by_folder["mixed"]["bursts"], by_folder["mixed"]["single_shots"]) == (1, 2)
    assert (by_folder["singles"]["bursts"], by_folder["singles"]["single_shots"]) == (0, 3)
    log = daemon.log()
    for name, words in (("mixed", "5 files, 1 burst, 2 single shots, 5 sidecars written, 0 manual ratings kept, "
                                  "0 errors"),
                        ("singles", "3 files, 0 bursts, 3 single shots, 3 sidecars written, 0 manual ratings "
                                    "kept, 0 errors")):
        assert f"{root / name}: {words}" in log, log
        assert f"{(root / name).resolve()}: {words}" in status, status
