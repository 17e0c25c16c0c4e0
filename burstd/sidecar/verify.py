"""A sidecar's bytes as burstd reads them, checked against exiv2, the library darktable reads with.

burstd parses and edits packets itself (`packet.py`), never through exiv2; but a sidecar exiv2 reads
differently (it silently returns nothing at all for some invalid packets) is one burstd must not
touch, and an edit must read, in exiv2, as exactly the old metadata plus burstd's values. Bytes in,
values or bytes out, or a SidecarError saying why the sidecar is left as it is; no file access.
"""

from __future__ import annotations

from pathlib import Path

from burstd import exiv2
from burstd.errors import SidecarError
from burstd.sidecar import packet, xmp


def read_state(path: Path, data: bytes) -> xmp.SidecarState:
    """What the sidecar at `path`, holding `data`, says about burstd's properties, as burstd's parser
    and exiv2 both read it. Raises SidecarError when they cannot, or disagree."""
    try:
        state = packet.read_packet(data)
    except xmp.XmpError as err:
        raise SidecarError(path, str(err)) from None
    seen = _exiv2_read(path, data)
    ours = {**state.values, **{key: list(items) for key, items in state.arrays.items()}}
    for key in (*xmp.SIMPLE, *xmp.ARRAYS):
        if _stripped(seen.get(key)) != _stripped(ours.get(key)):
            raise SidecarError(path, f"exiv2 (which darktable uses) reads {key} differently; left as it is")
    return state


def edited_packet(path: Path, data: bytes, plan: xmp.Plan) -> bytes:
    """The new bytes of the sidecar holding `data`, after checking exiv2 reads them as the old
    metadata plus `plan`'s edits. Raises SidecarError."""
    try:
        new = packet.update_packet(data, plan.updates, plan.removals, plan.arrays)
    except xmp.XmpError as err:
        raise SidecarError(path, str(err)) from None
    before, after = _exiv2_read(path, data), _exiv2_read(path, new)
    expected = xmp.edited(before, plan.updates, plan.removals, plan.arrays)
    if after != expected:
        differing = sorted(k for k in expected.keys() | after.keys() if expected.get(k) != after.get(k))
        raise SidecarError(path, f"burstd's edit would change {', '.join(differing[:3])}; left as it is")
    return new


def _exiv2_read(path: Path, data: bytes) -> dict[str, object]:
    try:
        return exiv2.read_xmp(data)
    except exiv2.Exiv2Error as err:
        raise SidecarError(path, f"exiv2 (which darktable uses) cannot read it: {err}") from None


def _stripped(value: object) -> object:
    if isinstance(value, list):
        return [_stripped(item) for item in value]
    return value.strip() if isinstance(value, str) else value
