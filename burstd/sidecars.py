"""The only module that reads or writes XMP sidecar files (`IMG_0001.CR2.xmp`).

A sidecar may hold hours of darktable edits, so every write is careful:

* a new sidecar is written to a temp file in the same folder, fsynced, then hard-linked into place,
  which fails rather than overwrite a sidecar that appeared meanwhile;
* an existing sidecar is read once into memory; `xmp_packet.update_packet` changes only the bytes of the
  values burstd owns; exiv2 (the library darktable reads sidecars with) must read the result as
  exactly the old metadata plus burstd's values; the result goes to a temp file with the original's
  permission bits and owner; just before `os.replace` the original is checked to be byte for byte
  what was read, so another program's change is never lost;
* symlinks are never followed, read-only sidecars are never replaced, images are never opened.

exiv2 itself is not used to write: it re-serialises the whole packet (drops the `<?xml?>`
declaration, adds an xpacket wrapper, replaces the toolkit name) and keeps a process-wide prefix
table, so once it has seen `http://darktable.sf.net/` spelt `dt:`, it writes every later darktable
sidecar with `dt:` prefixes.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import stat
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyexiv2

from burstd import xmp, xmp_packet
from burstd.errors import SidecarChangedError, SidecarError
from burstd.models import SidecarAction, SidecarFields, SidecarOutcome

MAX_SIDECAR_BYTES = 32 * 1024 * 1024  # far beyond any real sidecar; guards against odd files
TEMP_PATTERN = re.compile(r"^\..+\.burstd-[0-9a-f]{6}\.tmp$")

CHANGED = "changed by another program while burstd was writing; left as it is"
APPEARED = "appeared while burstd was writing; left as it is"
READ_ONLY = "sidecar is read-only"
SYMLINK = "is a symbolic link; burstd never follows sidecar links"

# Test seam: runs once the new content is safely in the temp file, just before it is moved into
# place (tests use it to play "another program" writing the sidecar at the worst moment).
_before_replace: Callable[[Path], None] = lambda path: None

_exiv2_lock = threading.Lock()  # exiv2's XMP toolkit keeps global state
_exiv2_ready = False


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


def sidecar_path(image: Path) -> Path:
    """darktable's convention: the image's full file name plus `.xmp`."""
    return image.with_name(image.name + ".xmp")


def is_temp_sidecar(path: Path) -> bool:
    """Whether `path` is one of burstd's temp files (watchers should ignore these)."""
    return TEMP_PATTERN.match(path.name) is not None


def read_sidecar(path: Path) -> xmp.SidecarState | None:
    """What the sidecar at `path` says about burstd's properties; None when there is none."""
    snapshot = _snapshot(path)
    return None if snapshot is None else _state(path, snapshot.data)


def write_sidecar(
    image: Path,
    fields: SidecarFields,
    *,
    force: bool = False,
    dry_run: bool = False,
    exclude: bool = False,
) -> SidecarOutcome:
    """Create or update the sidecar of `image`; problems come back as a FAILED outcome."""
    path = sidecar_path(image)
    try:
        return _write(path, fields, force=force, dry_run=dry_run, exclude=exclude)
    except SidecarError as err:
        return SidecarOutcome(path, SidecarAction.FAILED, err.reason)
    except OSError as err:  # the disk said no in a way not foreseen above: still one file's problem
        return SidecarOutcome(path, SidecarAction.FAILED, _os_reason(err))


def _write(
    path: Path, fields: SidecarFields, *, force: bool, dry_run: bool, exclude: bool
) -> SidecarOutcome:
    if exclude and os.path.lexists(path):
        return SidecarOutcome(path, SidecarAction.EXCLUDED)
    snapshot = _snapshot(path)
    state = None if snapshot is None else _state(path, snapshot.data)
    plan = xmp.plan_sidecar(state, fields, force=force)
    previous = None if state is None else state.rating
    if plan.action is xmp.PlanAction.KEEP_MANUAL:
        return SidecarOutcome(path, SidecarAction.KEPT_MANUAL, previous_rating=previous)
    if plan.action is xmp.PlanAction.UNCHANGED:
        return SidecarOutcome(path, SidecarAction.UNCHANGED, previous_rating=previous)
    if snapshot is None:
        if not dry_run:
            _create(path, xmp.render_new_sidecar(fields).encode("utf-8"))
        action = SidecarAction.PLANNED if dry_run else SidecarAction.CREATED
        return SidecarOutcome(path, action)
    # A dry run goes as far as it can without writing, so it reports the same failures.
    _check_writable(path, snapshot)
    new = _edited(path, snapshot.data, plan.updates)
    if not dry_run:
        _replace(path, snapshot, new)
    action = SidecarAction.PLANNED if dry_run else SidecarAction.UPDATED
    return SidecarOutcome(path, action, previous_rating=previous)


def fingerprint(path: Path) -> tuple[int, int, int] | None:
    """(size, mtime_ns, inode) of the sidecar itself (never its link target); None when absent."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def apply_sidecar(
    image: Path,
    fields: SidecarFields,
    *,
    memo: xmp.SidecarMemo | None,
    force: bool = False,
    dry_run: bool = False,
    exclude: bool = False,
) -> tuple[SidecarOutcome, xmp.SidecarMemo | None]:
    """`write_sidecar`, skipping the read when `memo` proves the sidecar needs nothing.

    Returns the outcome and what burstd now knows of the sidecar (None: nothing worth keeping).
    """
    path = sidecar_path(image)
    if memo is not None and not exclude and fingerprint(path) == memo.fingerprint:
        plan = xmp.plan_sidecar(memo.state, fields, force=force)
        if plan.action is xmp.PlanAction.UNCHANGED:
            return SidecarOutcome(path, SidecarAction.UNCHANGED, previous_rating=memo.state.rating), memo
        if plan.action is xmp.PlanAction.KEEP_MANUAL:
            return SidecarOutcome(path, SidecarAction.KEPT_MANUAL, previous_rating=memo.state.rating), memo
    outcome = write_sidecar(image, fields, force=force, dry_run=dry_run, exclude=exclude)
    if outcome.action in (SidecarAction.CREATED, SidecarAction.UPDATED, SidecarAction.UNCHANGED):
        state = xmp.state_after_write(fields)
    elif outcome.action is SidecarAction.KEPT_MANUAL:
        try:
            state = read_sidecar(path)
        except SidecarError:
            state = None
    else:
        state = None
    seen = fingerprint(path)
    if state is None or seen is None:
        return outcome, None
    return outcome, xmp.SidecarMemo(seen, state)


# --- reading --------------------------------------------------------------------------------------


def _snapshot(path: Path) -> _Snapshot | None:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise SidecarError(path, _os_reason(err, "read")) from None
    _check_kind(path, st.st_mode)
    try:
        # O_NOFOLLOW: a symlink swapped in after lstat is refused, not followed. O_NONBLOCK: a FIFO
        # swapped in cannot hang us (it is then refused by the fstat check).
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise SidecarError(path, SYMLINK if err.errno == errno.ELOOP else _os_reason(err, "read")) from None
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


def _state(path: Path, data: bytes) -> xmp.SidecarState:
    """Read the owned values with burstd's parser, and check exiv2 reads them the same way.

    exiv2 is what darktable reads sidecars with: a sidecar exiv2 reads differently (it silently
    returns nothing at all for some invalid packets) is one burstd must not touch.
    """
    try:
        state = xmp_packet.read_packet(data)
    except xmp.XmpError as err:
        raise SidecarError(path, str(err)) from None
    seen = _exiv2_read(path, data)
    for key in xmp.OWNED:
        if _simple(seen.get(key)) != _simple(state.values.get(key)):
            raise SidecarError(path, f"exiv2 (which darktable uses) reads {key} differently; left as it is")
    return state


def _exiv2_read(path: Path, data: bytes) -> dict[str, object]:
    global _exiv2_ready
    with _exiv2_lock:
        if not _exiv2_ready:
            pyexiv2.set_log_level(4)  # mute exiv2's own stderr warnings: we report problems ourselves
            pyexiv2.registerNs(xmp.BURSTD_NS, xmp.BURSTD_PREFIX)
            _exiv2_ready = True
        try:
            image = pyexiv2.ImageData(data)
        except RuntimeError as err:
            raise SidecarError(path, _exiv2_reason(err)) from None
        try:
            return image.read_xmp()
        except (RuntimeError, UnicodeDecodeError) as err:
            raise SidecarError(path, _exiv2_reason(err)) from None
        finally:
            image.close()


def _exiv2_reason(err: Exception) -> str:
    detail = " ".join(str(err).split())  # exiv2's messages may span lines; ours are one line
    return f"exiv2 (which darktable uses) cannot read it: {detail}"


def _simple(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


# --- writing --------------------------------------------------------------------------------------


def _check_writable(path: Path, snapshot: _Snapshot) -> None:
    # Replacing a file needs write access to its folder only, so a sidecar the photographer made
    # read-only would be replaced anyway. Its mode bits say what they meant, even to root.
    if not snapshot.mode & 0o222 or not os.access(path, os.W_OK, follow_symlinks=False):
        raise SidecarError(path, READ_ONLY)
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise SidecarError(path, "its folder is not writable")


def _edited(path: Path, data: bytes, updates: Mapping[str, str]) -> bytes:
    """The new bytes, after checking exiv2 reads them as the old metadata plus burstd's values."""
    try:
        new = xmp_packet.update_packet(data, updates)
    except xmp.XmpError as err:
        raise SidecarError(path, str(err)) from None
    before, after = _exiv2_read(path, data), _exiv2_read(path, new)
    expected = {**before, **updates}
    if after != expected:
        differing = sorted(k for k in expected.keys() | after.keys() if expected.get(k) != after.get(k))
        raise SidecarError(path, f"burstd's edit would change {', '.join(differing[:3])}; left as it is")
    return new


def _create(path: Path, data: bytes) -> None:
    tmp = _write_temp(path, data, mode=0o666, owner=None)  # 0o666 less the umask, like any new file
    try:
        _before_replace(path)
        try:
            os.link(tmp, path)  # unlike os.replace, never overwrites a sidecar that appeared meanwhile
        except FileExistsError:
            raise SidecarError(path, APPEARED) from None
        except OSError as err:
            if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            _create_in_place(path, data)  # a filesystem without hard links (FAT, exFAT on cards)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _create_in_place(path: Path, data: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except FileExistsError:
        raise SidecarError(path, APPEARED) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        path.unlink(missing_ok=True)  # ours: O_EXCL created it
        raise


def _replace(path: Path, snapshot: _Snapshot, data: bytes) -> None:
    tmp = _write_temp(path, data, mode=stat.S_IMODE(snapshot.mode), owner=(snapshot.uid, snapshot.gid))
    try:
        _before_replace(path)
        _ensure_unchanged(path, snapshot)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _write_temp(path: Path, data: bytes, *, mode: int, owner: tuple[int, int] | None) -> Path:
    """Write `data` to a fresh, fsynced temp file beside `path`, named so watchers can skip it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.burstd-{secrets.token_hex(3)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o600 if owner else mode)
            break
        except FileExistsError:
            continue
        except OSError as err:
            raise SidecarError(path, f"cannot write a temp file in its folder: {_os_reason(err)}") from None
    else:
        raise SidecarError(path, "cannot find a free temp file name in its folder")
    try:
        with os.fdopen(fd, "wb") as f:
            if owner is not None:
                _give_to(path, f.fileno(), owner)
                os.fchmod(f.fileno(), mode)  # after chown, which may clear set-id bits
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _give_to(path: Path, fd: int, owner: tuple[int, int]) -> None:
    """Keep the sidecar's owner: replacing it must not hand the photographer's file to someone else."""
    st = os.fstat(fd)
    if (st.st_uid, st.st_gid) == owner:
        return
    try:
        os.fchown(fd, *owner)
    except PermissionError:
        raise SidecarError(path, "belongs to another user or group; replacing it would change that") from None


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


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable; some filesystems cannot fsync a folder, which is fine."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _os_reason(err: OSError, doing: str = "") -> str:
    reason = "permission denied" if isinstance(err, PermissionError) else err.strerror or str(err)
    return f"cannot be {doing}: {reason}" if doing else reason
