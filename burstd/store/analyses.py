"""The analysis cache (the `files` table): a file's path, size and mtime_ns to its `Analysis`.

A hit costs no decode; a changed size or mtime, or an analysis made by another `ANALYSIS_VERSION`,
is a miss. Files that turned out not to be images are remembered too (as `NOT_AN_IMAGE`), so a
rescan does not sniff them again; files that failed to decode are not stored here (`failures.py`
keeps them for the daemon), so `scan` tries them again.
Losing this table costs nothing but time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from burstd.models import Analysis, Declared, EyeState, Face, TimeSource
from burstd.store.database import Database, path_key

# Bump when the analysis itself changes (decode scale, focus measure, hashes): old rows become misses.
ANALYSIS_VERSION = 6  # 4: `declared` is filled from the makernote; 5: `faces` are found; 6: thumbnails by
# halving, no eyes read beyond the frame
NOT_AN_IMAGE = "none"


@dataclass(frozen=True, slots=True)
class CacheEntry:
    kind: str  # "jpeg", "raw", ... or NOT_AN_IMAGE
    analysis: Analysis | None
    orb: bytes | None = None  # ORB descriptors, kept only once grouping by features needed them


class Analyses:
    """Look up and save analyses; reached as `Store.analyses`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def lookup(self, paths: Iterable[tuple[Path, int, int]]) -> dict[Path, CacheEntry]:
        """Entries still valid for these (path, size, mtime_ns) triples."""
        wanted = {path_key(p): (p, size, mtime) for p, size, mtime in paths}
        found: dict[Path, CacheEntry] = {}
        columns = "path, size, mtime_ns, kind, version, analysis, tiles, orb, thumb"
        for key, size, mtime, kind, version, analysis, tiles, orb, thumb in self.db.rows_by_path("files", columns, wanted):
            path, want_size, want_mtime = wanted[key]
            if size != want_size or mtime != want_mtime:
                continue
            if kind == NOT_AN_IMAGE:
                found[path] = CacheEntry(kind, None)
            elif version == ANALYSIS_VERSION:
                found[path] = CacheEntry(kind, _load_analysis(analysis, tiles, thumb), orb)
        return found

    def save(self, entries: Iterable[tuple[Path, int, int, CacheEntry]]) -> None:
        """Remember what these (path, size, mtime_ns) files turned out to be."""
        now = time.time()
        rows = [
            {
                "path": path_key(path), "size": size, "mtime_ns": mtime, "kind": entry.kind,
                "version": ANALYSIS_VERSION,
                "analysis": None if entry.analysis is None else _dump_analysis(entry.analysis),
                "tiles": None if entry.analysis is None else np.asarray(entry.analysis.tiles, dtype=np.float32).tobytes(),
                "orb": entry.orb, "thumb": None if entry.analysis is None else entry.analysis.thumb,
                "analysed_at": now,
            }
            for path, size, mtime, entry in entries
        ]
        if rows:
            with self.db.transaction() as tx:
                tx["files"].upsert_all(rows, pk="path")


_SCALARS = (
    "width", "height", "capture_time", "make", "model", "serial", "lens", "exposure_time",
    "aperture", "iso", "exposure_bias", "orientation", "source",
)


def _dump_analysis(a: Analysis) -> str:
    data = {name: getattr(a, name) for name in _SCALARS}
    # JSON cannot hold 64-bit unsigned ints reliably everywhere: keep hashes as hex text.
    data.update(time_source=a.time_source.value, phash=f"{a.phash:016x}", dhash=f"{a.dhash:016x}", grid=list(a.grid),
                thumb_size=list(a.thumb_size), faces=[_dump_face(f) for f in a.faces])
    if a.declared:
        data["declared"] = _dump_declared(a.declared)
    return json.dumps(data, separators=(",", ":"))


def _dump_face(f: Face) -> dict:
    return {"box": list(f.box), "score": f.score, "eyes": f.eyes.value, "openness": f.openness, "sharpness": f.sharpness}


def _load_face(d: dict) -> Face:
    return Face(tuple(d["box"]), d["score"], EyeState(d["eyes"]), d["openness"], d["sharpness"])


def _dump_declared(d: Declared) -> dict:
    return {"drive": d.drive, "sequence": d.sequence, "bracket": d.bracket, "bracket_step": d.bracket_step,
            "group_id": d.group_id, "af_point": None if d.af_point is None else list(d.af_point)}


def _load_declared(d: dict) -> Declared:
    af = d.get("af_point")
    return Declared(d["drive"], d["sequence"], d["bracket"], d["bracket_step"], d["group_id"],
                    None if af is None else (float(af[0]), float(af[1])))


def _load_analysis(text: str, tiles: bytes | None, thumb: bytes | None) -> Analysis:
    data = json.loads(text)
    return Analysis(
        **{name: data[name] for name in _SCALARS},
        time_source=TimeSource(data["time_source"]),
        phash=int(data["phash"], 16),
        dhash=int(data["dhash"], 16),
        grid=tuple(data["grid"]),
        tiles=tuple(float(v) for v in np.frombuffer(tiles or b"", dtype=np.float32)),
        thumb=thumb or b"",
        thumb_size=tuple(data["thumb_size"]),
        faces=tuple(_load_face(f) for f in data["faces"]),
        declared=_load_declared(data["declared"]) if "declared" in data else Declared(),
    )
