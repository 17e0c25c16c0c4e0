"""The only module that imports pyexiv2: exiv2, the library darktable reads metadata with.

exiv2 keeps process-wide state (its log level, its table of namespace prefixes, the XMP toolkit
itself), so every call into it, from any thread, runs under the one `LOCK` here: the daemon reads
RAW EXIF in worker threads while its main thread checks sidecars, and two locks would let them run
at once.

It owns setting exiv2 up (muted log, burstd's namespace registered), reading the XMP properties of
a packet with the prefixes renamed back to the usual ones (`read_xmp`), and reading the EXIF of an
image (`read_exif`). It is used only to read: burstd never lets exiv2 write a file (see
`burstd.sidecar.files`).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pyexiv2

from burstd.sidecar import xmp

LOCK = threading.Lock()  # held around every call into exiv2; hold it to keep exiv2 to yourself
_ready = False


class Exiv2Error(Exception):
    """exiv2 could not read something; the message is one line, exiv2's own words."""


def read_xmp(data: bytes) -> dict[str, object]:
    """Every XMP property exiv2 reads in the packet `data`, keyed the way burstd names its own
    (`Xmp.darktable.*`); arrays come back as lists. Raises Exiv2Error.

    exiv2 names keys by the prefix it registered first for a namespace, process-wide, so after a
    sidecar that spells darktable's namespace `dt:` it reads `Xmp.dt.colorlabels`. Keys of the
    namespaces burstd reads are renamed back to their usual prefix (see `_prefix_renames`).
    """
    with LOCK:
        _set_up()
        try:
            image = pyexiv2.ImageData(data)
        except RuntimeError as err:
            raise Exiv2Error(_one_line(err)) from None
        try:
            seen = image.read_xmp()
        except (RuntimeError, UnicodeDecodeError) as err:
            raise Exiv2Error(_one_line(err)) from None
        finally:
            image.close()
        renames = _prefix_renames()
    if not renames:
        return seen
    return {_renamed(key, renames): value for key, value in seen.items()}


def read_exif(source: Path | bytes) -> dict[str, object]:
    """Every EXIF tag exiv2 reads in an image file (a path) or an image's bytes. Raises Exiv2Error."""
    with LOCK:
        _set_up()
        try:
            image = pyexiv2.Image(str(source)) if isinstance(source, Path) else pyexiv2.ImageData(source)
            try:
                return image.read_exif()
            finally:
                image.close()
        except Exception as err:  # pyexiv2 raises what its C++ side throws; for a caller, all mean "cannot read"
            raise Exiv2Error(_one_line(err)) from None


def _set_up() -> None:
    """Once per process, with LOCK held."""
    global _ready
    if not _ready:
        pyexiv2.set_log_level(4)  # mute exiv2's own stderr warnings: callers report problems themselves
        pyexiv2.registerNs(xmp.BURSTD_NS, xmp.BURSTD_PREFIX)
        _ready = True


# The namespaces whose properties burstd reads, with the prefix burstd calls them by.
_USUAL = {uri: prefix for uri, prefix, *_ in (*xmp.SIMPLE.values(), *xmp.ARRAYS.values())}
_PROBE = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about=""'
    + "".join(f' xmlns:{prefix}="{uri}"' for uri, prefix in _USUAL.items())
    + "".join(f' {prefix}:burstdProbe{n}="1"' for n, prefix in enumerate(_USUAL.values()))
    + "/></rdf:RDF></x:xmpmeta>"
).encode()


def _prefix_renames() -> dict[str, str]:
    """exiv2's prefix -> burstd's, where exiv2 now spells one of burstd's namespaces otherwise.

    A prefix exiv2 gives to some other namespace while burstd's usual one is taken maps to itself
    plus `~`, so it can never be mistaken for burstd's. Called with LOCK held.
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


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())  # exiv2's messages may span lines; burstd's reasons are one line
