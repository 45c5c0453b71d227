"""Port allocation: distinct per host, all-or-nothing, released by owner."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from o2ctl.core.ports import PortAllocator, PortsExhausted


@given(st.lists(st.tuples(st.sampled_from(["h1", "h2"]), st.integers(0, 5)), max_size=40))
def test_ports_never_clash_on_a_host(requests: list[tuple[str, int]]) -> None:
    alloc = PortAllocator((30000, 30100))
    seen: set[tuple[str, int]] = set()
    for host, owner in requests:
        port = alloc.allocate(host, f"t{owner}")
        assert (host, port) not in seen
        seen.add((host, port))


def test_release_and_reuse() -> None:
    alloc = PortAllocator((30000, 30002))
    a = alloc.allocate_many("h", "a", ["control", "data1"])
    alloc.allocate("h", "b")
    with pytest.raises(PortsExhausted, match="no free port left on h"):
        alloc.allocate("h", "c")
    assert alloc.release_owner("a", keep_purposes=["control"]) == 1
    assert alloc.allocate("h", "c") not in {alloc.held_by("a")[0].port}
    assert [r.purpose for r in alloc.held_by("a")] == ["control"]
    assert a["control"] == alloc.held_by("a")[0].port


def test_all_or_nothing() -> None:
    alloc = PortAllocator((30000, 30001))
    with pytest.raises(PortsExhausted):
        alloc.allocate_many("h", "a", ["x", "y", "z"])
    assert alloc.snapshot() == []


def test_is_free_probe_skips_taken_ports() -> None:
    alloc = PortAllocator((30000, 30010), is_free=lambda h, p: p % 2 == 1)
    assert alloc.allocate("h", "a") % 2 == 1
