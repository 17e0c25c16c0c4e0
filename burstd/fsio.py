"""The one way burstd writes a file beside the photographer's: atomically, and durably.

`write_atomically` writes the new bytes to a temp file in the target's folder (named
`.NAME.burstd-XXXXXX.tmp`: hidden, so watchers and scans skip it, and recognisable, so
`remove_stale_temps` can clear what a crash left), fsyncs it, gives it the mode and owner asked for,
runs the caller's last check, then moves it into place with `os.replace` -- or, for a file that
must not exist yet, hard-links it into place, which fails rather than overwrite a file that appeared
meanwhile -- and fsyncs the folder so the rename itself survives a power cut. Readers see the old
file or the new one, never half of one. A refusal that is the folder's (read-only, not writable,
full) is a `FolderWriteError`, so that messages can give it once per folder rather than per file. Sidecars, the review page and its pictures, and the systemd
unit are all written through it.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

TEMP_PATTERN = re.compile(r"^\..+\.burstd-[0-9a-f]{6}\.tmp$")
NEW_FILE_MODE = 0o666  # less the umask, like any file a program creates

APPEARED = "appeared while burstd was writing; left as it is"
OTHER_OWNER = "belongs to another user or group; replacing it would change that"

# Reasons that are the folder's (or its disk's), not the file's: every file written there meets them.
FOLDER_READ_ONLY = "the folder is read-only (a write-protected card, or a read-only mount)"
FOLDER_NOT_WRITABLE = "the folder is not writable (permission denied)"
DISK_FULL = "the disk is full (no space left on device)"
QUOTA_EXCEEDED = "the disk quota is exceeded"
_FOLDER_REASONS = {
    errno.EROFS: FOLDER_READ_ONLY, errno.EACCES: FOLDER_NOT_WRITABLE, errno.EPERM: FOLDER_NOT_WRITABLE,
    errno.ENOSPC: DISK_FULL, errno.EDQUOT: QUOTA_EXCEEDED,
}


class AtomicWriteError(OSError):
    """The file was left as it was; `str()` is a one-line reason for the user."""

    @property
    def reason(self) -> str:
        return str(self)


class FolderWriteError(AtomicWriteError):
    """The file was left as it was because its folder takes no new file (read-only, not writable,
    full): a reason every file written there shares, which messages give once per folder."""


def folder_refusal(folder: Path) -> str | None:
    """Why no new file can be written in `folder` (a read-only mount, no write permission), or None.

    The mount is asked first: `os.access` cannot tell a write-protected card from a permission.
    """
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return FOLDER_READ_ONLY
    except OSError:
        pass  # the write itself will say what is wrong
    if not os.access(folder, os.W_OK | os.X_OK):
        return FOLDER_NOT_WRITABLE
    return None


def write_atomically(
    path: Path,
    data: bytes,
    *,
    mode: int | None = None,
    owner: tuple[int, int] | None = None,
    create_only: bool = False,
    before_replace: Callable[[], None] | None = None,
) -> None:
    """Put `data` at `path` in one step; `path`'s folder must exist.

    `mode`: the exact permission bits (None: 0o666 less the umask); `owner`: (uid, gid) to keep.
    `create_only`: fail with AtomicWriteError(APPEARED) rather than replace an existing file.
    `before_replace` runs once the bytes are safely in the temp file, just before they are moved into
    place: the caller's last chance to check the target is still what it expects, by raising.
    Raises AtomicWriteError for the refusals above, OSError for what the disk refuses.
    """
    tmp = _write_temp(path, data, mode=mode, owner=owner)
    try:
        if before_replace is not None:
            before_replace()
        if create_only:
            _link_into_place(tmp, path, data, mode)
        else:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def is_temp_file(path: Path) -> bool:
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


def fsync_dir(folder: Path) -> None:
    """Make a rename or removal in `folder` durable; some filesystems cannot fsync a folder, which is fine."""
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


def os_reason(err: OSError, doing: str = "") -> str:
    """A one-line reason for an OSError: `cannot be <doing>: <why>`, or only the why."""
    reason = "permission denied" if isinstance(err, PermissionError) else err.strerror or str(err)
    return f"cannot be {doing}: {reason}" if doing else reason


def _write_temp(path: Path, data: bytes, *, mode: int | None, owner: tuple[int, int] | None) -> Path:
    """Write `data` to a fresh, fsynced temp file beside `path`, named so watchers can skip it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.burstd-{secrets.token_hex(3)}.tmp")
        try:
            # 0o600 until the mode asked for is set: nobody reads the new bytes under looser rights meanwhile.
            fd = os.open(tmp, flags, NEW_FILE_MODE if mode is None else 0o600)
            break
        except FileExistsError:
            continue
        except OSError as err:
            if err.errno in _FOLDER_REASONS:
                raise FolderWriteError(_FOLDER_REASONS[err.errno]) from None
            raise AtomicWriteError(f"cannot write a temp file in its folder: {os_reason(err)}") from None
    else:
        raise AtomicWriteError("cannot find a free temp file name in its folder")
    try:
        with os.fdopen(fd, "wb") as f:
            if owner is not None:
                _give_to(f.fileno(), owner)
            if mode is not None:
                os.fchmod(f.fileno(), mode)  # after chown, which may clear set-id bits
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as err:
        tmp.unlink(missing_ok=True)
        if err.errno in (errno.ENOSPC, errno.EDQUOT):  # the disk filled up while writing
            raise FolderWriteError(_FOLDER_REASONS[err.errno]) from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _give_to(fd: int, owner: tuple[int, int]) -> None:
    """Keep the file's owner: replacing it must not hand the photographer's file to someone else."""
    st = os.fstat(fd)
    if (st.st_uid, st.st_gid) == owner:
        return
    try:
        os.fchown(fd, *owner)
    except PermissionError:
        raise AtomicWriteError(OTHER_OWNER) from None


def _link_into_place(tmp: Path, path: Path, data: bytes, mode: int | None) -> None:
    try:
        os.link(tmp, path)  # unlike os.replace, never overwrites a file that appeared meanwhile
    except FileExistsError:
        raise AtomicWriteError(APPEARED) from None
    except OSError as err:
        if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        _create_in_place(path, data, mode)  # a filesystem without hard links (FAT, exFAT on cards)


def _create_in_place(path: Path, data: bytes, mode: int | None) -> None:
    """The fallback without hard links: O_EXCL still never overwrites, but a crash may leave a
    partial file (there is no other way on FAT)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, NEW_FILE_MODE)
    except FileExistsError:
        raise AtomicWriteError(APPEARED) from None
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None:
                os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        path.unlink(missing_ok=True)  # ours: O_EXCL created it
        raise
