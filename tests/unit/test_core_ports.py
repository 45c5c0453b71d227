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


def test_two_systems_on_one_host_begin_at_their_own_places_and_wrap() -> None:
    """Two o2ctl systems sharing a host each begin their search at their own place in the
    range (their id is the seed): their first ports differ, the search still covers the
    whole range and wraps, and one system's allocation is the same after its restart."""
    a, b = PortAllocator((20000, 31999), seed="sysA"), PortAllocator((20000, 31999), seed="sysB")
    first_a = [a.allocate("h", f"t{i}") for i in range(50)]
    first_b = [b.allocate("h", f"t{i}") for i in range(50)]
    assert not set(first_a) & set(first_b)
    again = PortAllocator((20000, 31999), seed="sysA")
    assert [again.allocate("h", f"t{i}") for i in range(50)] == first_a
    small = PortAllocator((30000, 30004), seed="sysA")
    assert sorted(small.allocate("h", f"t{i}") for i in range(5)) == list(range(30000, 30005))
