"""The code standards, checked in CI: ruff (lint + format), mypy strict, import contracts.

The import contract keeps Ray and gRPC out of the pure core (``o2ctl.core``,
``o2ctl.templates``, ``o2ctl.config``); generated stubs are excluded from lint and types.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

BIN = os.path.dirname(sys.executable)
CODE = ["actors", "o2ctl", "occ", "tests", "bench"]


def tool(name: str) -> str:
    path = os.path.join(BIN, name)
    if not os.path.exists(path):
        path = shutil.which(name) or ""
    if not path:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return path


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def test_ruff_lint_and_format() -> None:
    lint = run(tool("ruff"), "check", *CODE)
    assert lint.returncode == 0, lint.stdout[-3000:]
    fmt = run(tool("ruff"), "format", "--check", *CODE)
    assert fmt.returncode == 0, fmt.stdout[-3000:]


def test_mypy_strict() -> None:
    result = run(tool("mypy"), "actors", "o2ctl", "occ", "bench")
    assert result.returncode == 0, result.stdout[-3000:]


def test_pure_core_imports_no_ray_or_grpc() -> None:
    result = run(tool("lint-imports"))
    assert result.returncode == 0, result.stdout[-3000:]
