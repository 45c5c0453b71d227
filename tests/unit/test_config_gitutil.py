"""Helpers for the config tests: a local git "remote" built with the real ``git`` command.

Not a test module itself (it holds no tests); the config test modules import it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from occ.processes import owned_env

GIT_ENV = {
    "GIT_AUTHOR_NAME": "o2ctl tests",
    "GIT_AUTHOR_EMAIL": "tests@o2ctl.invalid",
    "GIT_COMMITTER_NAME": "o2ctl tests",
    "GIT_COMMITTER_EMAIL": "tests@o2ctl.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` (marked as ours, waited for, bounded in time)."""
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=owned_env("test-config-git", GIT_ENV),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"git {' '.join(args)} failed: {done.stderr}"
    return done.stdout.strip()


def write_tree(root: Path, files: Mapping[str, str]) -> None:
    for relpath, text in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


class GitRemote:
    """A bare repository (the "remote") and a working clone to commit and push from."""

    def __init__(self, base: Path, files: Mapping[str, str]) -> None:
        self.bare = base / "remote.git"
        self.work = base / "work"
        self.work.mkdir(parents=True)
        git(base, "init", "--quiet", "--bare", "--initial-branch=main", str(self.bare))
        git(self.work, "init", "--quiet", "--initial-branch=main")
        git(self.work, "remote", "add", "origin", str(self.bare))
        self.commit(files, "initial templates")

    @property
    def url(self) -> str:
        return f"file://{self.bare}"

    def commit(self, files: Mapping[str, str], message: str, branch: str = "main") -> str:
        """Commit ``files`` on ``branch`` (created from the current commit) and push it."""
        if branch != "main":
            git(self.work, "checkout", "--quiet", "-B", branch)
        write_tree(self.work, files)
        git(self.work, "add", "--all")
        git(self.work, "commit", "--quiet", "-m", message)
        git(self.work, "push", "--quiet", "origin", f"{branch}:{branch}")
        sha = git(self.work, "rev-parse", "HEAD")
        if branch != "main":
            git(self.work, "checkout", "--quiet", "main")
        return sha

    def tag(self, name: str, rev: str = "HEAD") -> None:
        git(self.work, "tag", name, rev)
        git(self.work, "push", "--quiet", "origin", name)
