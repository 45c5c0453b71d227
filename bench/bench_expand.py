"""Expansion cost of the 1-n-1 tutorial workflow as the number of processors grows.

Prints, for nProcessors = 10, 100, 1000, 10000, the median wall and CPU time of
``expand_workflow`` (each run a full expansion: parse cached, roles, task rendering,
channel resolution, frozen tree), next to two floors measured in the same run: reading
the same four YAML files with ``yaml.safe_load``, and building one plain dict per task.

    .venv/bin/python bench/bench_expand.py [--workflows DIR] [--sizes 10,100,1000]

Uses ``../shared/controlworkflows`` (AliECS's ``fairmq-ex-1-n-1``) when present, else the
project's own ``workflows/`` (``sampler-processors-sink``, the same shape).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import yaml

from o2ctl.config.source import TemplateKind, TemplateNotFound, TemplateText
from o2ctl.templates import expand_workflow

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "controlworkflows"
REPEATS = {10: 21, 100: 11, 1000: 5, 10000: 3}


class DirSource:
    """Templates from a directory laid out like a repository (workflows/, tasks/)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, kind: TemplateKind, ref: str) -> Path:
        name = ref.rpartition("/")[2].partition("@")[0]
        return self.root / ("workflows" if kind == "workflow" else "tasks") / f"{name}.yaml"

    def get_template(self, kind: TemplateKind, ref: str) -> TemplateText:
        path = self.path(kind, ref)
        if not path.is_file():
            raise TemplateNotFound(f"no {kind} template {ref!r} under {self.root}")
        return TemplateText(path.stem, kind, path.read_text(), str(path))

    def list_templates(self, kind: TemplateKind) -> list[str]:
        return []


def timed(action: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``action``."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def plain_dicts(count: int, workflow: str) -> list[dict[str, object]]:
    """The floor of building the result: one small dict per task, nothing computed."""
    return [
        {
            "path": f"{workflow}.processor{i}",
            "connects": [{"name": "data1", "target": f"{workflow}.sampler:data1"}],
            "binds": [],
        }
        for i in range(1, count + 1)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=Path, default=None)
    parser.add_argument("--sizes", default="10,100,1000,10000")
    options = parser.parse_args()
    root = options.workflows or (SHARED if SHARED.is_dir() else ROOT / "workflows")
    workflow = (
        "fairmq-ex-1-n-1"
        if (root / "workflows/fairmq-ex-1-n-1.yaml").is_file()
        else ("sampler-processors-sink")
    )
    source = DirSource(root)
    files = [source.path("workflow", workflow)]
    files += [source.path("task", f"fairmq-ex-1-n-1-{r}") for r in ("sampler", "processor", "sink")]
    texts = [f.read_text() for f in files]
    expand_workflow(source, workflow)  # warm the parse caches, as a long-lived controller is

    print(f"workflow {workflow} from {root}")
    print(f"{'nProcessors':>11} {'expand wall':>12} {'expand cpu':>11} {'per task':>9} "
          f"{'yaml floor':>11} {'dict floor':>11}")  # fmt: skip
    for size in (int(s) for s in options.sizes.split(",")):
        repeats = REPEATS.get(size, 3)
        users = {"nProcessors": str(size)}
        wall, cpu = timed(partial(expand_workflow, source, workflow, users), repeats)
        yaml_floor, _ = timed(partial(_load_all, texts), repeats)
        dict_floor, _ = timed(partial(plain_dicts, size, workflow), repeats)
        per_task = cpu / (size + 2) * 1e6
        print(
            f"{size:>11} {wall * 1e3:>10.1f}ms {cpu * 1e3:>9.1f}ms {per_task:>7.0f}us "
            f"{yaml_floor * 1e3:>9.2f}ms {dict_floor * 1e3:>9.2f}ms"
        )


def _load_all(texts: list[str]) -> list[object]:
    return [yaml.safe_load(text) for text in texts]


if __name__ == "__main__":
    main()
