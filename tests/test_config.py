"""Configuration: validation of every kind of problem, merging of folder files, the parsed-file cache,
where the global file lives, path expansion, and the commented examples in config/."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tomllib
from pathlib import Path

import pytest

from burstd.config.files import (
    FOLDER_FILE,
    FOLDER_KEYS,
    GLOBAL_KEYS,
    DaemonConfig,
    FolderSettings,
    describe,
    folder_settings,
    global_config_path,
    load_global,
)
from burstd.errors import ConfigError
from burstd.models import Method, ScanSettings, Scheme
from burstd.config.rules import toml_value, values_of

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = values_of(FolderSettings())


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def problems_of(call) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        call()
    return caught.value.problems


# --- validation -------------------------------------------------------------------------------------

# (TOML of a folder file, the one problem expected after "<file>: ")
FOLDER_PROBLEMS = [
    ("max_rank = 9", "key 'max_rank': expected an integer 1-5, got 9"),
    ("max_rank = 0", "key 'max_rank': expected an integer 1-5, got 0"),
    ("max_rank = 3.0", "key 'max_rank': expected an integer 1-5, got 3.0"),
    ("max_rank = true", "key 'max_rank': expected an integer 1-5, got true"),
    ('max_rank = "5"', "key 'max_rank': expected an integer 1-5, got \"5\""),
    ('method = "orb"', "key 'method': expected \"hash\" or \"features\", got \"orb\""),
    ("method = 1", "key 'method': expected \"hash\" or \"features\", got 1"),
    ('scheme = "stars"', "key 'scheme': expected \"tiers\" or \"linear\", got \"stars\""),
    ("threshold = 0", "key 'threshold': expected a number above 0 and at most 1, or \"adaptive\", got 0"),
    ("threshold = 1.5", "key 'threshold': expected a number above 0 and at most 1, or \"adaptive\", got 1.5"),
    ("threshold = true", "key 'threshold': expected a number above 0 and at most 1, or \"adaptive\", got true"),
    ('threshold = "auto"', "key 'threshold': expected a number above 0 and at most 1, or \"adaptive\", got \"auto\""),
    ("threshold = nan", "key 'threshold': expected a number above 0 and at most 1, or \"adaptive\", got nan"),
    ("max_gap = 0", "key 'max_gap': expected a number of seconds above 0, got 0"),
    ("max_gap = -5.5", "key 'max_gap': expected a number of seconds above 0, got -5.5"),
    ("max_gap = inf", "key 'max_gap': expected a number of seconds above 0, got inf"),
    ("max_gap = [30]", "key 'max_gap': expected a number of seconds above 0, got [30]"),
    ("singleton_rating = -2", "key 'singleton_rating': expected an integer -1 to 5, or \"max_rank\", got -2"),
    ("singleton_rating = 6", "key 'singleton_rating': expected an integer -1 to 5, or \"max_rank\", got 6"),
    ("reject_below = 1", "key 'reject_below': expected a number above 0 and below 1, or \"off\", got 1"),
    ("reject_below = false", "key 'reject_below': expected a number above 0 and below 1, or \"off\", got false"),
    ("exclude = 1", "key 'exclude': expected true or false, got 1"),
    ('exclude = "yes"', "key 'exclude': expected true or false, got \"yes\""),
    ("quiet_seconds = 0", "key 'quiet_seconds': expected a number of seconds above 0 and at most 3600, got 0"),
    ("quiet_seconds = 7200", "key 'quiet_seconds': expected a number of seconds above 0 and at most 3600, got 7200"),
    ("workers = -1", "key 'workers': expected an integer 0 or more (0: one per core), got -1"),
    ("workers = 2.5", "key 'workers': expected an integer 0 or more (0: one per core), got 2.5"),
    ("max_ranks = 5", "key 'max_ranks': unknown key (did you mean 'max_rank'?)"),
    ("colour = 'red'", "key 'colour': unknown key"),
    ("[scan]\nmax_rank = 5", "key 'scan': unknown key"),
    ('roots = ["/photos"]', "key 'roots': allowed only in the global config file, not in a folder's .burstd.toml"),
    ("stable_seconds = 1", "key 'stable_seconds': allowed only in the global config file, not in a folder's .burstd.toml"),
    ('cache = "/tmp/c.db"', "key 'cache': allowed only in the global config file, not in a folder's .burstd.toml"),
    ("max_rank = ", "invalid TOML: Invalid value (at line 1, column 12)"),
    ("max_rank = 3\nmax_rank = 4", "invalid TOML: Cannot overwrite a value (at line 2, column 13)"),
]


@pytest.mark.parametrize(("text", "problem"), FOLDER_PROBLEMS, ids=[t for t, _ in FOLDER_PROBLEMS])
def test_a_folder_file_problem_names_file_key_expected_form_and_value(tmp_path: Path, text: str, problem: str) -> None:
    file = write(tmp_path / "shoot" / FOLDER_FILE, text + "\n")
    config = DaemonConfig(path=None, roots=(tmp_path,), folder=FolderSettings())
    assert problems_of(lambda: folder_settings(tmp_path / "shoot", config)) == [f"{file}: {problem}"]


# (TOML of a global file, the one problem expected after "<file>: "); folder keys are checked by the same
# rules as above, so only what is particular to the global file is listed here.
GLOBAL_PROBLEMS = [
    ('roots = "/photos"', "key 'roots': expected a list of folder paths (strings), got \"/photos\""),
    ("roots = [1]", "key 'roots': expected a list of folder paths (strings), got [1]"),
    ('roots = [""]', "key 'roots': expected a list of folder paths (strings), got [\"\"]"),
    ('roots = ["Pictures"]', "key 'roots': expected an absolute path (or one starting with ~ or $VAR), got \"Pictures\""),
    ('roots = ["$BURSTD_UNSET_VAR/in"]', "key 'roots': \"$BURSTD_UNSET_VAR/in\": environment variable $BURSTD_UNSET_VAR is not set"),
    ('roots = ["/p", "/p/in"]', "key 'roots': \"/p/in\" lies inside \"/p\"; list only the outer one"),
    ('roots = ["/p/in", "/p"]', "key 'roots': \"/p/in\" lies inside \"/p\"; list only the outer one"),
    ('roots = ["/p", "/p/"]', "key 'roots': \"/p/\" is the same folder as \"/p\""),
    ("stable_seconds = 0", "key 'stable_seconds': expected a number of seconds above 0 and at most 600, got 0"),
    ("stable_seconds = true", "key 'stable_seconds': expected a number of seconds above 0 and at most 600, got true"),
    ("cache = 3", "key 'cache': expected a file path (string), got 3"),
    ('cache = "cache.db"', "key 'cache': expected an absolute path (or one starting with ~ or $VAR), got \"cache.db\""),
    ("stable_secs = 3", "key 'stable_secs': unknown key (did you mean 'stable_seconds'?)"),
    ("max_rank = 6", "key 'max_rank': expected an integer 1-5, got 6"),
]


@pytest.mark.parametrize(("text", "problem"), GLOBAL_PROBLEMS, ids=[t for t, _ in GLOBAL_PROBLEMS])
def test_a_global_file_problem_names_file_key_expected_form_and_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, problem: str
) -> None:
    monkeypatch.delenv("BURSTD_UNSET_VAR", raising=False)
    file = write(tmp_path / "config.toml", text + "\n")
    assert problems_of(lambda: load_global(file)) == [f"{file}: {problem}"]


def test_a_toml_syntax_error_is_one_problem_with_line_and_column(tmp_path: Path) -> None:
    file = write(tmp_path / "config.toml", 'max_rank = 3\nroots = ["/a"\nmax_gap = 9\n')
    [problem] = problems_of(lambda: load_global(file))
    assert re.fullmatch(rf"{re.escape(str(file))}: invalid TOML: .+ \(at line 3, column \d+\)", problem), problem


def test_every_problem_of_a_file_is_listed_in_one_error(tmp_path: Path) -> None:
    file = write(
        tmp_path / "config.toml",
        'roots = ["relative"]\nmax_rank = 9\nexclude = "no"\nmethod = "orb"\nworkers = true\nwhatever = 1\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_global(file)
    keys = [re.search(r"key '(\w+)'", p).group(1) for p in caught.value.problems]  # type: ignore[union-attr]
    assert sorted(keys) == ["exclude", "max_rank", "method", "roots", "whatever", "workers"]
    message = str(caught.value)
    assert message.startswith("invalid configuration:\n")
    assert all(f"  - {p}" in message for p in caught.value.problems)


def test_problems_of_every_folder_file_on_the_way_are_listed(tmp_path: Path) -> None:
    outer = write(tmp_path / FOLDER_FILE, "max_rank = 0\n")
    inner = write(tmp_path / "a" / "b" / FOLDER_FILE, "max_gap = -1\nscheme = 'x'\n")
    config = DaemonConfig(path=None, roots=(tmp_path,), folder=FolderSettings())
    problems = problems_of(lambda: folder_settings(tmp_path / "a" / "b", config))
    assert [p.split(": key")[0] for p in problems] == [str(outer), str(inner), str(inner)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("max_gap = 60", {"max_gap": 60.0}),  # an integer is fine where a number is expected
        ("threshold = 1", {"threshold": 1.0}),
        ("threshold = 0.72", {"threshold": 0.72}),
        ('threshold = "adaptive"', {"threshold": None}),
        ("max_rank = 1\nsingleton_rating = -1", {"max_rank": 1, "singleton_rating": -1}),
        ("max_rank = 5\nsingleton_rating = 5", {"max_rank": 5, "singleton_rating": 5}),
        ('singleton_rating = "max_rank"', {"singleton_rating": None}),
        ("reject_below = 0.3", {"reject_below": 0.3}),
        ('reject_below = "off"', {"reject_below": None}),
        ('method = "features"\nscheme = "linear"', {"method": Method.FEATURES, "scheme": Scheme.LINEAR}),  # read as the enums
        ("exclude = true\nworkers = 0", {"exclude": True, "workers": 0}),
        ("quiet_seconds = 3600", {"quiet_seconds": 3600.0}),
        ("quiet_seconds = 0.5\nworkers = 8", {"quiet_seconds": 0.5, "workers": 8}),
    ],
)
def test_valid_values_are_taken_as_given(tmp_path: Path, text: str, expected: dict) -> None:
    write(tmp_path / FOLDER_FILE, text + "\n")
    config = DaemonConfig(path=None, roots=(tmp_path,), folder=FolderSettings())
    settings, provenance = folder_settings(tmp_path, config)
    values = values_of(settings)
    assert {k: values[k] for k in expected} == expected
    assert all(type(values[k]) is type(v) for k, v in expected.items())
    assert {k for k, v in provenance.items() if v != "default"} == set(expected)


def test_settings_the_config_does_not_own_stay_off(tmp_path: Path) -> None:
    # force and dry_run are per-command choices, never a standing setting; recursion is the daemon's job.
    file = write(tmp_path / "config.toml", "max_rank = 4\n")
    scan = load_global(file).folder.scan
    assert (scan.force, scan.dry_run, scan.recursive, scan.max_rank) == (False, False, False, 4)


# --- the global file --------------------------------------------------------------------------------


def test_a_missing_global_file_means_defaults_and_no_roots(tmp_path: Path) -> None:
    config = load_global(tmp_path / "nowhere" / "config.toml")
    assert config == DaemonConfig(path=None, roots=(), folder=FolderSettings())
    assert config.folder.scan == ScanSettings() and config.stable_seconds == 2.0 and config.cache is None


def test_an_unreadable_global_file_is_a_problem_not_defaults(tmp_path: Path) -> None:
    folder = tmp_path / "config.toml"
    folder.mkdir()  # reading a folder fails whoever runs the test (even root)
    assert problems_of(lambda: load_global(folder)) == [f"{folder}: cannot read: Is a directory"]


def test_a_global_file_that_is_not_utf8_is_a_problem(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_bytes(b"max_rank = 3\n# caf\xe9\n")
    assert problems_of(lambda: load_global(file)) == [f"{file}: not UTF-8 text (byte 18)"]


@pytest.mark.parametrize(
    ("xdg", "expected"),
    [
        ("{tmp}/xdg", "{tmp}/xdg/burstd/config.toml"),
        (None, "{home}/.config/burstd/config.toml"),
        ("", "{home}/.config/burstd/config.toml"),
        ("relative/xdg", "{home}/.config/burstd/config.toml"),  # the XDG spec: ignore a relative value
    ],
)
def test_global_config_path_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, xdg: str | None, expected: str) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    if xdg is None:
        monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CONFIG_HOME", xdg.format(tmp=tmp_path))
    assert global_config_path() == Path(expected.format(tmp=tmp_path, home=home))


def test_load_global_reads_the_xdg_file_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    file = write(tmp_path / "burstd" / "config.toml", "max_rank = 5\nstable_seconds = 0.5\n")
    config = load_global()
    assert (config.path, config.folder.scan.max_rank, config.stable_seconds) == (file, 5, 0.5)
    assert config.provenance["max_rank"] == str(file) and config.provenance["max_gap"] == "default"


def test_roots_and_cache_expand_tilde_and_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PHOTOS", str(tmp_path / "photos"))
    file = write(
        tmp_path / "config.toml",
        'roots = ["~/Pictures/Import", "$PHOTOS/in", "${PHOTOS}/../card/./dump/", "/abs"]\ncache = "~/burstd.db"\n',
    )
    config = load_global(file)
    assert config.roots == (home / "Pictures/Import", tmp_path / "photos/in", tmp_path / "card/dump", Path("/abs"))
    assert config.cache == home / "burstd.db"


# --- merging ----------------------------------------------------------------------------------------


def test_nearest_file_wins_key_by_key_with_provenance(tmp_path: Path) -> None:
    glob = write(tmp_path / "config.toml", f'roots = ["{tmp_path / "root"}"]\nmax_gap = 45\nworkers = 2\n')
    root_file = write(tmp_path / "root" / FOLDER_FILE, "max_rank = 4\nmax_gap = 50\nthreshold = 0.7\n")
    sports = write(tmp_path / "root" / "sports" / FOLDER_FILE, "max_rank = 5\nmax_gap = 60\n")
    night = write(tmp_path / "root" / "sports" / "night" / FOLDER_FILE, 'threshold = "adaptive"\nexclude = true\n')
    (tmp_path / "root" / "sports" / "night" / "card1").mkdir()
    config = load_global(glob)

    settings, provenance = folder_settings(tmp_path / "root" / "sports" / "night" / "card1", config)
    assert values_of(settings) == {
        **DEFAULTS, "max_rank": 5, "max_gap": 60.0, "threshold": None, "exclude": True, "workers": 2,
    }
    assert provenance == {
        **dict.fromkeys(FOLDER_KEYS, "default"),
        "max_rank": str(sports), "max_gap": str(sports), "threshold": str(night), "exclude": str(night),
        "workers": str(glob),
    }

    # A sibling sees its parents' files, never its siblings'.
    settings, provenance = folder_settings(tmp_path / "root" / "weddings", config)
    assert (settings.scan.max_rank, settings.scan.max_gap, settings.scan.threshold, settings.scan.exclude) == (4, 50.0, 0.7, False)
    assert provenance["max_rank"] == provenance["threshold"] == str(root_file)

    # The root itself gets the global defaults and its own file.
    settings, _ = folder_settings(tmp_path / "root", config)
    assert (settings.scan.max_rank, settings.scan.workers) == (4, 2)


def test_files_above_the_root_do_not_apply(tmp_path: Path) -> None:
    write(tmp_path / FOLDER_FILE, "max_rank = 1\n")
    config = DaemonConfig(path=None, roots=(tmp_path / "root",), folder=FolderSettings())
    settings, provenance = folder_settings(tmp_path / "root" / "shoot", config)
    assert settings == FolderSettings() and set(provenance.values()) == {"default"}


def test_outside_every_root_files_apply_from_the_top(tmp_path: Path) -> None:
    # `burstd config show` on any folder: every .burstd.toml from / down counts.
    outer = write(tmp_path / FOLDER_FILE, "max_rank = 2\n")
    config = DaemonConfig(path=None, roots=(tmp_path / "elsewhere",), folder=FolderSettings())
    settings, provenance = folder_settings(tmp_path / "a" / "b", config)
    assert settings.scan.max_rank == 2 and provenance["max_rank"] == str(outer)


def test_a_relative_folder_is_taken_from_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = write(tmp_path / "shoot" / FOLDER_FILE, "max_rank = 5\n")
    monkeypatch.chdir(tmp_path)
    config = DaemonConfig(path=None, roots=(tmp_path,), folder=FolderSettings())
    settings, provenance = folder_settings(Path("shoot"), config)
    assert settings.scan.max_rank == 5 and provenance["max_rank"] == str(file)


def test_settings_built_in_code_get_sensible_provenance(tmp_path: Path) -> None:
    config = DaemonConfig(path=None, roots=(), folder=FolderSettings(ScanSettings(max_rank=5)))
    _, provenance = folder_settings(tmp_path, config)
    assert provenance["max_rank"] == "global config" and provenance["max_gap"] == "default"


# --- the parsed-file cache --------------------------------------------------------------------------


def test_a_changed_folder_file_is_read_again_and_an_unchanged_one_is_not(tmp_path: Path) -> None:
    config = DaemonConfig(path=None, roots=(tmp_path,), folder=FolderSettings())
    file = write(tmp_path / FOLDER_FILE, "max_rank = 4\n")
    assert folder_settings(tmp_path, config)[0].scan.max_rank == 4
    stamp = file.stat().st_mtime_ns

    # Same size, same inode, same mtime: the cached parse is used, so the new content is not seen yet.
    file.write_text("max_rank = 2\n")
    os.utime(file, ns=(stamp, stamp))
    assert folder_settings(tmp_path, config)[0].scan.max_rank == 4

    # A new mtime: read again.
    os.utime(file, ns=(stamp + 1_000_000_000, stamp + 1_000_000_000))
    assert folder_settings(tmp_path, config)[0].scan.max_rank == 2

    # Broken, then fixed, then gone: each change is seen on the next call.
    file.write_text("max_rank = 99\n")
    assert problems_of(lambda: folder_settings(tmp_path, config)) == [f"{file}: key 'max_rank': expected an integer 1-5, got 99"]
    file.write_text("max_rank = 1\n")
    os.utime(file, ns=(stamp + 3_000_000_000, stamp + 3_000_000_000))
    assert folder_settings(tmp_path, config)[0].scan.max_rank == 1
    file.unlink()
    assert folder_settings(tmp_path, config)[0] == FolderSettings()


def test_a_folder_file_replaced_atomically_is_read_again(tmp_path: Path) -> None:
    # Editors save by writing a new file and renaming it over the old: a new inode, whatever the mtime.
    config = DaemonConfig(path=None, roots=(tmp_path,), folder=FolderSettings())
    file = write(tmp_path / FOLDER_FILE, "max_rank = 4\n")
    assert folder_settings(tmp_path, config)[0].scan.max_rank == 4
    stamp = file.stat().st_mtime_ns
    os.link(file, tmp_path / "old")  # keeps the old inode alive, so the new file cannot get its number
    new = write(tmp_path / "new.toml", "max_rank = 2\n")  # same size
    os.utime(new, ns=(stamp, stamp))  # same mtime
    os.replace(new, file)
    assert folder_settings(tmp_path, config)[0].scan.max_rank == 2


# --- config show ------------------------------------------------------------------------------------


def test_describe_lists_every_key_with_value_and_source_as_valid_toml(tmp_path: Path) -> None:
    sports = write(tmp_path / "sports" / FOLDER_FILE, "max_rank = 5\nmax_gap = 60\nreject_below = 0.25\n")
    config = DaemonConfig(path=None, roots=(tmp_path,), folder=FolderSettings())
    settings, provenance = folder_settings(tmp_path / "sports", config)
    text = describe(settings, provenance)
    lines = text.splitlines()
    assert [line.split(" = ")[0] for line in lines] == list(FOLDER_KEYS)
    assert "max_rank = 5" in text and lines[FOLDER_KEYS.index("max_rank")].endswith(f"# {sports}")
    assert lines[FOLDER_KEYS.index("threshold")].startswith('threshold = "adaptive"')
    assert lines[FOLDER_KEYS.index("threshold")].endswith("# default")
    # The output is itself a valid folder file that reproduces these settings.
    copy = tmp_path / "copy"
    write(copy / FOLDER_FILE, text + "\n")
    assert folder_settings(copy, DaemonConfig(path=None, roots=(copy,), folder=FolderSettings()))[0] == settings
    assert tomllib.loads(text)["max_gap"] == 60.0


# --- the examples in config/ ------------------------------------------------------------------------


def test_the_global_example_parses_and_changes_nothing_but_roots(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    config = load_global(ROOT / "config" / "config.toml")
    assert config.roots == (tmp_path / "Pictures" / "Import",)
    assert config.folder == FolderSettings()
    assert (config.stable_seconds, config.cache) == (2.0, None)


def test_the_global_example_shows_every_key_with_its_default() -> None:
    text = (ROOT / "config" / "config.toml").read_text()
    for key in (*GLOBAL_KEYS, *FOLDER_KEYS):
        assert re.search(rf"^(# )?{key} = ", text, flags=re.M), f"{key} is missing from config/config.toml"
    # The commented defaults mirror the code's, so the example cannot drift from the dataclasses.
    for key, value in DEFAULTS.items():
        assert f"\n# {key} = {toml_value(key, value)}\n" in text, key
    stable = next(f.default for f in dataclasses.fields(DaemonConfig) if f.name == "stable_seconds")
    assert f"\n# stable_seconds = {stable!r}\n" in text


def test_the_folder_example_parses_as_a_folder_file(tmp_path: Path) -> None:
    sports = tmp_path / "root" / "sports"
    sports.mkdir(parents=True)
    shutil.copy(ROOT / "config" / "burstd.toml", sports / FOLDER_FILE)
    config = DaemonConfig(path=None, roots=(tmp_path / "root",), folder=FolderSettings())
    settings, provenance = folder_settings(sports, config)
    assert (settings.scan.max_gap, settings.scan.max_rank) == (60.0, 5)
    assert {k for k, v in provenance.items() if v != "default"} == {"max_gap", "max_rank"}
    text = (ROOT / "config" / "burstd.toml").read_text()
    for key in FOLDER_KEYS:
        assert re.search(rf"^(# )?{key} = ", text, flags=re.M), f"{key} is missing from config/burstd.toml"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('pick_label = "pink"', 'key \'pick_label\': expected "red", "yellow", "green", "blue", "purple" or "off", got "pink"'),
        ('sidecar_style = "capture-one"', "key 'sidecar_style': expected \"darktable\" or \"lightroom\" or \"both\", got \"capture-one\""),
        ("tags = 1", "key 'tags': expected true or false, got 1"),
        ('digikam_pick_labels = "yes"', "key 'digikam_pick_labels': expected true or false, got \"yes\""),
    ],
)
def test_editor_keys_are_checked(tmp_path: Path, line: str, problem: str) -> None:
    folder = tmp_path / "card"
    folder.mkdir()
    (folder / ".burstd.toml").write_text(line + "\n")
    with pytest.raises(ConfigError) as err:
        folder_settings(folder, DaemonConfig(None, (tmp_path,), FolderSettings()))
    assert problem in str(err.value)


def test_editor_keys_reach_the_scan_settings(tmp_path: Path) -> None:
    folder = tmp_path / "card"
    folder.mkdir()
    (folder / ".burstd.toml").write_text(
        'tags = false\npick_label = "green"\ndigikam_pick_labels = true\nsidecar_style = "both"\n'
    )
    settings, provenance = folder_settings(folder, DaemonConfig(None, (tmp_path,), FolderSettings()))
    assert (settings.scan.tags, settings.scan.pick_label, settings.scan.digikam_pick_labels, settings.scan.sidecar_style) == (
        False, "green", True, "both")
    assert provenance["sidecar_style"] == str(folder / ".burstd.toml")
    (folder / ".burstd.toml").write_text('pick_label = "off"\n')
    assert folder_settings(folder, DaemonConfig(None, (tmp_path,), FolderSettings()))[0].scan.pick_label is None
