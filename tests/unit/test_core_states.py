"""The aggregation merges: algebraic laws (hypothesis) and the cases of aliecs.md §2."""

from hypothesis import given
from hypothesis import strategies as st

from o2ctl.core.states import (
    DeploymentStatus,
    TaskState,
    aggregate,
    aggregate_deployment,
    merge_deployment,
    merge_states,
)

states = st.sampled_from(list(TaskState))
deps = st.sampled_from(list(DeploymentStatus))


@given(states, states)
def test_merge_is_commutative(a: TaskState, b: TaskState) -> None:
    assert merge_states(a, b) == merge_states(b, a)


@given(states, states, states)
def test_merge_is_associative(a: TaskState, b: TaskState, c: TaskState) -> None:
    assert merge_states(merge_states(a, b), c) == merge_states(a, merge_states(b, c))


@given(states)
def test_error_absorbs_and_invariant_is_identity(a: TaskState) -> None:
    assert merge_states(a, TaskState.ERROR) == TaskState.ERROR
    assert merge_states(TaskState.INVARIANT, a) == a
    assert merge_states(a, a) == a


def test_different_states_are_mixed() -> None:
    assert merge_states(TaskState.RUNNING, TaskState.CONFIGURED) == TaskState.MIXED
    assert merge_states(TaskState.MIXED, TaskState.RUNNING) == TaskState.MIXED


@given(st.lists(st.tuples(states, st.booleans())))
def test_aggregate_skips_non_critical(children: list[tuple[TaskState, bool]]) -> None:
    critical_only = [(s, True) for s, c in children if c]
    assert aggregate(children) == aggregate(critical_only)
    if not critical_only:
        assert aggregate(children) == TaskState.INVARIANT


def test_non_critical_error_does_not_fail_the_parent() -> None:
    kids = [(TaskState.RUNNING, True), (TaskState.ERROR, False), (TaskState.RUNNING, True)]
    assert aggregate(kids) == TaskState.RUNNING
    assert aggregate([*kids, (TaskState.ERROR, True)]) == TaskState.ERROR


@given(deps, deps, deps)
def test_deployment_merge_laws(
    a: DeploymentStatus, b: DeploymentStatus, c: DeploymentStatus
) -> None:
    assert merge_deployment(a, b) == merge_deployment(b, a)
    assert merge_deployment(merge_deployment(a, b), c) == merge_deployment(
        a, merge_deployment(b, c)
    )
    assert merge_deployment(a, DeploymentStatus.UNDEPLOYABLE) == DeploymentStatus.UNDEPLOYABLE


def test_deployment_partial() -> None:
    assert (
        aggregate_deployment([DeploymentStatus.ACTIVE, DeploymentStatus.INACTIVE])
        == DeploymentStatus.PARTIAL
    )
    assert aggregate_deployment([DeploymentStatus.ACTIVE] * 3) == DeploymentStatus.ACTIVE
    assert aggregate_deployment([]) == DeploymentStatus.UNDEFINED


def test_a_role_whose_children_change_keeps_the_states_of_those_that_stay() -> None:
    from o2ctl.core.aggregate import RoleAggregate

    role = RoleAggregate({"a": True, "b": True})
    role.update_many([("a", "RUNNING", 1), ("b", "RUNNING", 1)])
    assert role.state == TaskState.RUNNING
    assert role.set_children({"a": True, "c": True})  # b leaves, c joins: MIXED until c reports
    assert role.state == TaskState.MIXED and role.children["a"].state == TaskState.RUNNING
    assert role.update_many([("c", "RUNNING", 0)])
    assert role.state == TaskState.RUNNING
    assert role.set_children({"a": True}) is False
