"""The README documents every scan option, and CI runs the very test command the README gives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from burstd.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def scan_actions():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return [a for a in sub.choices["scan"]._actions if a.option_strings and a.dest != "help"]


@pytest.mark.parametrize("action", scan_actions(), ids=lambda a: a.option_strings[-1])
def test_every_scan_option_has_help_and_is_in_the_readme(action) -> None:
    assert action.help, f"{action.option_strings} has no help"
    assert any(f"`{opt}`" in README or f"`{opt} " in README for opt in action.option_strings), action.option_strings


def test_ci_runs_the_readme_test_command() -> None:
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.S)
    test_command = next(b for b in blocks if "pytest" in b).strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci.splitlines()


def all_commands():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in sub.choices.items():
        yield name, command
        for action in command._actions:
            if action.dest == "config_command":
                yield from ((f"{name} {n}", c) for n, c in action.choices.items())


@pytest.mark.parametrize(("name", "command"), list(all_commands()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_is_documented_with_an_example(name: str, command) -> None:
    assert f"burstd {name}" in README, f"`burstd {name}` is missing from the README"
    assert "Example: burstd" in (command.description or ""), f"`burstd {name}` --help has no example"
    for action in command._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, f"{name} {action.option_strings} has no help"
            assert any(opt in README for opt in action.option_strings), f"{name} {action.option_strings} not in README"
