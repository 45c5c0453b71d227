"""Expansion semantics: variable precedence, pruning, iterators, includes, channels, tasks."""

from __future__ import annotations

import pickle

import pytest
from test_templates_support import source

from o2ctl.templates import Constraint, TemplateError, expand_workflow, render_task_for_host


def probe(wf_text: str, user: dict[str, str] | None = None, **tasks: str) -> dict[str, str]:
    """Expand ``w`` and return the variables of its task at ``w.t`` (or ``w.a.t``)."""
    wf = expand_workflow(source({"w": wf_text}, tasks), "w", user)
    task = wf.root.tasks()[0]
    return dict(task.variables)


def test_precedence_defaults_vars_user_and_child_over_parent() -> None:
    text = """
name: w
defaults: {a: root-default, b: root-default, c: root-default, d: root-default}
vars: {b: root-var, e: root-var}
roles:
  - name: g
    defaults: {a: child-default, e: child-default}
    vars: {c: child-var}
    roles:
      - name: t
        task: {load: simple}
"""
    v = probe(text)
    assert (v["a"], v["b"], v["c"], v["d"]) == (
        "child-default",
        "root-var",
        "child-var",
        "root-default",
    )
    assert v["e"] == "root-var"  # any vars beat any defaults, whatever the level
    v = probe(text, {"c": "user", "a": "user"})
    assert (v["a"], v["c"]) == ("user", "user")  # user vars beat every template value


def test_user_vars_aimed_at_one_role() -> None:
    text = """
name: w
defaults: {tag: base}
roles:
  - {name: one, task: {load: simple}}
  - {name: two, task: {load: simple}}
"""
    wf = expand_workflow(source({"w": text}), "w", {"w.two:tag": "aimed", "one:other": "x"})
    one, two = wf.root.tasks()
    assert (one.variables["tag"], two.variables["tag"]) == ("base", "aimed")
    assert two.command.value == "run aimed" and one.variables["other"] == "x"
    wf = expand_workflow(source({"w": text}), "w", {"w.three:tag": "x"})
    assert any("'w.three' target no role" in w for w in wf.warnings)


def test_blocks_do_not_see_their_own_siblings_but_vars_see_defaults() -> None:
    text = """
name: w
roles:
  - name: t
    defaults: {a: "1", b: "{{ a }}"}
    task: {load: simple}
"""
    with pytest.raises(TemplateError, match="unknown variable 'a'"):
        probe(text)
    ok = text.replace('b: "{{ a }}"}', '}\n    vars: {b: "{{ a }}-{{ Parent().Name }}"}')
    assert probe(ok)["b"] == "1-w"


def test_enabled_prunes_and_empty_aggregators_disable_themselves() -> None:
    text = """
name: w
defaults: {on: "true"}
roles:
  - name: gone
    enabled: "{{ on == 'false' }}"
    vars: {x: "{{ missing_function_is_never_called() }}"}
    task: {load: simple}
  - name: empty
    roles:
      - {name: off, enabled: "false", task: {load: simple}}
  - name: kept
    enabled: "{{ on }}"
    task: {load: simple, critical: false}
  - name: g
    roles:
      - {name: soft, task: {load: simple, critical: false}}
      - {name: hard, task: {load: simple}}
"""
    wf = expand_workflow(source({"w": text}), "w")
    assert [c.name for c in wf.root.children] == ["kept", "g"]
    assert not wf.root.find("w.kept").critical and wf.root.find("w.g").critical
    assert wf.root.critical


def test_iterators_over_ranges_nest_and_locals_reach_children() -> None:
    text = """
name: w
defaults: {hosts: '["a","b"]', n: "2"}
roles:
  - name: "host-{{ h }}"
    for: {range: "{{ hosts }}", var: h}
    constraints: [{attribute: machine_id, value: "{{ h }}"}]
    roles:
      - name: "p{{ i }}"
        for: {begin: 0, end: "{{ strings.Atoi(n) - 1 }}", var: i}
        vars: {tag: "{{ h }}-{{ i }}"}
        task: {load: simple}
"""
    wf = expand_workflow(source({"w": text}), "w")
    assert [t.role_path for t in wf.root.tasks()] == [
        "w.host-a.p0",
        "w.host-a.p1",
        "w.host-b.p0",
        "w.host-b.p1",
    ]
    task = wf.root.find("w.host-b.p1").task
    assert task is not None and task.command.value == "run b-1"
    assert task.constraints == (Constraint("machine_id", "b"),)


def test_includes_inline_a_subworkflow_under_the_include_name() -> None:
    sub = """
name: sub
defaults: {tag: sub-default}
vars: {from_parent: "{{ parent_value }}"}
roles:
  - name: t
    connect: [{name: in, type: pull, target: "{{ Up(2).Path }}.producer:out"}]
    task: {load: simple}
"""
    main = """
name: w
defaults: {parent_value: pv}
roles:
  - {name: producer, task: {load: simple}}
  - name: part
    vars: {tag: include-var}
    include: "{{ 'sub' }}"
"""
    wf = expand_workflow(source({"w": main, "sub": sub}), "w")
    node = wf.root.find("w.part")
    assert (node.kind, node.include) == ("include", "sub")
    task = wf.root.find("w.part.t").task
    assert task is not None
    assert task.variables["tag"] == "include-var" and task.variables["from_parent"] == "pv"
    assert task.connects[0].target == "w.producer:out"


def test_channels_inherit_from_aggregators_and_merge_with_templates() -> None:
    task = """
name: dev
control: {mode: fairmq}
bind: [{name: data, type: push, sndBufSize: 10, rateLogging: 1}]
connect: [{name: feed, type: pull, rcvBufSize: 5, target: ignored}]
command: {value: dev}
"""
    text = """
name: w
roles:
  - name: grp
    connect: [{name: feed, target: "{{ This().Path }}.src:data", rcvBufSize: 7}]
    roles:
      - name: src
        bind: [{name: data, type: push, global: src-data, sndBufSize: "{{ 4 * 2 }}"}]
        task: {load: dev}
      - name: dst
        task: {load: dev}
  - name: far
    connect: [{name: feed, type: pull, target: "::src-data"}]
    task: {load: dev}
  - name: lit
    connect: [{name: feed, type: pull, target: "tcp://10.0.0.1:5555"}]
    task: {load: dev}
"""
    wf = expand_workflow(source({"w": text}, {"dev": task}), "w")
    dst = wf.root.find("w.grp.dst").task
    assert dst is not None
    (feed,) = dst.connects
    assert (feed.target, feed.type, feed.rcv_buf_size) == ("w.grp.src:data", "pull", 7)
    src = wf.root.find("w.grp.src").task
    assert src is not None and src.binds[0].snd_buf_size == 8 and src.binds[0].rate_logging == 1
    assert wf.global_channels == {"src-data": "w.grp.src:data"}
    far = wf.root.find("w.far").task
    assert far is not None and far.connects[0].target == "w.grp.src:data"
    assert far.connects[0].global_alias == "src-data"
    lit = wf.root.find("w.lit").task
    assert lit is not None and lit.connects[0].target == "tcp://10.0.0.1:5555"


def test_task_templates_defaults_render_in_the_task_stack() -> None:
    task = """
name: dev
control: {mode: direct}
defaults:
  prefix: /opt
  _cmd: "{{ prefix }}/bin/dev --host {{ task_hostname }}"
  unused: "{{ does_not_exist }}"
command:
  value: "{{ len(prefix) > 0 ? _cmd : 'dev' }}"
  arguments: ["--role", "{{ task_parent_role }}", "--class", "{{ task_class_name }}"]
properties: {env: "{{ environment_id }}", flag: true}
wants: {cpu: "0.5", memory: 100, ports: "8080-8081"}
constraints: [{attribute: machine_type, value: flp}]
"""
    text = """
name: w
roles:
  - name: t
    vars: {prefix: /usr}
    constraints: [{attribute: machine_type, value: epn}, {attribute: rack, value: "1"}]
    task: {load: dev@v2}
"""
    src = source({"w": text}, {"dev": task})
    wf = expand_workflow(src, "w", builtins={"environment_id": "E1"})
    assert ("task", "dev@v2") in src.asked
    spec = wf.root.tasks()[0]
    assert spec.task_class == "dev@v2"
    assert spec.command.value == "/usr/bin/dev --host <task_hostname>"
    assert spec.command.arguments == ("--role", "w.t", "--class", "dev@v2")
    assert spec.properties == {"env": "E1", "flag": "true"}
    assert spec.wants == {"cpu": 0.5, "memory": 100.0, "ports": "8080-8081"}
    assert spec.constraints == (Constraint("machine_type", "epn"), Constraint("rack", "1"))
    assert spec.placement_vars == ("task_hostname",)
    assert spec.variables["unused"] == "{{ does_not_exist }}"
    placed = render_task_for_host(spec, hostname="flp042", extra={"task_id": "T9"})
    assert placed.command.value == "/usr/bin/dev --host flp042"
    assert placed.placement_vars == () and placed.variables["task_hostname"] == "flp042"
    assert placed.binds == spec.binds and placed.role_path == spec.role_path
    again = pickle.loads(pickle.dumps(placed))
    assert render_task_for_host(again, hostname="other").command.value.endswith("other")


def test_hook_tasks_and_call_roles() -> None:
    text = """
name: w
defaults: {t: "45s"}
roles:
  - name: clean
    task: {load: job, trigger: DESTROY, critical: false}
  - name: prep
    task: {load: job, trigger: "before_CONFIGURE-10", timeout: "{{ t }}"}
  - name: sor
    call:
      func: dcs.StartOfRun()
      trigger: before_START_ACTIVITY+100
      await: after_START_ACTIVITY
      critical: false
"""
    wf = expand_workflow(source({"w": text}), "w")
    clean = wf.root.find("w.clean").task
    prep = wf.root.find("w.prep").task
    assert clean is not None and prep is not None
    assert (clean.control_mode, clean.trigger, clean.timeout_s, clean.critical) == (
        "hook",
        "DESTROY",
        30.0,
        False,
    )
    assert (prep.trigger, prep.timeout_s) == ("before_CONFIGURE-10", 45.0)
    call = wf.root.find("w.sor").call
    assert call is not None
    assert (call.integration, call.method, call.await_trigger, call.timeout_s) == (
        "dcs",
        "StartOfRun",
        "after_START_ACTIVITY",
        30.0,
    )
    assert wf.root.find("w.sor").kind == "call" and not wf.root.find("w.sor").critical
    assert any("integration 'dcs', which is not installed" in w for w in wf.warnings)


def test_yaml_is_read_with_the_core_schema() -> None:
    text = """
name: w
defaults: {a: yes, b: 010, c: 2024-01-01, d: on, e: 0x10, f: 1e3, g: ~}
roles: [{name: t, task: {load: simple}}]
"""
    v = probe(text)
    assert (v["a"], v["b"], v["c"], v["d"], v["e"], v["f"], v["g"]) == (
        "yes", "10", "2024-01-01", "on", "16", "1000", ""
    )  # fmt: skip


def test_unknown_keys_are_warnings() -> None:
    text = (
        "name: w\nroles:\n  - name: t\n    enable: false\n    task: {load: simple, critcal: true}\n"
    )
    wf = expand_workflow(source({"w": text}), "w")
    assert any("unknown key 'enable'" in w and ".yaml:4:" in w for w in wf.warnings)
    assert any("unknown key 'critcal'" in w for w in wf.warnings)


def test_user_vars_the_workflow_does_not_know_are_warned_and_the_ones_it_knows_are_not() -> None:
    text = (
        "name: w\ndefaults: {declared: x, flag: 'true'}\nroles:\n"
        "  - name: a\n    enabled: '{{ flag }}'\n    task: {load: simple}\n"
        "  - name: off\n    enabled: 'false'\n    defaults: {only_here: y}\n"
        "    task: {load: simple}\n"
        "  - name: c\n    call: {func: 'testplugin.Append(order_file, x)', trigger: DESTROY}\n"
    )
    given = {
        "tag": "t",  # read by the task template's command
        "declared": "1",  # declared, read by nothing: a known name
        "only_here": "2",  # declared by a disabled role: still known
        "order_file": "f",  # read by a call's arguments when it runs
        "detectors": "[]",  # read by o2ctl itself
        "tagg": "typo",
        "zzz": "typo",
    }
    expanded = expand_workflow(source({"w": text}), "w", given)
    unknown = [w for w in expanded.warnings if "unknown to workflow" in w]
    assert unknown == [
        "user vars 'tagg', 'zzz' are unknown to workflow 'w': no defaults: or vars: declares"
        " them and nothing reads them (a misspelt name?)"
    ]
