"""The README documents every command and every option by its exact name, in that command's own
section; and CI runs the very test command the README gives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from burstd.cli.parser import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
HEADING = re.compile(r"^(#+) (.*)$", flags=re.M)


def all_commands():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in sub.choices.items():
        yield name, command
        for action in command._actions:
            if action.dest == "config_command":
                yield from ((f"{name} {n}", c) for n, c in action.choices.items())


def options(command) -> list:
    return [a for a in command._actions if a.option_strings and a.dest != "help"]


def section_of(name: str, readme: str = README) -> str:
    """The README's text about `burstd <name>`: the section under the heading that names it (with its
    sub-sections), else the smallest section that mentions it (`install-service`, `config show`)."""
    headings = list(HEADING.finditer(readme))
    sections = []
    for i, heading in enumerate(headings):
        level = len(heading.group(1))
        end = next((h.start() for h in headings[i + 1:] if len(h.group(1)) <= level), len(readme))
        sections.append((heading.group(2), readme[heading.start():end]))
    own = [text for title, text in sections if f"`burstd {name}`" in title]
    if own:
        return own[0]
    mentioning = [text for _, text in sections if whole(f"burstd {name}", text)]
    assert mentioning, f"`burstd {name}` is missing from the README"
    return min(mentioning, key=len)


def whole(word: str, text: str) -> bool:
    """`word` occurs in `text` as a whole option or command: `--output` is not found in `--output-dir`."""
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


@pytest.mark.parametrize(("name", "command"), list(all_commands()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_is_documented_with_an_example(name: str, command) -> None:
    assert whole(f"burstd {name}", README), f"`burstd {name}` is missing from the README"
    assert "Example: burstd" in (command.description or ""), f"`burstd {name}` --help has no example"
    for action in options(command):
        assert action.help, f"{name} {action.option_strings} has no help"


@pytest.mark.parametrize(("name", "command"), list(all_commands()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_option_is_in_its_commands_readme_section(name: str, command) -> None:
    section = section_of(name)
    missing = [opt for action in options(command) for opt in action.option_strings if not whole(opt, section)]
    assert not missing, f"`burstd {name}`: {missing} not in its README section"


@pytest.mark.parametrize(("name", "command"), list(all_commands()), ids=lambda v: v if isinstance(v, str) else "")
def test_the_readme_names_option_values_as_the_help_does(name: str, command) -> None:
    """`-d FLOAT` in --help is `-d FLOAT` in the README too (its synopsis and its table), never `-d DIFF`."""
    section = section_of(name)
    wrong = []
    for action in options(command):
        if action.metavar is None:
            continue
        for opt in action.option_strings:
            for shown in re.findall(rf"(?<![\w-]){re.escape(opt)} ([A-Z][A-Z_]*)\b", section):
                if shown != action.metavar:
                    wrong.append(f"{opt} {shown} (--help: {opt} {action.metavar})")
    assert not wrong, f"`burstd {name}`: {wrong}"


def test_every_positional_has_help() -> None:
    parsers = [("burstd", build_parser()), *all_commands()]
    missing = [f"{name} {a.metavar or a.dest}" for name, p in parsers for a in p._actions
               if not a.option_strings and not a.help]
    assert not missing, missing


def test_a_substring_is_not_an_option() -> None:
    assert whole("--output", "`-o`, `--output FILE`") and whole("-r", "[-r]") and whole("-v", "`-v`, `--verbose`")
    assert not whole("--output", "--output-dir") and not whole("-r", "--recursive") and not whole("-o", "--no-enable")


def test_ci_runs_the_readme_test_command() -> None:
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.S)
    test_command = next(b for b in blocks if "pytest" in b).strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci.splitlines()


def code_map() -> str:
    start = README.index("- Code map")
    return README[start:README.index("\n- ", start + 1)]


def test_the_code_map_names_every_package_and_module() -> None:
    """README's code map matches the tree: every package and module is named, and nothing else."""
    text = code_map()
    package = ROOT / "burstd"
    for path in sorted(package.rglob("*.py")):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        folder = path.parent.relative_to(package)
        if folder.parts:
            assert f"`{folder.parts[0]}/`" in text, f"the code map does not name the package {folder}/"
        assert f"`{path.name}`" in text, f"the code map does not name {path.relative_to(ROOT)}"
    named = set(re.findall(r"`([a-z_0-9]+\.py)`", text))
    existing = {p.name for p in package.rglob("*.py")}
    assert named <= existing, f"the code map names modules that do not exist: {sorted(named - existing)}"
