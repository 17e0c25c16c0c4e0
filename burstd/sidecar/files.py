"""The only module that reads or writes XMP sidecar files (`IMG_0001.CR2.xmp`).

A sidecar may hold hours of darktable edits, so `write_sidecar`, the one way to write one, is careful:

* the sidecar is read once into memory (symlinks are never followed, images never opened) and
  checked against exiv2 (`verify.py`); `policy.py` decides what to do with it;
* an edit changes only the bytes of the values burstd owns (`packet.update_packet`), and exiv2 must
  read the result as exactly the old metadata plus burstd's values;
* every write is first told to a journal (the bytes it replaces), so `restore_sidecar` can put a
  sidecar back exactly, under the same checks, for `burstd undo`;
* the bytes go through `fsio.write_atomically`: a new sidecar is hard-linked into place, which
  fails rather than overwrite one that appeared meanwhile; an existing one is replaced, keeping its
  permission bits and owner, only if just before the replace it is still byte for byte what was
  read, so another program's change is never lost; read-only sidecars are never replaced.

exiv2 itself is not used to write: it re-serialises the whole packet (drops the `<?xml?>`
declaration, adds an xpacket wrapper, replaces the toolkit name) and keeps a process-wide prefix
table, so once it has seen `http://darktable.sf.net/` spelt `dt:`, it writes every later darktable
sidecar with `dt:` prefixes.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

from burstd import fsio
from burstd.errors import CacheError, SidecarChangedError, SidecarError, SidecarFolderError
from burstd.models import SidecarAction, SidecarFields, SidecarOutcome
from burstd.sidecar import packet, policy, xmp
from burstd.sidecar.verify import edited_packet, read_state

MAX_SIDECAR_BYTES = 32 * 1024 * 1024  # far beyond any real sidecar; guards against odd files

CHANGED = "changed by another program while burstd was writing; left as it is"
APPEARED = fsio.APPEARED
READ_ONLY = "sidecar is read-only"
SYMLINK = "is a symbolic link; burstd never follows sidecar links"
CHANGED_BEFORE_UNDO = "changed while burstd was undoing; left as it is"

# Told of every write just before it happens: (sidecar, the bytes it replaces or None, sha256 of
# the bytes written). `burstd undo` relies on it being called, and committed, before the file changes.
Journal = Callable[[Path, bytes | None, str], None]

# Test seam: runs once the new content is safely in the temp file, just before it is moved into
# place (tests use it to play "another program" writing the sidecar at the worst moment).
_before_replace: Callable[[Path], None] = lambda path: None


class SidecarWrite(NamedTuple):
    """What `write_sidecar` did, and what burstd now knows of the sidecar (None: nothing worth keeping)."""

    outcome: SidecarOutcome
    memo: xmp.SidecarMemo | None


@dataclass(frozen=True)
class _Snapshot:
    """A sidecar's bytes as read, and what identifies that version of the file."""

    data: bytes
    size: int
    mtime_ns: int
    ino: int
    digest: str
    mode: int
    uid: int
    gid: int


def write_sidecar(
    path: Path,
    fields: SidecarFields,
    *,
    force: bool = False,
    dry_run: bool = False,
    exclude: bool = False,
    journal: Journal | None = None,
    memo: xmp.SidecarMemo | None = None,
    darktable_rating: int | None = None,
) -> SidecarWrite:
    """Create or update the sidecar at `path` with burstd's `fields`, as `policy` decides.

    `memo`, what burstd last knew of it, spares the read while its fingerprint still holds;
    `darktable_rating`, the rating darktable gives at import, tells its untouched default from a
    rating set by hand (`xmp.is_import_default`). Every problem comes back as a FAILED outcome, with
    the sidecar left as it was.
    """
    try:
        return _write(path, fields, force=force, dry_run=dry_run, exclude=exclude, journal=journal, memo=memo,
                      darktable_rating=darktable_rating)
    except SidecarError as err:
        folder_wide = isinstance(err, SidecarFolderError)
        return SidecarWrite(SidecarOutcome(path, SidecarAction.FAILED, err.reason, folder_wide=folder_wide), None)
    except OSError as err:  # the disk said no in a way not foreseen above: still one file's problem
        return SidecarWrite(SidecarOutcome(path, SidecarAction.FAILED, fsio.os_reason(err)), None)


def _write(
    path: Path,
    fields: SidecarFields,
    *,
    force: bool,
    dry_run: bool,
    exclude: bool,
    journal: Journal | None,
    memo: xmp.SidecarMemo | None,
    darktable_rating: int | None,
) -> SidecarWrite:
    """`write_sidecar`, raising SidecarError or OSError: decide unread if possible, else read, decide, apply."""
    held = memo if memo is not None and not exclude and fingerprint(path) == memo.fingerprint else None
    exists = exclude and os.path.lexists(path)
    known = None if held is None else held.state
    early = policy.decide_unread(
        fields, exclude=exclude, exists=exists, known=known, force=force, darktable_rating=darktable_rating
    )
    if early is not None:
        return SidecarWrite(early.outcome(path), held)
    snapshot = _snapshot(path)
    state = None if snapshot is None else _state_of(path, snapshot)
    decision = policy.decide(state, fields, force=force, dry_run=dry_run, darktable_rating=darktable_rating)
    if decision.leaves_alone:
        assert snapshot is not None and state is not None
        return SidecarWrite(decision.outcome(path), None if dry_run else _memo_of(snapshot, state))
    if snapshot is None:
        if decision.writes:
            new = packet.new_packet(fields)
            _create(path, _journaled(journal, path, None, new))
    else:
        # A dry run goes as far as it can without writing, so it reports the same failures.
        _check_writable(path, snapshot)
        new = edited_packet(path, snapshot.data, decision.plan)
        if decision.writes:
            _replace(path, snapshot, _journaled(journal, path, snapshot.data, new))
    return SidecarWrite(decision.outcome(path), _memo_after_write(path) if decision.writes else None)


def read_sidecar(path: Path) -> xmp.SidecarState | None:
    """What the sidecar at `path` says about burstd's properties; None when there is none."""
    snapshot = _snapshot(path)
    return None if snapshot is None else _state_of(path, snapshot)


def _state_of(path: Path, snapshot: _Snapshot) -> xmp.SidecarState:
    """The sidecar's state as read, with when the file was written (see `xmp.is_import_default`)."""
    return replace(read_state(path, snapshot.data), written_ns=snapshot.mtime_ns)


def known_state(path: Path, memo: xmp.SidecarMemo | None) -> tuple[xmp.SidecarState | None, xmp.SidecarMemo | None]:
    """What a sidecar burstd only reads says (None: there is none), from `memo` while it still holds.

    Returns the state and a memo for the cache. Raises SidecarError when it cannot be read.
    """
    if memo is not None and fingerprint(path) == memo.fingerprint:
        return memo.state, memo
    snapshot = _snapshot(path)
    if snapshot is None:
        return None, None
    state = _state_of(path, snapshot)
    return state, _memo_of(snapshot, state)


def fingerprint(path: Path) -> tuple[int, int, int] | None:
    """(size, mtime_ns, inode) of the sidecar itself (never its link target); None when absent."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _memo_of(snapshot: _Snapshot, state: xmp.SidecarState) -> xmp.SidecarMemo:
    return xmp.SidecarMemo((snapshot.size, snapshot.mtime_ns, snapshot.ino), state)


def _memo_after_write(path: Path) -> xmp.SidecarMemo | None:
    """The fingerprint and state of the sidecar burstd just wrote, read together from one open file
    (exiv2 checked these bytes before they were written); None when it is unusable already."""
    try:
        snapshot = _snapshot(path)
        if snapshot is None:
            return None
        return _memo_of(snapshot, replace(packet.read_packet(snapshot.data), written_ns=snapshot.mtime_ns))
    except (SidecarError, xmp.XmpError, OSError):
        return None


def _journaled(journal: Journal | None, path: Path, before: bytes | None, data: bytes) -> bytes:
    """Tell the journal about a write before it happens; returns the bytes to write."""
    if journal is not None:
        try:
            journal(path, before, hashlib.sha256(data).hexdigest())
        except CacheError as err:  # no way back without it: this sidecar is not written (retried later)
            raise SidecarError(path, f"not written, as burstd cannot keep what it holds now for `burstd undo`: {err}") from None
    return data


# --- undoing ------------------------------------------------------------------------------------


def current_digest(path: Path) -> str | None:
    """sha256 of the sidecar's bytes now; None when there is none. Raises SidecarError."""
    try:
        snapshot = _snapshot(path)
    except OSError as err:
        raise SidecarError(path, fsio.os_reason(err, "read")) from None
    return None if snapshot is None else snapshot.digest


def restore_sidecar(path: Path, previous: bytes | None, expected_sha256: str) -> None:
    """Put `previous` back (None: remove the sidecar), atomically, and only while the sidecar still
    holds exactly the bytes whose sha256 is `expected_sha256`; its mode and owner are kept.

    Raises SidecarChangedError when it holds anything else, SidecarError for any other problem.
    """
    try:
        snapshot = _snapshot(path)
        if snapshot is None or snapshot.digest != expected_sha256:
            raise SidecarChangedError(path, CHANGED_BEFORE_UNDO)
        _check_writable(path, snapshot)
        if previous is not None:
            _replace(path, snapshot, previous)
            return
        _before_replace(path)
        _ensure_unchanged(path, snapshot)
        path.unlink()
        fsio.fsync_dir(path.parent)
    except OSError as err:
        raise SidecarError(path, fsio.os_reason(err)) from None


# --- reading --------------------------------------------------------------------------------------


def _snapshot(path: Path) -> _Snapshot | None:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise SidecarError(path, fsio.os_reason(err, "read")) from None
    _check_kind(path, st.st_mode)
    try:
        # O_NOFOLLOW: a symlink swapped in after lstat is refused, not followed. O_NONBLOCK: a FIFO
        # swapped in cannot hang us (it is then refused by the fstat check).
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise SidecarError(path, SYMLINK if err.errno == errno.ELOOP else fsio.os_reason(err, "read")) from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        _check_kind(path, st.st_mode)
        if st.st_size > MAX_SIDECAR_BYTES:
            raise SidecarError(path, f"is {st.st_size} bytes, far too large for a sidecar")
        data = f.read(MAX_SIDECAR_BYTES + 1)
    digest = hashlib.sha256(data).hexdigest()
    return _Snapshot(data, st.st_size, st.st_mtime_ns, st.st_ino, digest, st.st_mode, st.st_uid, st.st_gid)


def _check_kind(path: Path, mode: int) -> None:
    if stat.S_ISLNK(mode):
        raise SidecarError(path, SYMLINK)
    if not stat.S_ISREG(mode):
        raise SidecarError(path, "is not a regular file")


# --- writing --------------------------------------------------------------------------------------


def _check_writable(path: Path, snapshot: _Snapshot) -> None:
    # The folder first: on a write-protected card every sidecar is refused for the folder's reason,
    # which messages give once per folder (a read-only mount also makes each file look read-only).
    if (refusal := fsio.folder_refusal(path.parent)) is not None:
        raise SidecarFolderError(path, refusal)
    # Replacing a file needs write access to its folder only, so a sidecar the photographer made
    # read-only would be replaced anyway. Its mode bits say what they meant, even to root.
    if not snapshot.mode & 0o222 or not os.access(path, os.W_OK, follow_symlinks=False):
        raise SidecarError(path, READ_ONLY)


def _create(path: Path, data: bytes) -> None:
    try:
        fsio.write_atomically(path, data, create_only=True, before_replace=lambda: _before_replace(path))
    except fsio.AtomicWriteError as err:
        raise _sidecar_error(path, err) from None


def _replace(path: Path, snapshot: _Snapshot, data: bytes) -> None:
    def still_as_read() -> None:
        _before_replace(path)
        _ensure_unchanged(path, snapshot)

    try:
        fsio.write_atomically(
            path, data, mode=stat.S_IMODE(snapshot.mode), owner=(snapshot.uid, snapshot.gid), before_replace=still_as_read
        )
    except fsio.AtomicWriteError as err:
        raise _sidecar_error(path, err) from None


def _sidecar_error(path: Path, err: fsio.AtomicWriteError) -> SidecarError:
    """The refusal of an atomic write as this sidecar's error, telling the folder's reasons apart."""
    kind = SidecarFolderError if isinstance(err, fsio.FolderWriteError) else SidecarError
    return kind(path, err.reason)


def _ensure_unchanged(path: Path, snapshot: _Snapshot) -> None:
    try:
        now = _snapshot(path)
    except SidecarError:
        now = None
    if now is None or (now.size, now.mtime_ns, now.ino, now.digest) != (
        snapshot.size,
        snapshot.mtime_ns,
        snapshot.ino,
        snapshot.digest,
    ):
        raise SidecarChangedError(path, CHANGED)
