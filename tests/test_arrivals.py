"""Debounce and sessions on plain values: a fake clock, no files."""

from __future__ import annotations

from pathlib import PurePath

from burstd.daemon.arrivals import Arrivals, Event

A = PurePath("/card/DSC_0001.JPG")
B = PurePath("/card/DSC_0002.JPG")
QUIET = 10.0


def quiet(_folder: PurePath) -> float:
    return QUIET


def test_cp_created_modified_closed_completes_after_the_close_grace() -> None:
    arr = Arrivals(stable_seconds=2.0, close_grace=0.3)
    arr.event(A, Event.CREATED, 0.0)
    arr.event(A, Event.MODIFIED, 0.1)
    arr.event(A, Event.CLOSED, 0.2)
    arr.observe(A, (100, 5), 0.25)
    assert arr.take_complete() == []
    arr.observe(A, (100, 5), 0.6)
    assert arr.take_complete() == [A]


def test_cp_p_sets_the_mtime_after_closing_and_is_analysed_once() -> None:
    arr = Arrivals(stable_seconds=2.0, close_grace=0.3)
    arr.event(A, Event.CREATED, 0.0)
    arr.event(A, Event.CLOSED, 0.1)
    arr.observe(A, (100, 5), 0.15)
    arr.event(A, Event.MODIFIED, 0.16)  # utime after close (IN_ATTRIB)
    arr.observe(A, (100, 9), 0.2)
    arr.observe(A, (100, 9), 0.55)
    assert arr.take_complete() == [A]
    assert arr.take_complete() == []


def test_rsync_rename_is_complete_at_once() -> None:
    arr = Arrivals(stable_seconds=2.0)
    arr.event(A, Event.MOVED_IN, 0.0)
    assert arr.take_complete() == [A]


def test_mv_without_close_waits_for_a_stable_stat() -> None:
    arr = Arrivals(stable_seconds=2.0)
    arr.event(A, Event.CREATED, 0.0)
    arr.observe(A, (100, 5), 0.5)
    arr.observe(A, (100, 5), 1.5)
    assert arr.take_complete() == []
    arr.observe(A, (100, 5), 2.6)
    assert arr.take_complete() == [A]


def test_a_growing_file_is_never_complete() -> None:
    arr = Arrivals(stable_seconds=2.0)
    arr.event(A, Event.CREATED, 0.0)
    for t in range(1, 20):
        arr.observe(A, (t * 1000, t), float(t))
        assert arr.take_complete() == []
    arr.observe(A, (19000, 19), 21.5)
    assert arr.take_complete() == [A]


def test_session_waits_for_quiet_writes_and_analysis() -> None:
    arr = Arrivals(stable_seconds=2.0)
    arr.event(A, Event.MOVED_IN, 0.0)
    arr.event(B, Event.CREATED, 1.0)
    assert arr.take_complete() == [A]
    assert arr.take_sessions(100.0, quiet) == []  # B still being written, A still analysed
    arr.analysed(A)
    arr.observe(B, (10, 1), 1.5)
    arr.observe(B, (10, 1), 4.0)
    assert arr.take_complete() == [B]
    assert arr.take_sessions(100.0, quiet) == []
    arr.analysed(B)
    assert arr.take_sessions(11.0, quiet) == []  # last activity at 1.5: quiet until 11.5
    (session,) = arr.take_sessions(12.0, quiet)
    assert session.folder == A.parent and session.arrived == {A, B} and not session.removed
    assert arr.take_sessions(50.0, quiet) == []


def test_deleted_files_leave_the_session() -> None:
    arr = Arrivals(stable_seconds=2.0)
    arr.event(A, Event.MOVED_IN, 0.0)
    arr.event(B, Event.CREATED, 0.0)
    arr.event(B, Event.DELETED, 0.5)
    arr.observe(A, None, 0.6)
    arr.take_complete()
    arr.analysed(A)
    (session,) = arr.take_sessions(20.0, quiet)
    assert session.arrived == {A} and session.removed == {B}


def test_a_file_that_vanishes_while_pending_is_removed() -> None:
    arr = Arrivals(stable_seconds=2.0)
    arr.event(A, Event.CREATED, 0.0)
    arr.observe(A, None, 0.5)
    assert arr.pending_files() == []
    (session,) = arr.take_sessions(20.0, quiet)
    assert session.removed == {A}


def test_deadlines_and_counts() -> None:
    arr = Arrivals(stable_seconds=2.0)
    assert arr.next_deadline(0.0, quiet) is None
    arr.event(A, Event.CREATED, 1.0)
    assert arr.next_deadline(1.0, quiet) == 3.0
    assert arr.counts() == (1, 0)
    arr.observe(A, (1, 1), 1.0)
    arr.observe(A, (1, 1), 3.0)
    arr.take_complete()
    assert arr.counts() == (0, 1)
    arr.analysed(A)
    assert arr.next_deadline(3.0, quiet) == 1.0 + QUIET or arr.next_deadline(3.0, quiet) == 3.0 + QUIET


def test_open_sessions_count_files_arrived_and_analysed_and_say_when_they_settle() -> None:
    arr = Arrivals(stable_seconds=2.0, close_grace=0.3)
    other = PurePath("/other/IMG_0001.JPG")
    arr.event(A, Event.MOVED_IN, 0.0)
    arr.event(B, Event.CREATED, 1.0)  # still being written
    arr.event(other, Event.MOVED_IN, 1.5)
    by_folder = {s.folder: s for s in arr.open_sessions(quiet)}
    assert [(s.files, s.analysed, s.settles_at) for s in by_folder.values()] == [(2, 0, 1.0 + QUIET), (1, 0, 1.5 + QUIET)]
    assert list(by_folder) == [A.parent, other.parent]
    arr.take_complete()  # A and `other` go to analysis
    arr.analysed(A)
    arr.observe(B, (10, 1), 2.0)  # B's stat changes: activity, the deadline moves
    assert [(s.files, s.analysed, s.settles_at) for s in arr.open_sessions(quiet)] == [(2, 1, 2.0 + QUIET), (1, 0, 1.5 + QUIET)]
    arr.analysed(other)
    arr.take_sessions(20.0, quiet)
    assert [s.folder for s in arr.open_sessions(quiet)] == [A.parent]  # B is still being written
