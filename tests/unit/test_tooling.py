"""The code standards, checked in CI: ruff (lint + format), mypy strict, import contracts.

The import contracts (``[tool.importlinter]`` in ``pyproject.toml``) name every layer, from
the CLI down to the pure core, with indirect imports across layers not allowed, and keep
Ray and gRPC out of the pure layers; generated stubs are excluded from lint and types.
A missing tool fails the test (all are in the ``test`` extra): a check that skips is a
check nobody runs. ``test_an_upward_import_breaks_the_layers`` shows that the contracts
bite, on a copy of the packages with one forbidden import added.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

BIN = os.path.dirname(sys.executable)
CODE = ["actors", "o2ctl", "occ", "tests", "bench"]


def tool(name: str) -> str:
    path = os.path.join(BIN, name)
    if not os.path.exists(path):
        path = shutil.which(name) or ""
    if not path:
        pytest.fail(f"{name} is not installed: it is in the test extra (pip install -e '.[test]')")
    return path


def run(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)


def test_ruff_lint_and_format() -> None:
    lint = run(tool("ruff"), "check", *CODE)
    assert lint.returncode == 0, lint.stdout[-3000:]
    fmt = run(tool("ruff"), "format", "--check", *CODE)
    assert fmt.returncode == 0, fmt.stdout[-3000:]


def test_mypy_strict() -> None:
    result = run(tool("mypy"), "actors", "o2ctl", "occ", "bench")
    assert result.returncode == 0, result.stdout[-3000:]


def test_import_contracts_are_kept() -> None:
    result = run(tool("lint-imports"), "--no-logo")
    assert result.returncode == 0, result.stdout[-3000:]


PACKAGES = ("o2ctl", "actors", "occ", "bench")

# (module edited, line appended, what lint-imports must name)
BREACHES = {
    "upward, direct": (
        "occ/wire.py",
        "from actors import naming",
        "occ.wire -> actors.naming",
    ),
    "upward, indirect through the o2ctl package": (
        "o2ctl/config/errors.py",
        "import o2ctl",
        "o2ctl -> o2ctl.sdk",
    ),
    "pure layer imports ray": (
        "o2ctl/core/ids.py",
        "import ray",
        "o2ctl.core.ids -> ray",
    ),
}


def copy_of_the_project(dest: Path) -> None:
    """The packages' Python files and ``pyproject.toml``: all lint-imports reads."""
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    for package in PACKAGES:
        for source in (ROOT / package).rglob("*.py"):
            target = dest / source.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)


@pytest.mark.parametrize("breach", sorted(BREACHES))
def test_an_upward_import_breaks_the_layers(breach: str, tmp_path: Path) -> None:
    """One forbidden import added to a copy of the packages makes lint-imports fail,
    naming it (lint-imports puts its working directory first on ``sys.path``, so the
    copy, not the installed packages, is analysed)."""
    module, line, named = BREACHES[breach]
    copy_of_the_project(tmp_path)
    with (tmp_path / module).open("a", encoding="utf-8") as f:
        f.write(f"\n{line}  # a breach, for the test\n")
    result = run(tool("lint-imports"), "--no-logo", "--no-cache", cwd=tmp_path)
    assert result.returncode != 0, result.stdout[-3000:]
    assert named in result.stdout, result.stdout[-3000:]
