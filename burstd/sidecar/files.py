"""The only module that reads or writes XMP sidecar files (`IMG_0001.CR2.xmp`).

A sidecar may hold hours of darktable edits, so every write is careful:

* a new sidecar is written to a temp file in the same folder, fsynced, then hard-linked into place,
  which fails rather than overwrite a sidecar that appeared meanwhile;
* an existing sidecar is read once into memory; `xmp_packet.update_packet` changes only the bytes of the
  values burstd owns; exiv2 (the library darktable reads sidecars with) must read the result as
  exactly the old metadata plus burstd's values; the result goes to a temp file with the original's
  permission bits and owner; just before `os.replace` the original is checked to be byte for byte
  what was read, so another program's change is never lost;
* symlinks are never followed, read-only sidecars are never replaced, images are never opened;
* every write is first told to a journal (the bytes it replaces), so `restore_sidecar` can put a
  sidecar back exactly, under the same checks, for `burstd undo`.

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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyexiv2

from burstd.sidecar import xmp

from burstd.sidecar import packet as xmp_packet
from burstd.errors import CacheError, SidecarChangedError, SidecarError
from burstd.models import SidecarAction, SidecarFields, SidecarOutcome

MAX_SIDECAR_BYTES = 32 * 1024 * 1024  # far beyond any real sidecar; guards against odd files
TEMP_PATTERN = re.compile(r"^\..+\.burstd-[0-9a-f]{6}\.tmp$")

CHANGED = "changed by another program while burstd was writing; left as it is"
APPEARED = "appeared while burstd was writing; left as it is"
READ_ONLY = "sidecar is read-only"
SYMLINK = "is a symbolic link; burstd never follows sidecar links"
CHANGED_BEFORE_UNDO = "changed while burstd was undoing; left as it is"

# Told of every write just before it happens: (sidecar, the bytes it replaces or None, sha256 of
# the bytes written). `burstd undo` relies on it being called, and committed, before the file changes.
Journal = Callable[[Path, bytes | None, str], None]

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


def known_state(path: Path, memo: xmp.SidecarMemo | None) -> tuple[xmp.SidecarState | None, xmp.SidecarMemo | None]:
    """What a sidecar burstd only reads says (None: there is none), from `memo` while it still holds.

    Returns the state and a memo for the cache. Raises SidecarError when it cannot be read.
    """
    if memo is not None and fingerprint(path) == memo.fingerprint:
        return memo.state, memo
    snapshot = _snapshot(path)
    if snapshot is None:
        return None, None
    state = _state(path, snapshot.data)
    return state, _memo_of(snapshot, state)


def is_temp_sidecar(path: Path) -> bool:
    """Whether `path` is one of burstd's temp files (watchers should ignore these)."""
    return TEMP_PATTERN.match(path.name) is not None


def remove_stale_temps(folder: Path) -> int:
    """Delete the temp files that writes killed half-way (`kill -9`, a power cut) left in `folder`.

    Returns how many. Only for a caller that knows no other burstd is writing there (the daemon,
    which holds the user's lock, when it starts): a temp file is otherwise alive for milliseconds.
    """
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if TEMP_PATTERN.match(entry.name) and entry.is_file(follow_symlinks=False):
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                continue
            removed += 1
    return removed


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
    journal: Journal | None = None,
    sidecar: Path | None = None,
) -> SidecarOutcome:
    """Create or update the sidecar of `image` (darktable's name unless `sidecar` names another);
    problems come back as a FAILED outcome."""
    path = sidecar or sidecar_path(image)
    return _attempt(path, fields, force=force, dry_run=dry_run, exclude=exclude, journal=journal)[0]


def _attempt(
    path: Path, fields: SidecarFields, *, force: bool, dry_run: bool, exclude: bool, journal: Journal | None
) -> tuple[SidecarOutcome, xmp.SidecarMemo | None]:
    """`_write`, with every problem turned into a FAILED outcome."""
    try:
        return _write(path, fields, force=force, dry_run=dry_run, exclude=exclude, journal=journal)
    except SidecarError as err:
        return SidecarOutcome(path, SidecarAction.FAILED, err.reason), None
    except OSError as err:  # the disk said no in a way not foreseen above: still one file's problem
        return SidecarOutcome(path, SidecarAction.FAILED, _os_reason(err)), None


def _write(
    path: Path, fields: SidecarFields, *, force: bool, dry_run: bool, exclude: bool, journal: Journal | None
) -> tuple[SidecarOutcome, xmp.SidecarMemo | None]:
    """The outcome, and what burstd now knows of the sidecar (None: nothing worth keeping)."""
    if exclude and os.path.lexists(path):
        return SidecarOutcome(path, SidecarAction.EXCLUDED), None
    snapshot = _snapshot(path)
    state = None if snapshot is None else _state(path, snapshot.data)
    plan = xmp.plan_sidecar(state, fields, force=force)
    previous = None if state is None else state.rating
    if plan.action is xmp.PlanAction.KEEP_MANUAL:
        assert snapshot is not None and state is not None
        return SidecarOutcome(path, SidecarAction.KEPT_MANUAL, previous_rating=previous), _memo_of(snapshot, state)
    note = xmp.label_note(state, fields)
    if plan.action is xmp.PlanAction.UNCHANGED:
        assert snapshot is not None and state is not None
        return SidecarOutcome(path, SidecarAction.UNCHANGED, note, previous_rating=previous), _memo_of(snapshot, state)
    if snapshot is None:
        if dry_run:
            return SidecarOutcome(path, SidecarAction.PLANNED), None
        _create(path, _journaled(journal, path, None, xmp_packet.new_packet(fields)))
        return SidecarOutcome(path, SidecarAction.CREATED), _memo_after_write(path)
    # A dry run goes as far as it can without writing, so it reports the same failures.
    _check_writable(path, snapshot)
    new = _edited(path, snapshot.data, plan)
    if dry_run:
        return SidecarOutcome(path, SidecarAction.PLANNED, note, previous_rating=previous), None
    _replace(path, snapshot, _journaled(journal, path, snapshot.data, new))
    return SidecarOutcome(path, SidecarAction.UPDATED, note, previous_rating=previous), _memo_after_write(path)


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
    journal: Journal | None = None,
    sidecar: Path | None = None,
) -> tuple[SidecarOutcome, xmp.SidecarMemo | None]:
    """`write_sidecar`, skipping the read when `memo` proves the sidecar needs nothing.

    Returns the outcome and what burstd now knows of the sidecar (None: nothing worth keeping).
    """
    path = sidecar or sidecar_path(image)
    if memo is not None and not exclude and fingerprint(path) == memo.fingerprint:
        plan = xmp.plan_sidecar(memo.state, fields, force=force)
        if plan.action is xmp.PlanAction.UNCHANGED:
            note = xmp.label_note(memo.state, fields)
            return SidecarOutcome(path, SidecarAction.UNCHANGED, note, previous_rating=memo.state.rating), memo
        if plan.action is xmp.PlanAction.KEEP_MANUAL:
            return SidecarOutcome(path, SidecarAction.KEPT_MANUAL, previous_rating=memo.state.rating), memo
    outcome, known = _attempt(path, fields, force=force, dry_run=dry_run, exclude=exclude, journal=journal)
    return outcome, None if dry_run else known


def _memo_of(snapshot: _Snapshot, state: xmp.SidecarState) -> xmp.SidecarMemo:
    return xmp.SidecarMemo((snapshot.size, snapshot.mtime_ns, snapshot.ino), state)


def _memo_after_write(path: Path) -> xmp.SidecarMemo | None:
    """The fingerprint and state of the sidecar burstd just wrote, read together from one open file
    (exiv2 checked these bytes before they were written); None when it is unusable already."""
    try:
        snapshot = _snapshot(path)
        if snapshot is None:
            return None
        return _memo_of(snapshot, xmp_packet.read_packet(snapshot.data))
    except (SidecarError, xmp.XmpError, OSError):
        return None


# --- undoing ------------------------------------------------------------------------------------


def current_digest(path: Path) -> str | None:
    """sha256 of the sidecar's bytes now; None when there is none. Raises SidecarError."""
    try:
        snapshot = _snapshot(path)
    except OSError as err:
        raise SidecarError(path, _os_reason(err, "read")) from None
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
        _fsync_dir(path.parent)
    except OSError as err:
        raise SidecarError(path, _os_reason(err)) from None


def _journaled(journal: Journal | None, path: Path, before: bytes | None, data: bytes) -> bytes:
    """Tell the journal about a write before it happens; returns the bytes to write."""
    if journal is not None:
        try:
            journal(path, before, hashlib.sha256(data).hexdigest())
        except CacheError as err:  # no way back without it: this sidecar is not written (retried later)
            raise SidecarError(path, f"not written, as burstd cannot keep what it holds now for `burstd undo`: {err}") from None
    return data


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
    ours = {**state.values, **{key: list(items) for key, items in state.arrays.items()}}
    for key in (*xmp.SIMPLE, *xmp.ARRAYS):
        if _simple(seen.get(key)) != _simple(ours.get(key)):
            raise SidecarError(path, f"exiv2 (which darktable uses) reads {key} differently; left as it is")
    return state


def _exiv2_read(path: Path, data: bytes) -> dict[str, object]:
    """Every XMP property exiv2 reads in `data`, keyed the way burstd names its own (`Xmp.darktable.*`).

    exiv2 names keys by the prefix it registered first for a namespace, process-wide, so after a
    sidecar that spells darktable's namespace `dt:` it reads `Xmp.dt.colorlabels`. Keys of the
    namespaces burstd reads are renamed back to their usual prefix (see `_exiv2_prefixes`).
    """
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
            seen = image.read_xmp()
        except (RuntimeError, UnicodeDecodeError) as err:
            raise SidecarError(path, _exiv2_reason(err)) from None
        finally:
            image.close()
        renames = _exiv2_prefixes()
    if not renames:
        return seen
    return {_renamed(key, renames): value for key, value in seen.items()}


# The namespaces whose properties burstd reads, with the prefix burstd calls them by.
_USUAL = {uri: prefix for uri, prefix, *_ in (*xmp.SIMPLE.values(), *xmp.ARRAYS.values())}
_PROBE = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about=""'
    + "".join(f' xmlns:{prefix}="{uri}"' for uri, prefix in _USUAL.items())
    + "".join(f' {prefix}:burstdProbe{n}="1"' for n, prefix in enumerate(_USUAL.values()))
    + "/></rdf:RDF></x:xmpmeta>"
).encode()


def _exiv2_prefixes() -> dict[str, str]:
    """exiv2's prefix -> burstd's, where exiv2 now spells one of burstd's namespaces otherwise.

    A prefix exiv2 gives to some other namespace while burstd's usual one is taken maps to itself
    plus `~`, so it can never be mistaken for burstd's. Called with `_exiv2_lock` held.
    """
    image = pyexiv2.ImageData(_PROBE)
    try:
        probed = image.read_xmp()
    finally:
        image.close()
    usual = list(_USUAL.values())
    current = {key.split(".")[1]: usual[int(key.rsplit("burstdProbe", 1)[1])] for key in probed}
    renames = {prefix: ours for prefix, ours in current.items() if prefix != ours}
    for ours in list(renames.values()):
        if ours not in current:  # exiv2 gives burstd's usual prefix to another namespace
            renames.setdefault(ours, ours + "~")
    return renames


def _renamed(key: str, renames: dict[str, str]) -> str:
    family, prefix, rest = key.split(".", 2)
    return f"{family}.{renames.get(prefix, prefix)}.{rest}"


def _exiv2_reason(err: Exception) -> str:
    detail = " ".join(str(err).split())  # exiv2's messages may span lines; ours are one line
    return f"exiv2 (which darktable uses) cannot read it: {detail}"


def _simple(value: object) -> object:
    if isinstance(value, list):
        return [_simple(item) for item in value]
    return value.strip() if isinstance(value, str) else value


# --- writing --------------------------------------------------------------------------------------


def _check_writable(path: Path, snapshot: _Snapshot) -> None:
    # Replacing a file needs write access to its folder only, so a sidecar the photographer made
    # read-only would be replaced anyway. Its mode bits say what they meant, even to root.
    if not snapshot.mode & 0o222 or not os.access(path, os.W_OK, follow_symlinks=False):
        raise SidecarError(path, READ_ONLY)
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise SidecarError(path, "its folder is not writable")


def _edited(path: Path, data: bytes, plan: xmp.Plan) -> bytes:
    """The new bytes, after checking exiv2 reads them as the old metadata plus burstd's edits."""
    try:
        new = xmp_packet.update_packet(data, plan.updates, plan.removals, plan.arrays)
    except xmp.XmpError as err:
        raise SidecarError(path, str(err)) from None
    before, after = _exiv2_read(path, data), _exiv2_read(path, new)
    expected = xmp.edited(before, plan.updates, plan.removals, plan.arrays)
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
