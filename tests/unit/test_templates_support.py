"""Template sources and an expression environment for the template tests (no tests here).

``DirSource`` reads an AliECS-style tree (``workflows/NAME.yaml``, ``tasks/NAME.yaml``);
``DictSource`` serves texts held in memory, keyed ``("workflow"|"task", name)``. Both
implement ``o2ctl.config.source.TemplateSource`` and record every reference asked for, so
tests can check what expansion requested. Reference parsing is deliberately simple: the
real backends live in ``o2ctl.config``.
"""

from __future__ import annotations

from pathlib import Path

from o2ctl.config.source import TemplateKind, TemplateNotFound, TemplateText
from o2ctl.templates import IntegrationContext, TemplateError
from o2ctl.templates.backed import GLOBAL_NAMES

ROOT = Path(__file__).resolve().parents[2]
OUR_WORKFLOWS = ROOT / "workflows"
DIRS = {"workflow": "workflows", "task": "tasks"}


def bare_name(ref: str) -> str:
    return ref.rpartition("/")[2].partition("@")[0]


class DirSource:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.asked: list[tuple[str, str]] = []

    def get_template(self, kind: TemplateKind, ref: str) -> TemplateText:
        self.asked.append((kind, ref))
        path = self.root / DIRS[kind] / f"{bare_name(ref)}.yaml"
        if not path.is_file():
            raise TemplateNotFound(f"no {kind} template {ref!r} in {self.root}")
        return TemplateText(bare_name(ref), kind, path.read_text(), str(path))

    def list_templates(self, kind: TemplateKind) -> list[str]:
        return sorted(p.stem for p in (self.root / DIRS[kind]).glob("*.yaml"))


class DictSource:
    def __init__(self, texts: dict[tuple[str, str], str]) -> None:
        self.texts = texts
        self.asked: list[tuple[str, str]] = []

    def get_template(self, kind: TemplateKind, ref: str) -> TemplateText:
        self.asked.append((kind, ref))
        name = bare_name(ref)
        if (kind, name) not in self.texts:
            raise TemplateNotFound(f"no {kind} template {ref!r}")
        return TemplateText(name, kind, self.texts[(kind, name)], f"mem/{DIRS[kind]}/{name}.yaml")

    def list_templates(self, kind: TemplateKind) -> list[str]:
        return sorted(name for k, name in self.texts if k == kind)


SIMPLE_TASK = """
name: simple
control: {mode: fairmq}
bind:
  - {name: out, type: push}
command: {value: "run {{ tag }}"}
defaults: {tag: default-tag}
"""

BASIC_TASK = """
name: job
control: {mode: basic}
command: {value: "echo {{ message }}", shell: true}
defaults: {message: hello}
"""


def source(workflows: dict[str, str], tasks: dict[str, str] | None = None) -> DictSource:
    """A DictSource with the given workflows plus ``simple`` and ``job`` task templates."""
    texts = {("workflow", k): v for k, v in workflows.items()}
    all_tasks = {"simple": SIMPLE_TASK, "job": BASIC_TASK, **(tasks or {})}
    texts.update({("task", k): v for k, v in all_tasks.items()})
    return DictSource(texts)


class Env:
    """A minimal evaluation environment: variables and the helper namespaces."""

    def __init__(self, **variables: object) -> None:
        self.variables = variables
        self.integration = IntegrationContext()
        self.warnings: list[str] = []

    def lookup(self, name: str) -> object:
        if name in GLOBAL_NAMES:
            return GLOBAL_NAMES[name]
        if name not in self.variables:
            raise TemplateError(f"unknown variable {name!r}")
        return self.variables[name]

    def stack_get(self, name: str) -> object | None:
        return self.variables.get(name)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
