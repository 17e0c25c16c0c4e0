"""`burstd undo`: real bursts, real sidecars (darktable's with its history), the real CLI and daemon.

Every check that a sidecar is back compares its sha256 with the bytes it had before burstd; fields
are read with exiftool. The planner (`undo_plan`) is tested on plain values at the end.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from burstd.sidecar import files as sidecars
from burstd.store import Store
from burstd.models import ScanSettings
from burstd.pipeline import scan_folder
from burstd.undo.plan import EntryOutcome, JournalEntry, UndoAction, plan_undo
from tests.helpers_exiftool import exiftool_tags, needs_exiftool
from tests.photos import DATA, make_burst

pytestmark = pytest.mark.slow  # end-to-end scans and undo through the CLI, one with the real daemon

SIDECARS = Path(__file__).parent / "data" / "sidecars"
T0 = datetime(2026, 11, 24, 16, 0, 0)


def card(folder: Path, *, first: int = 1, source: str = "IMG_5910.jpg") -> Path:
    """A burst of three real JPEGs; frame 2 has darktable's sidecar (13-step history), frame 3 digiKam's."""
    folder.mkdir(parents=True)
    make_burst(folder, DATA / source, [1.0, 0.0, 2.5], start=T0, first_number=first, size=(600, 400))
    shutil.copyfile(SIDECARS / "IMG_0001.CR2.xmp", folder / f"DSC_{first + 1:04d}.JPG.xmp")
    shutil.copyfile(SIDECARS / "digikam_no_xpacket.xmp", folder / f"DSC_{first + 2:04d}.JPG.xmp")
    return folder


def state(folder: Path) -> dict[str, str]:
    """Every file in the folder (hidden ones too) and its sha256: proof of what is and is not there."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def journal_rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT session, path, previous, written_sha256, undone, outcome FROM journal ORDER BY id"
        ).fetchall()


@needs_exiftool
def test_undo_puts_back_exact_bytes_and_removes_what_burstd_created(burstd, tmp_path: Path) -> None:
    folder = card(tmp_path / "card")
    db = tmp_path / "c.sqlite3"
    before = state(folder)
    scan = burstd.json("scan", folder, "--force", "--cache", db)
    assert scan["summary"]["sidecars"] == {"created": 1, "updated": 2}
    assert exiftool_tags(folder / "DSC_0002.JPG.xmp")["XMP-burstd:Rank"] == 1
    assert set(state(folder)) == set(before) | {"DSC_0001.JPG.xmp"}

    result = burstd("undo", folder, "--cache", db, check=0)
    assert result.stdout.splitlines() == [
        f"removed  {folder.resolve() / 'DSC_0001.JPG.xmp'}",
        f"restored {folder.resolve() / 'DSC_0002.JPG.xmp'}",
        f"restored {folder.resolve() / 'DSC_0003.JPG.xmp'}",
        "sidecars: 1 removed, 2 restored",
    ]
    assert state(folder) == before  # byte for byte, no backup or temp file left beside the photos
    darktable = exiftool_tags(folder / "DSC_0002.JPG.xmp")
    assert darktable["XMP-xmp:Rating"] == 1 and not any(k.startswith("XMP-burstd:") for k in darktable)
    assert "XMP-xmp:Rating" not in exiftool_tags(folder / "DSC_0003.JPG.xmp")

    # The journal is in the database and stays there, marked undone.
    rows = journal_rows(db)
    assert len(rows) == 3 and all(r[4] is not None and r[5] == "undone" for r in rows)
    previous = {Path(r[1]).name: r[2] for r in rows}
    assert previous["DSC_0001.JPG.xmp"] is None
    assert previous["DSC_0002.JPG.xmp"] == (SIDECARS / "IMG_0001.CR2.xmp").read_bytes()


def test_a_second_undo_does_nothing(burstd, tmp_path: Path) -> None:
    folder = card(tmp_path / "card")
    db = tmp_path / "c.sqlite3"
    before = state(folder)
    burstd("scan", folder, "--force", "--cache", db, check=0)
    burstd("undo", folder, "--cache", db, check=0)
    again = burstd("undo", folder, "--cache", db, check=0)
    assert again.stdout == "nothing to undo\n" and again.stderr == ""
    assert state(folder) == before


def test_dry_run_changes_nothing(burstd, tmp_path: Path) -> None:
    folder = card(tmp_path / "card")
    db = tmp_path / "c.sqlite3"
    burstd("scan", folder, "--force", "--cache", db, check=0)
    after_scan = state(folder)
    dry = burstd("undo", folder, "--dry-run", "--cache", db, check=0)
    assert dry.stdout.splitlines()[0] == f"would remove  {folder.resolve() / 'DSC_0001.JPG.xmp'}"
    assert dry.stdout.splitlines()[-1] == "dry run, nothing changed: sidecars: would remove 1, would restore 2"
    assert state(folder) == after_scan
    assert all(r[4] is None for r in journal_rows(db))
    assert burstd.json("undo", folder, "--cache", db)["summary"] == {"removed": 1, "restored": 2}


@needs_exiftool
def test_a_sidecar_changed_since_is_kept_and_named(burstd, tmp_path: Path) -> None:
    folder = card(tmp_path / "card")
    db = tmp_path / "c.sqlite3"
    before = state(folder)
    burstd("scan", folder, "--force", "--cache", db, check=0)
    # The photographer gives frame 1 five stars in another program after burstd wrote it.
    edited = folder / "DSC_0001.JPG.xmp"
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-XMP-xmp:Rating=5", str(edited)], check=True)
    theirs = hashlib.sha256(edited.read_bytes()).hexdigest()

    result = burstd("undo", folder, "--cache", db, check=1)
    assert result.stdout.startswith(
        f"kept     {folder.resolve() / 'DSC_0001.JPG.xmp'}: changed since burstd wrote it (by you or another "
        "program), so it stays as it is; burstd's fields are still in it: "
    )
    assert hashlib.sha256(edited.read_bytes()).hexdigest() == theirs
    assert exiftool_tags(edited)["XMP-xmp:Rating"] == 5
    assert {k: v for k, v in state(folder).items() if k != edited.name} == before
    # Settled: it is not reported again.
    assert burstd("undo", folder, "--cache", db, check=0).stdout == "nothing to undo\n"


def test_a_deleted_sidecar_is_not_recreated(burstd, tmp_path: Path) -> None:
    folder = card(tmp_path / "card")
    db = tmp_path / "c.sqlite3"
    burstd("scan", folder, "--force", "--cache", db, check=0)
    (folder / "DSC_0002.JPG.xmp").unlink()
    out = burstd.json("undo", folder, "--cache", db, check=1)
    kept = [s for s in out["sidecars"] if s["action"] == "kept"]
    assert [Path(s["path"]).name for s in kept] == ["DSC_0002.JPG.xmp"] and "deleted" in kept[0]["reason"]
    assert not (folder / "DSC_0002.JPG.xmp").exists()


def test_several_scans_are_undone_back_to_before_the_first(burstd, tmp_path: Path) -> None:
    folder = card(tmp_path / "card")
    db = tmp_path / "c.sqlite3"
    before = state(folder)
    burstd("scan", folder, "--force", "--cache", db, check=0)
    first = state(folder)
    burstd("scan", folder, "-m", "5", "--cache", db, check=0)
    assert state(folder) != first
    sessions = burstd.json("undo", "--list", folder, "--cache", db)["sessions"]
    assert [(s["kind"], s["writes"], s["undoable"]) for s in sessions] == [("scan", 3, 3), ("scan", 3, 3)]
    newer, older = sessions[0]["id"], sessions[1]["id"]

    # The older session alone cannot be undone while the newer one's changes are on top of it.
    blocked = burstd.json("undo", "--session", older, "--cache", db, check=1)
    assert {s["action"] for s in blocked["sidecars"]} == {"blocked"}
    assert f"burstd session {newer}" in blocked["sidecars"][0]["reason"]
    burstd("undo", "--session", newer, "--cache", db, check=0)
    assert state(folder) == first
    burstd("undo", "--session", older, "--cache", db, check=0)
    assert state(folder) == before

    burstd("scan", folder, "--force", "--cache", db, check=0)
    burstd("scan", folder, "-m", "4", "--cache", db, check=0)
    burstd("undo", folder, "--cache", db, check=0)
    assert state(folder) == before


def test_session_targets_only_that_session(burstd, tmp_path: Path) -> None:
    a = card(tmp_path / "a")
    b = card(tmp_path / "b", first=10, source="pcb_004.JPG")
    db = tmp_path / "c.sqlite3"
    before_a = state(a)
    burstd("scan", a, "--force", "--cache", db, check=0)
    burstd("scan", b, "--force", "--cache", db, check=0)
    after_b = state(b)
    (session_b, session_a) = [s["id"] for s in burstd.json("undo", "--list", "--cache", db)["sessions"]]
    assert burstd.json("undo", "--list", a, "--cache", db)["sessions"][0]["id"] == session_a
    out = burstd.json("undo", "--session", session_a, "--cache", db)
    assert {s["action"] for s in out["sidecars"]} == {"removed", "restored"}
    assert all(s["sessions"] == [session_a] for s in out["sidecars"])
    assert state(a) == before_a and state(b) == after_b
    assert "no session 999" in burstd("undo", "--session", "999", "--cache", db, check=2).stderr


def test_scan_sessions_show_in_status(burstd, tmp_path: Path) -> None:
    folder = card(tmp_path / "card")
    db = tmp_path / "c.sqlite3"
    burstd("scan", folder, "--force", "--cache", db, check=0)
    burstd("scan", folder, "--dry-run", "--cache", db, check=0)  # a dry run is no session
    (session,) = burstd.json("status", "--cache", db, check=3)["sessions"]
    assert (session["kind"], session["folder"], session["files"], session["written"]) == ("scan", str(folder.resolve()), 3, 3)
    assert f"session {session['id']} (scan)" in burstd("status", "--cache", db, check=3).stdout


def test_usage_errors(burstd, tmp_path: Path) -> None:
    assert "name a folder" in burstd("undo", check=2).stderr
    assert "is not a folder" in burstd("undo", tmp_path / "nowhere", check=2).stderr


def test_the_journal_is_committed_before_the_sidecar_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash right after the rename must not lose the bytes it replaced: they are in the database
    (read here through another connection) before the sidecar is touched."""
    folder = card(tmp_path / "card")
    db = tmp_path / "c.sqlite3"
    seen: dict[str, bytes | None] = {}

    def at_the_worst_moment(path: Path) -> None:
        with sqlite3.connect(db) as other:
            row = other.execute("SELECT previous FROM journal WHERE path = ?", [str(path.parent.resolve() / path.name)]).fetchone()
        assert row is not None, f"{path} is about to change and is not journaled"
        seen[path.name] = row[0]

    monkeypatch.setattr(sidecars, "_before_replace", at_the_worst_moment)
    with Store.open(db) as store:
        scan_folder(folder, ScanSettings(force=True), store)
    assert seen == {
        "DSC_0001.JPG.xmp": None,
        "DSC_0002.JPG.xmp": (SIDECARS / "IMG_0001.CR2.xmp").read_bytes(),
        "DSC_0003.JPG.xmp": (SIDECARS / "digikam_no_xpacket.xmp").read_bytes(),
    }


def test_a_write_that_never_landed_is_recognised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, burstd) -> None:
    """Journaled, then another program changed the sidecar first: burstd did not write it, and undo
    leaves the other program's version alone."""
    folder = card(tmp_path / "card")
    db = tmp_path / "c.sqlite3"
    target = folder / "DSC_0002.JPG.xmp"
    other = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>\n"

    def meddle(path: Path) -> None:
        if path.name == target.name:
            path.write_bytes(other)

    monkeypatch.setattr(sidecars, "_before_replace", meddle)
    with Store.open(db) as store:
        report = scan_folder(folder, ScanSettings(force=True), store)
    assert [o.action for o in report.sidecars[folder / "DSC_0002.JPG"]] == ["failed"]
    monkeypatch.undo()
    out = burstd.json("undo", folder, "--cache", db, check=1)
    assert {Path(s["path"]).name: s["action"] for s in out["sidecars"]} == {
        "DSC_0001.JPG.xmp": "removed", "DSC_0002.JPG.xmp": "kept", "DSC_0003.JPG.xmp": "restored",
    }
    assert target.read_bytes() == other


def test_an_older_database_is_migrated(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    with Store.open(db) as store:  # made back into a schema-3 database, as burstd 0.2 left it
        conn = store.db.conn
        conn.execute("DROP TABLE journal")
        conn.execute("ALTER TABLE sessions DROP COLUMN kind")
        conn.execute("ALTER TABLE sessions DROP COLUMN open")
        conn.execute("ALTER TABLE sessions DROP COLUMN single_shots")
        conn.execute("DROP TABLE failures")
        conn.execute("ALTER TABLE files DROP COLUMN thumb")
        for column in ("brackets", "focus_stacks", "panoramas"):
            conn.execute(f"ALTER TABLE sessions DROP COLUMN {column}")
        conn.execute("INSERT INTO sessions (folder, started, ended, files, bursts, written, kept_manual, errors,"
                     " seconds) VALUES ('/p', 1, 2, 3, 1, 3, 0, 0, 0.5)")
        conn.execute("PRAGMA user_version = 3")
        conn.commit()
    with Store.open(db) as store:
        (session,) = store.sessions.recent()
        assert session["kind"] == "daemon" and session["files"] == 3
        assert session["single_shots"] is None  # its `bursts` counted bursts and single shots alike
        assert session["brackets"] is None and session["panoramas"] is None  # nor were sets told apart
        assert store.sessions.journal_pending() == []


# --- the daemon -----------------------------------------------------------------------------------


@needs_exiftool
def test_a_daemon_session_is_undone_while_the_daemon_runs(tmp_path: Path) -> None:
    from tests.test_daemon import Daemon

    root = tmp_path / "import"
    root.mkdir()
    daemon = Daemon(tmp_path, root)
    staged = card(tmp_path / "staging" / "card")
    before = state(staged)
    daemon.start()
    try:
        subprocess.run(["cp", "-r", str(staged), str(root / "card")], check=True)
        folder = root / "card"
        (session,) = daemon.wait_sessions(1)
        daemon.wait_for(lambda: (folder / "DSC_0001.JPG.xmp").exists(), what="the sidecars")
        assert session["kind"] == "daemon" and session["written"] == 2  # darktable's rating is manual: kept
        listed = daemon.cli("undo", "--list", folder)
        assert f"session {session['id']}" in listed.stdout and "daemon" in listed.stdout

        result = daemon.cli("undo", folder)
        assert result.returncode == 0, result.stderr
        assert state(folder) == before
        time.sleep(3.0)  # quiet_seconds is 1: long enough for the daemon to have reacted, had it
        assert state(folder) == before, "the daemon rated the folder again after the undo"
        assert len(daemon.status()["sessions"]) == 1
    finally:
        assert daemon.stop() == 0


# --- the planner, on plain values -----------------------------------------------------------------

P = Path("/card/DSC_0001.JPG.xmp")


def entry(i: int, previous: str | None, written: str, session: int = 1) -> JournalEntry:
    return JournalEntry(i, session, P, previous, written)


@pytest.mark.parametrize(
    ("entries", "selected", "now", "action", "source", "settled"),
    [
        # created, untouched since -> removed
        ([entry(1, None, "a")], {1}, "a", UndoAction.REMOVE, 1, {1: EntryOutcome.UNDONE}),
        # updated -> restored
        ([entry(1, "o", "a")], {1}, "a", UndoAction.RESTORE, 1, {1: EntryOutcome.UNDONE}),
        # changed by the photographer since -> kept
        ([entry(1, "o", "a")], {1}, "x", UndoAction.KEEP, None, {1: EntryOutcome.KEPT}),
        # created, then deleted by the photographer -> nothing to remove, settled
        ([entry(1, None, "a")], {1}, None, UndoAction.ALREADY, None, {1: EntryOutcome.NOT_APPLIED}),
        # updated, then deleted by the photographer -> not recreated
        ([entry(1, "o", "a")], {1}, None, UndoAction.KEEP, None, {1: EntryOutcome.KEPT}),
        # journaled but the write never landed (crash or failed write)
        ([entry(1, "o", "a")], {1}, "o", UndoAction.ALREADY, None, {1: EntryOutcome.NOT_APPLIED}),
        # three sessions: back to before the first
        ([entry(1, None, "a", 1), entry(2, "a", "b", 2), entry(3, "b", "c", 3)], {1, 2, 3}, "c",
         UndoAction.REMOVE, 1, {1: EntryOutcome.UNDONE, 2: EntryOutcome.UNDONE, 3: EntryOutcome.UNDONE}),
        # edited by the photographer between two sessions: back to their version, the older change stays
        ([entry(1, "o", "a", 1), entry(2, "p", "b", 2)], {1, 2}, "b",
         UndoAction.RESTORE, 2, {1: EntryOutcome.KEPT, 2: EntryOutcome.UNDONE}),
        # a failed write in between is stepped over
        ([entry(1, "o", "a", 1), entry(2, "a", "z", 2), entry(3, "a", "b", 3)], {1, 2, 3}, "b",
         UndoAction.RESTORE, 1, {1: EntryOutcome.UNDONE, 2: EntryOutcome.NOT_APPLIED, 3: EntryOutcome.UNDONE}),
        # only the older session: blocked by the newer one on top
        ([entry(1, "o", "a", 1), entry(2, "a", "b", 2)], {1}, "b", UndoAction.BLOCKED, None, {}),
        # ... unless the newer one's write never landed
        ([entry(1, "o", "a", 1), entry(2, "a", "b", 2)], {1}, "a", UndoAction.RESTORE, 1, {1: EntryOutcome.UNDONE}),
        # only the newer session
        ([entry(1, "o", "a", 1), entry(2, "a", "b", 2)], {2}, "b", UndoAction.RESTORE, 2, {2: EntryOutcome.UNDONE}),
    ],
)
def test_plan_undo(entries, selected, now, action, source, settled) -> None:
    (plan,) = plan_undo(entries, selected, {P: now})
    assert plan.action is action
    assert (plan.source.id if plan.source else None) == source
    assert dict(plan.settled) == settled
    if action in (UndoAction.RESTORE, UndoAction.REMOVE):
        assert plan.expected_sha256 == now


def test_plan_skips_sidecars_it_could_not_read_and_those_not_selected() -> None:
    other = Path("/card/DSC_0002.JPG.xmp")
    entries = [entry(1, None, "a"), JournalEntry(2, 2, other, None, "b")]
    assert plan_undo(entries, {1}, {}) == []
    assert [p.path for p in plan_undo(entries, {1}, {P: "a", other: "b"})] == [P]
