"""``file://DIR``: templates read live from a directory tree.

The default repository is the project's own ``workflows/`` directory, read this way, so
that editing a template and expanding it again needs no commit and no refresh. A file
repository has no revisions; asking for one is an error that says to use git instead.
"""

from __future__ import annotations

from pathlib import Path

from o2ctl.config.errors import ConfigError
from o2ctl.config.refs import KIND_DIRS, TEMPLATE_SUFFIXES
from o2ctl.config.repository import ConfigRepository
from o2ctl.config.source import CommandText, TemplateKind, TemplateText


class FileRepository(ConfigRepository):
    """Templates in ``ROOT/workflows/*.yaml`` and ``ROOT/tasks/*.yaml``."""

    backend = "file"

    def __init__(self, root: Path | str, name: str | None = None) -> None:
        self.root = Path(root).expanduser().resolve()
        if not self.root.is_dir():
            raise ConfigError(f"file repository {self.root}: no such directory")
        super().__init__(f"file://{self.root}", name or str(self.root))

    def read_template(self, kind: TemplateKind, name: str, revision: str | None) -> TemplateText:
        if revision is not None:
            raise self.no_revisions(name, revision)
        for suffix in TEMPLATE_SUFFIXES:
            path = self.root / KIND_DIRS[kind] / f"{name}{suffix}"
            if path.is_file():
                return TemplateText(name, kind, _read_text(path), str(path))
        raise self.not_found(kind, name)

    def read_jit(self, name: str, revision: str | None) -> CommandText | None:
        if revision is not None:
            raise self.no_revisions(f"jit/{name}", revision)
        path = self.root / "jit" / name
        return CommandText(name, _read_text(path), str(path)) if path.is_file() else None

    def list_names(self, kind: TemplateKind, revision: str | None) -> list[str]:
        if revision is not None:
            raise self.no_revisions(f"{KIND_DIRS[kind]}/", revision)
        directory = self.root / KIND_DIRS[kind]
        if not directory.is_dir():
            return []
        return sorted(
            {p.stem for p in directory.iterdir() if p.suffix in TEMPLATE_SUFFIXES and p.is_file()}
        )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read template file {path}: {e}") from e
