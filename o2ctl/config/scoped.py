"""``ScopedSource``: the ``TemplateSource`` a workflow is expanded with.

It is anchored at one repository and revision, the ones the workflow came from. A bare
reference (``load: foo``, ``include: bar@dev``) is read there, at the anchor's revision
unless it names its own; a qualified one (``github.com/org/repo/tasks/foo@dev``) is handed
to the repository it names, through the manager's lookup.
"""

from __future__ import annotations

from collections.abc import Callable

from o2ctl.config.refs import KIND_DIRS, format_ref, parse_ref
from o2ctl.config.repository import ConfigRepository
from o2ctl.config.source import TemplateKind, TemplateText


class ScopedSource:
    """Resolve template references relative to one home repository and revision."""

    def __init__(
        self,
        home: ConfigRepository,
        revision: str | None,
        resolve_repo: Callable[[str], ConfigRepository],
    ) -> None:
        self.home = home
        self.revision = revision
        self._resolve_repo = resolve_repo

    def __repr__(self) -> str:
        return f"ScopedSource({self.home.name!r}, revision={self.revision!r})"

    def get_template(self, kind: TemplateKind, ref: str) -> TemplateText:
        parsed = parse_ref(ref)
        if parsed.repo is None or self.home.answers_to(parsed.repo):
            repo, revision = self.home, parsed.revision or self.revision
        else:
            repo, revision = self._resolve_repo(parsed.repo), parsed.revision
        kind_dir = f"{parsed.kind_dir or KIND_DIRS[kind]}/"
        return repo.get_template(kind, kind_dir + format_ref(parsed.name, revision))

    def list_templates(self, kind: TemplateKind) -> list[str]:
        return self.home.list_names(kind, self.revision)
