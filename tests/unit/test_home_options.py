"""How an actor is held to its node (``actors.cluster.home_options``): hard, or — when the
control plane may move (``up --ha``) — by Ray's label selector on the node's own id with
fallbacks, the head last for what holds a run. Options only: no Ray is started."""

from __future__ import annotations

from actors.cluster import NODE_ID_LABEL, home_options
from o2ctl.core.placement import HEAD_LABEL

NODE = "ab" * 28  # a node id as Ray writes them (hex)


def test_held_hard_unless_it_may_move() -> None:
    hard = home_options(NODE)["scheduling_strategy"]
    assert (hard.node_id, hard.soft) == (NODE, False)
    assert home_options("", restartable=True) == {"scheduling_strategy": "DEFAULT"}


def test_a_movable_actor_starts_on_its_node_and_falls_back_off_the_head_first() -> None:
    assert home_options("n1", restartable=True, avoid_head=True) == {
        "label_selector": {NODE_ID_LABEL: "n1"},
        "fallback_strategy": [{"label_selector": {HEAD_LABEL: "!1"}}, {"label_selector": {}}],
    }
    assert home_options("h", restartable=True)["fallback_strategy"] == [{"label_selector": {}}]
