"""The tree's routing and judgement (``o2ctl.core.drive``), without Ray.

A role splits the tasks it is given among its own direct tasks on its node, each sub-role,
and each other node's direct tasks (its shards there); every task lands in exactly one
share, whatever the tree, and a task outside the role is refused.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from o2ctl.core.drive import (
    Target,
    child_role_of,
    failures,
    judge,
    lost,
    parent_of,
    route,
    shard_name,
)
from o2ctl.core.occevents import OccEvent


def target(path: str, node: str = "n1", critical: bool = True) -> Target:
    return Target(path, f"e:{path}#t", "t-" + path, "host-" + node, node, critical)


def test_a_role_splits_direct_tasks_by_node_and_the_rest_by_sub_role() -> None:
    ts = [
        target("root.a", "n1"),
        target("root.b", "n2"),
        target("root.flp1.readout", "n1"),
        target("root.flp1.stfb", "n1"),
        target("root.flp2.x.readout", "n3"),
    ]
    r = route(ts, "root", "n1")
    assert [t.path for t in r.mine] == ["root.a"]
    assert {n: [t.path for t in v] for n, v in r.shards.items()} == {"n2": ["root.b"]}
    assert {p: [t.path for t in v] for p, v in r.roles.items()} == {
        "root.flp1": ["root.flp1.readout", "root.flp1.stfb"],
        "root.flp2": ["root.flp2.x.readout"],
    }


def test_a_shard_or_a_role_without_a_node_drives_every_direct_task() -> None:
    r = route([target("root.a", "n1"), target("root.b", "n2")], "root", "")
    assert [t.path for t in r.mine] == ["root.a", "root.b"] and not r.shards


def test_a_task_outside_the_role_is_refused() -> None:
    with pytest.raises(ValueError, match=r"root2\.a is not under role root"):
        route([target("root2.a")], "root", "n1")
    with pytest.raises(ValueError, match=r"rootx\.a"):
        route([target("rootx.a")], "root", "n1")  # a prefix of the name is not the role


SEGMENT = st.sampled_from(["a", "b", "flp1", "flp2", "x"])


@given(
    st.lists(
        st.tuples(st.lists(SEGMENT, min_size=1, max_size=3), st.sampled_from(["n1", "n2", "n3"])),
        max_size=30,
    ),
    st.sampled_from(["", "n1", "n2"]),
)
def test_every_task_lands_in_exactly_one_share(
    specs: list[tuple[list[str], str]], node: str
) -> None:
    ts = [target("root." + ".".join(p), n) for p, n in specs]
    r = route(ts, "root", node)
    shares = list(r.mine) + [t for v in r.roles.values() for t in v]
    shares += [t for v in r.shards.values() for t in v]
    assert sorted(shares) == sorted(ts)
    assert all(parent_of(t.path) == "root" for t in r.mine)
    assert all(
        parent_of(t.path) == "root" and t.node_id != node for v in r.shards.values() for t in v
    )
    for role, share in r.roles.items():
        assert parent_of(role) == "root"
        assert all(child_role_of(t.path, "root") == role for t in share)
        assert all(t.path.startswith(role + ".") for t in share)


def test_shards_are_named_after_their_role_and_node() -> None:
    assert shard_name("root.processors", "abc") == "root.processors@abc"


def test_a_call_that_got_no_answer_fails_each_of_its_tasks_by_name() -> None:
    outs = lost(
        [target("root.a", "n1"), target("root.b", "n2", critical=False)],
        OccEvent.CONFIGURE,
        "its role actor died",
    )
    assert [o.state for o in outs] == ["ERROR", "ERROR"]
    assert outs[0].error == "task root.a on host-n1: CONFIGURE: its role actor died"
    assert outs[0].version == -1  # no new version: the table keeps the one it had
    assert failures(outs, {"root.a": True, "root.b": False}, OccEvent.CONFIGURE.leads_to) == [
        outs[0].error
    ]


def test_the_process_own_error_is_kept() -> None:
    out = judge(target("root.a"), OccEvent.START, ("ERROR", 7, "task root.a: START failed: boom"))
    assert out == ("root.a", "ERROR", 7, "task root.a: START failed: boom")
