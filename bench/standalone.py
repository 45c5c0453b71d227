"""One measure module run on its own (``python -m bench.<name>``; ``bench.run_all`` runs them
all in one session): the common options, one o2ctl session, each size N, the table.

Apart from ``bench.common`` because it prints through ``bench.report``, which builds on
``bench.common``: the shared pieces stay below the table, and the table below this.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.common import Figure, Repeats, base_parser, o2ctl_session, repeats_of, sizes_of
from bench.report import print_table


def standalone(doc: str, name: str, per_size: Callable[[Any, int, Repeats], list[Figure]]) -> None:
    """One measure module run on its own (``python -m bench.<name>``): the common options,
    one o2ctl session, ``per_size(client, n, repeats)`` for each N, the table."""
    options = base_parser(doc.splitlines()[0]).parse_args()
    repeats = repeats_of(options)
    out: list[Figure] = []
    with o2ctl_session() as client:
        for n in sizes_of(options):
            out += per_size(client, n, repeats)
    print_table(out, name)
