"""Shared fixtures: private state and config folders per test, the CLI as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def private_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own XDG_STATE_HOME, so no test reads another's cache."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state


@pytest.fixture(autouse=True)
def private_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """... and its own, empty, XDG_CONFIG_HOME: `scan` and `report` read the global config.toml, which
    must be the test's, never the config of whoever runs the tests."""
    config = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return config


class Burstd:
    """Runs the real `burstd` command line in a subprocess."""

    def __call__(self, *args: str | Path, check: int | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "burstd", *map(str, args)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=300,
        )
        if check is not None:
            assert result.returncode == check, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        return result

    def json(self, *args: str | Path, check: int = 0) -> dict:
        return json.loads(self(*args, "--json", check=check).stdout)


@pytest.fixture
def burstd() -> Burstd:
    return Burstd()
