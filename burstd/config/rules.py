"""Per-folder settings as plain values: the key table, validation, merging and `config show` text.

This is the pure half of the configuration layer (the loaders live in `burstd.config.files`): every function
takes dicts parsed from TOML and returns values plus a list of problems, so a file with five mistakes
is reported once with all five. `scan`'s command line is checked by the same rules (`validate_given`). Defaults are never written here: they are read from `FolderSettings`
and `ScanSettings`, the one place they live.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from burstd.models import Colour, Method, ScanSettings, Scheme, SetPolicy, SidecarStyle

FOLDER_FILE = ".burstd.toml"


@dataclass(frozen=True, slots=True)
class FolderSettings:
    """What the daemon needs to process one folder: how to scan it, and when its session ends."""

    scan: ScanSettings = field(default_factory=ScanSettings)
    quiet_seconds: float = 20.0  # a folder's session ends after this long without new files
    report: bool = False  # write the review page (burstd-report.html) after each session


@dataclass(frozen=True, slots=True)
class Rule:
    """How one key's value is checked: `expected` completes "expected ..." in a problem message."""

    expected: str
    accepts: Callable[[object], bool]
    # Words that stand for "not set" (None), so a folder file can switch a parent's value back off:
    # TOML has no null, and merging key by key could otherwise never undo a threshold set above.
    words: Mapping[str, object] = field(default_factory=dict)
    as_float: bool = False  # TOML `60` where seconds are expected is fine: store it as 60.0

    def read(self, raw: object) -> tuple[bool, object]:
        if isinstance(raw, str) and raw in self.words:
            return True, self.words[raw]
        if not self.accepts(raw):
            return False, None
        return True, float(raw) if self.as_float else raw  # type: ignore[arg-type]


def _is_int(value: object) -> bool:
    # TOML `true` is a Python bool, which is an int subclass: never let it pass for a number.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    # `inf` and `nan` are valid TOML floats but never a sensible number of seconds or a similarity.
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)  # type: ignore[arg-type]


def _choice(choices: type[StrEnum], off: Mapping[str, object] | None = None) -> Rule:
    """One of the members of `choices` (read as the member itself), or a word of `off`."""
    names = [json.dumps(c.value) for c in choices]
    if off:  # "red", "yellow", ... or "off"
        expected = ", ".join(names) + " or " + " or ".join(json.dumps(w) for w in off)
    else:
        expected = " or ".join(names)
    # Every accepted value is a word: a member's own string, or one of `off`.
    return Rule(expected, lambda v: False, {**{c.value: c for c in choices}, **(off or {})})


def _integer(low: int, high: int | None, expected: str, words: Mapping[str, object] | None = None) -> Rule:
    return Rule(expected, lambda v: _is_int(v) and low <= v and (high is None or v <= high), words or {})  # type: ignore[operator]


def _number(accepts: Callable[[float], bool], expected: str, words: Mapping[str, object] | None = None) -> Rule:
    return Rule(expected, lambda v: _is_number(v) and accepts(v), words or {}, as_float=True)  # type: ignore[arg-type]


def _string_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


# The keys a `.burstd.toml` (and the global file, as defaults for every folder) may set, in the order
# `config show` and the examples list them. Every one but quiet_seconds and report is a `ScanSettings` field.
FOLDER_RULES: dict[str, Rule] = {
    "method": _choice(Method),
    "threshold": _number(lambda v: 0 < v <= 1, 'a number above 0 and at most 1, or "adaptive"', {"adaptive": None}),
    "max_gap": _number(lambda v: v > 0, "a number of seconds above 0"),
    "max_rank": _integer(1, 5, "an integer 1-5"),
    "scheme": _choice(Scheme),
    "singleton_rating": _integer(-1, 5, 'an integer -1 to 5, or "max_rank"', {"max_rank": None}),
    "reject_below": _number(lambda v: 0 < v < 1, 'a number above 0 and below 1, or "off"', {"off": None}),
    "sets": _choice(SetPolicy),
    # A kept set is never culled: no rating below 0 (rejected) for its frames.
    "set_rating": _integer(0, 5, 'an integer 0 to 5, or "max_rank"', {"max_rank": None}),
    "reject_closed_eyes": Rule("true or false", lambda v: isinstance(v, bool)),
    "exclude": Rule("true or false", lambda v: isinstance(v, bool)),
    "quiet_seconds": _number(lambda v: 0 < v <= 3600, "a number of seconds above 0 and at most 3600"),
    "workers": _integer(0, None, "an integer 0 or more (0: one per core)"),
    "report": Rule("true or false", lambda v: isinstance(v, bool)),
    "tags": Rule("true or false", lambda v: isinstance(v, bool)),
    "pick_label": _choice(Colour, {"off": None}),
    "digikam_pick_labels": Rule("true or false", lambda v: isinstance(v, bool)),
    "sidecar_style": _choice(SidecarStyle),
}
# Keys about the daemon as a whole, meaningful only in the global file.
GLOBAL_RULES: dict[str, Rule] = {
    "roots": Rule("a list of folder paths (strings)", _string_list),
    "stable_seconds": _number(lambda v: 0 < v <= 600, "a number of seconds above 0 and at most 600"),
    "cache": Rule("a file path (string)", lambda v: isinstance(v, str) and bool(v.strip())),
    "darktable_config": Rule("a folder path (string)", lambda v: isinstance(v, str) and bool(v.strip())),
}
FOLDER_KEYS = tuple(FOLDER_RULES)
GLOBAL_KEYS = tuple(GLOBAL_RULES)
DAEMON_ONLY_KEYS = ("quiet_seconds", "report")  # FolderSettings' own fields, not ScanSettings'
SCAN_KEYS = tuple(k for k in FOLDER_KEYS if k not in DAEMON_ONLY_KEYS)


def validate_table(table: Mapping[str, object], source: str, *, is_global: bool) -> tuple[dict[str, object], list[str]]:
    """The valid values of one parsed file, and a problem for every invalid key (all of them).

    `source` names the file in messages: "<source>: key 'max_rank': expected an integer 1-5, got 9".
    """
    allowed = {**FOLDER_RULES, **GLOBAL_RULES} if is_global else FOLDER_RULES
    values: dict[str, object] = {}
    problems: list[str] = []
    for key, raw in table.items():
        rule = allowed.get(key)
        if rule is None:
            if key in GLOBAL_RULES:
                reason = "allowed only in the global config file, not in a folder's " + FOLDER_FILE
            else:
                near = difflib.get_close_matches(key, allowed, n=1)
                reason = "unknown key" + (f" (did you mean '{near[0]}'?)" if near else "")
            problems.append(f"{source}: key '{key}': {reason}")
            continue
        ok, value = rule.read(raw)
        if ok:
            values[key] = value
        else:
            problems.append(f"{source}: key '{key}': {mismatch(rule, raw)}")
    return values, problems


def validate_given(given: Mapping[str, object], names: Mapping[str, str]) -> tuple[dict[str, object], list[str]]:
    """Values for folder keys given another way than a file (the command line), read by the same rules.

    Returns the valid values, and a problem for every invalid one (all of them), named by `names[key]`:
    "--max-rank: expected an integer 1-5, got 9". Keys with no rule (scan's --force, --dry-run ...) are
    taken as given.
    """
    values: dict[str, object] = {}
    problems: list[str] = []
    for key, raw in given.items():
        rule = FOLDER_RULES.get(key)
        ok, value = rule.read(raw) if rule else (True, raw)
        if ok:
            values[key] = value
        else:
            problems.append(f"{names[key]}: {mismatch(rule, raw)}")  # type: ignore[arg-type]
    return values, problems


def mismatch(rule: Rule, raw: object) -> str:
    """What is wrong with `raw`: "expected an integer 1-5, got 9"."""
    return f"expected {rule.expected}, got {show_value(raw)}"


def merge_layers(
    base: Mapping[str, object], base_sources: Mapping[str, str], layers: Iterable[tuple[str, Mapping[str, object]]]
) -> tuple[dict[str, object], dict[str, str]]:
    """Apply `layers` (source, values), outermost first, key by key over `base`: the last to set a key wins."""
    values, sources = dict(base), dict(base_sources)
    for source, layer in layers:
        for key, value in layer.items():
            values[key] = value
            sources[key] = source
    return values, sources


def values_of(settings: FolderSettings) -> dict[str, object]:
    """The folder keys of `settings`, as plain values (None where a key is off / adaptive)."""
    values: dict[str, object] = {key: getattr(settings.scan, key) for key in SCAN_KEYS}
    values.update({key: getattr(settings, key) for key in DAEMON_ONLY_KEYS})
    return values


def settings_from_values(values: Mapping[str, object]) -> FolderSettings:
    """FolderSettings from validated values; a key not given keeps its dataclass default."""
    scan = ScanSettings(**{k: values[k] for k in SCAN_KEYS if k in values})  # type: ignore[arg-type]
    rest = {k: values[k] for k in DAEMON_ONLY_KEYS if k in values}
    return FolderSettings(scan, **rest)  # type: ignore[arg-type]


def sources_for(settings: FolderSettings, known: Mapping[str, str], fallback: str) -> dict[str, str]:
    """Provenance for every folder key: `known` where given, else "default" when the value is the default
    and `fallback` when it is not (settings built in code, e.g. by a test, carry no provenance)."""
    defaults = values_of(FolderSettings())
    current = values_of(settings)
    return {k: known.get(k) or ("default" if current[k] == defaults[k] else fallback) for k in FOLDER_KEYS}


def describe(settings: FolderSettings, provenance: Mapping[str, str]) -> str:
    """One line per key, `key = value  # where it came from`: the value half is valid TOML, ready to paste."""
    values = values_of(settings)
    rows = [(f"{key} = {toml_value(key, values[key])}", provenance.get(key, "default")) for key in FOLDER_KEYS]
    width = max(len(text) for text, _ in rows)
    return "\n".join(f"{text:<{width}}  # {source}" for text, source in rows)


def toml_value(key: str, value: object) -> str:
    """`value` as TOML; None is written as the word that means it for `key` ("adaptive", "off", ...)."""
    if value is None:
        words = FOLDER_RULES[key].words if key in FOLDER_RULES else {}
        word = next((w for w, v in words.items() if v is None), None)
        return json.dumps(word) if word else "(unset)"
    return show_value(value)


def show_value(value: object) -> str:
    """A value as the user wrote it in TOML, for messages: `true`, `"fast"`, `9`, `[1, 2]`, a table."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
    if isinstance(value, list):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "a table"
    return str(value)  # int, dates and times
