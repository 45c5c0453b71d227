"""Template expansion of fairmq-ex-1-n-1 with 1,000 and 10,000 processors, as table rows.

What flows through: ``bench.bench_expand`` (helper C's script) does the work: its
``DirSource`` reads AliECS's own ``fairmq-ex-1-n-1`` from ``../shared/controlworkflows``
(or the project's ``sampler-processors-sink`` when that is absent), its ``timed`` runs a
full ``expand_workflow`` (parse cached, as in a long-lived controller). This module only
turns what it measures into ``Figure`` rows: the floor is reading the four YAML files plus
building one plain dict per task, measured in the same run. No Ray is needed.
"""

from __future__ import annotations

from functools import partial

import yaml

from bench.bench_expand import REPEATS, ROOT, SHARED, DirSource, plain_dicts, timed
from bench.common import Figure, base_parser
from o2ctl.templates import expand_workflow

SIZES = (1000, 10000)
TINY_SIZES = (10, 100)


def _source() -> tuple[DirSource, str, list[str]]:
    root = SHARED if SHARED.is_dir() else ROOT / "workflows"
    source = DirSource(root)
    shared = (root / "workflows/fairmq-ex-1-n-1.yaml").is_file()
    workflow = "fairmq-ex-1-n-1" if shared else "sampler-processors-sink"
    files = [source.path("workflow", workflow)] + [
        source.path("task", f"fairmq-ex-1-n-1-{r}") for r in ("sampler", "processor", "sink")
    ]
    return source, workflow, [f.read_text() for f in files]


class _TagsAsValues(yaml.SafeLoader):
    """Plain YAML, AliECS's tags (``!public``) read as the value they carry: the floor."""


def _untagged(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> object:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


_TagsAsValues.add_multi_constructor("!", _untagged)


def _yaml_floor(texts: list[str]) -> list[object]:
    return [yaml.load(t, Loader=_TagsAsValues) for t in texts]  # a SafeLoader


def measure(
    sizes: tuple[int, ...] = SIZES, quick: bool = False, repeats: int | None = None
) -> list[Figure]:
    """Each size ``repeats`` times (default: by size, halved with ``quick``)."""
    source, workflow, texts = _source()
    expand_workflow(source, workflow)  # warm the parse caches
    out = []
    for size in sizes:
        times = repeats or max(1, REPEATS.get(size, 3) // (2 if quick else 1))
        runs = [
            timed(partial(expand_workflow, source, workflow, {"nProcessors": str(size)}), 1)
            for _ in range(times)
        ]
        yaml_s, _ = timed(partial(_yaml_floor, texts), times)
        dict_s, _ = timed(partial(plain_dicts, size, workflow), times)
        out.append(
            Figure(
                f"expand {workflow}",
                size,
                "ms",
                [w * 1e3 for w, _ in runs],
                (yaml_s + dict_s) * 1e3,
                "yaml+dicts",
                notes={
                    "cpu_ms": [c * 1e3 for _, c in runs],
                    "yaml_floor_ms": yaml_s * 1e3,
                    "dict_floor_ms": dict_s * 1e3,
                    "processors": size,
                    "us_per_task": min(w for w, _ in runs) / (size + 2) * 1e6,
                },
            )
        )
    return out


def main() -> None:
    from bench.report import print_table

    options = base_parser(__doc__.splitlines()[0]).parse_args()
    sizes = tuple(int(s) for s in options.sizes.split(",")) if options.sizes else SIZES
    print_table(measure(sizes, options.quick), "expansion")


if __name__ == "__main__":
    main()
