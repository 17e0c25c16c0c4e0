"""darktable's untouched import default is not a rating set by hand (`xmp.is_import_default`): a sidecar
darktable wrote when it imported an image before burstd rated it gets burstd's rating; anything the
photographer (or darktable, on their behalf) changed since is kept. Pure rules, then real sidecars as
darktable 4.2.1 writes them (tests/data/sidecars; the real darktable: tests/test_darktable_plugin.py)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from burstd.config.files import DaemonConfig, FolderSettings
from burstd.daemon.settle import daemon_settings
from burstd.darktable.rc import import_rating
from burstd.models import SidecarAction, SidecarFields
from burstd.sidecar import xmp
from burstd.sidecar.files import read_sidecar, write_sidecar
from burstd.sidecar.packet import read_packet
from burstd.store import Store

SIDECARS = Path(__file__).parent / "data" / "sidecars"
DEFAULT = (SIDECARS / "darktable_import_default.xmp").read_bytes()
IMPORTED = int(read_packet(DEFAULT).values[xmp.IMPORT_TIMESTAMP]) / 1e6 - 62_135_596_800  # epoch seconds
FIELDS = SidecarFields(rating=3, burst_id="DSC_0001-1a2b3c4d", rank=1, burst_size=4, sharpness=1.0)


def at(seconds_after_import: float) -> int:
    return int((IMPORTED + seconds_after_import) * 1e9)


UNTOUCHED = replace(read_packet(DEFAULT), written_ns=at(0.01))


@pytest.mark.parametrize(
    ("state", "darktable_rating", "manual"),
    [
        (UNTOUCHED, 1, False),  # darktable's default, written at import: not anyone's choice
        (UNTOUCHED, None, True),  # darktable's default rating not known: theirs, as before
        (UNTOUCHED, 0, True),  # darktable is set to give 0 stars: 1 star was set by someone
        (replace(UNTOUCHED, written_ns=at(60)), 1, True),  # rewritten since: a rating (re)set in darktable
        (replace(UNTOUCHED, written_ns=at(-60)), 1, True),  # copied, or another clock: cannot tell
        (replace(UNTOUCHED, written_ns=None), 1, True),
        (replace(UNTOUCHED, darktable_history=1), 1, True),  # edited in the darkroom
        (replace(UNTOUCHED, rating=2, values={**UNTOUCHED.values, xmp.RATING: "2"}), 1, True),
        (replace(UNTOUCHED, values={**UNTOUCHED.values, xmp.BURST_ID: "x"}), 1, True),  # burstd was there
        (replace(UNTOUCHED, values={k: v for k, v in UNTOUCHED.values.items() if k != xmp.IMPORT_TIMESTAMP}), 1, True),
        (replace(UNTOUCHED, values={**UNTOUCHED.values, xmp.IMPORT_TIMESTAMP: "-1"}), 1, True),
    ],
    ids=["untouched", "default-unknown", "other-default", "rewritten", "older", "no-mtime", "history",
         "other-rating", "burstd-fields", "no-import-time", "import-time-unset"],
)
def test_only_darktables_untouched_import_default_is_not_manual(state: xmp.SidecarState, darktable_rating: int | None,
                                                                manual: bool) -> None:
    assert xmp.is_manual(state, darktable_rating) is manual
    assert xmp.is_import_default(state, darktable_rating) is not manual
    plan = xmp.plan_sidecar(state, FIELDS, force=False, darktable_rating=darktable_rating)
    assert (plan.action is xmp.PlanAction.KEEP_MANUAL) is manual


def test_the_real_darktable_samples_are_read_with_their_history() -> None:
    assert read_packet(DEFAULT).darktable_history == 0 and read_packet(DEFAULT).rating == 1
    edited = read_packet((SIDECARS / "IMG_0001.CR2.xmp").read_bytes())
    assert edited.darktable_history == 13 and xmp.IMPORT_TIMESTAMP in edited.values


def darktable_sidecar(folder: Path, seconds_after_import: float, data: bytes = DEFAULT) -> Path:
    """darktable's sidecar of DSC_0001.JPG, as written `seconds_after_import` after it stamped the import."""
    folder.mkdir(exist_ok=True)
    path = folder / "DSC_0001.JPG.xmp"
    path.write_bytes(data)
    os.utime(path, ns=(at(seconds_after_import), at(seconds_after_import)))
    return path


def test_burstd_rates_an_image_darktable_imported_first(tmp_path: Path) -> None:
    path = darktable_sidecar(tmp_path, 0.02)
    outcome, memo = write_sidecar(path, FIELDS, darktable_rating=1)
    assert outcome.action is SidecarAction.UPDATED and outcome.previous_rating == 1
    text = path.read_text()
    assert 'xmp:Rating="3"' in text and 'burstd:Rating="3"' in text and "<darktable:history>" in text
    # From now on the rating is burstd's; a rating set over it by hand (darktable rewriting the
    # sidecar with 1 star, keeping burstd's namespace) is the photographer's.
    again = darktable_sidecar(tmp_path, 0.02, text.replace('xmp:Rating="3"', 'xmp:Rating="1"').encode())
    assert write_sidecar(again, replace(FIELDS, rating=2), darktable_rating=1).outcome.action is SidecarAction.KEPT_MANUAL


@pytest.mark.parametrize(
    ("seconds", "darktable_rating", "data", "action"),
    [
        (30.0, 1, DEFAULT, SidecarAction.KEPT_MANUAL),  # darktable rewrote it later: a rating set by hand
        (0.02, None, DEFAULT, SidecarAction.KEPT_MANUAL),  # no darktable default given: as before
        (0.02, 1, (SIDECARS / "IMG_0001.CR2.xmp").read_bytes(), SidecarAction.KEPT_MANUAL),  # a history
    ],
    ids=["rewritten", "no-default", "history"],
)
def test_what_is_not_the_untouched_default_is_kept(tmp_path: Path, seconds: float, darktable_rating: int | None,
                                                   data: bytes, action: SidecarAction) -> None:
    if data != DEFAULT:  # the edited sample, stamped with the default sample's import time
        stamp = read_packet(data).values[xmp.IMPORT_TIMESTAMP]
        data = data.replace(stamp.encode(), read_packet(DEFAULT).values[xmp.IMPORT_TIMESTAMP].encode())
    path = darktable_sidecar(tmp_path, seconds, data)
    assert write_sidecar(path, FIELDS, darktable_rating=darktable_rating).outcome.action is action
    assert path.read_bytes() == data


def test_a_memo_of_an_older_burstd_is_read_again(tmp_path: Path) -> None:
    """A memo written before burstd read darktable's import time says "manual" for ever: not trusted."""
    path = darktable_sidecar(tmp_path, 0.02)
    with Store.open(tmp_path / "db.sqlite3") as store:
        state = read_sidecar(path)
        assert state is not None and state.written_ns == at(0.02)
        store.memos.save([(path, xmp.SidecarMemo((path.stat().st_size, path.stat().st_mtime_ns, path.stat().st_ino), state))])
        assert store.memos.lookup([path])[path].state == state  # a memo of this burstd keeps what decides
        store.db.conn.execute("UPDATE sidecars SET state = json_remove(state, '$.darktable_history')")
        store.db.conn.commit()
        assert store.memos.lookup([path]) == {}


def test_darktables_import_rating_comes_from_its_darktablerc(tmp_path: Path) -> None:
    assert import_rating(tmp_path) == 1  # no darktablerc: darktable's own default
    (tmp_path / "darktablerc").write_text("ui_last/import_apply_metadata=false\nui_last/import_initial_rating=0\n")
    assert import_rating(tmp_path) == 0
    (tmp_path / "darktablerc").write_text("ui_last/import_initial_rating=many\n")
    assert import_rating(tmp_path) == 1
    config = DaemonConfig(path=None, roots=(tmp_path,), folder=FolderSettings(), darktable_config=tmp_path)
    (tmp_path / "darktablerc").write_text("ui_last/import_initial_rating=2\n")
    assert daemon_settings(tmp_path, config).scan.darktable_rating == 2  # the daemon rates with it
