"""Integration plugins without Ray: discovery, settings, the built-ins, one call, templates.

A "site plugin" here is a real installed distribution as importlib sees one (a
``*.dist-info`` with ``entry_points.txt`` on ``sys.path``), written to a temporary
directory: discovery goes through the same entry point machinery as for a pip install.
"""

from __future__ import annotations

import importlib
import json
import time
from pathlib import Path

import pytest
from test_templates_support import source

from o2ctl.plugins import GROUP, PluginError, Plugins, discover
from o2ctl.plugins.bkstore import BookkeepingStore
from o2ctl.plugins.invoke import CallRequest, run_call
from o2ctl.templates import IntegrationContext, TemplateError, expand_workflow

SITE_PLUGIN = """
import time
from o2ctl.plugins import CallFailed, CallFunction, Helper, Plugin

class SitePlugin(Plugin):
    name = "{name}"
    settings = {{"greeting": "hello"}}

    def functions(self):
        return {{
            "Greet": CallFunction(self.greet, 1, 1),
            "Hang": CallFunction(lambda ctx: time.sleep(3), 0, 0),
            "Boom": CallFunction(lambda ctx: 1 / 0, 0, 0),
        }}

    def helpers(self):
        return {{"Topology": Helper(lambda env, n: f"topo-{{n}}-{{env.stack_get('zone')}}", 1, 1)}}

    def greet(self, ctx, who):
        return f"{{self.setup.settings['greeting']}} {{who}} run {{ctx.run_number}}"
"""


def install_site_plugin(
    site: Path, monkeypatch: pytest.MonkeyPatch, name: str = "siteplug", entry: str = ""
) -> None:
    """A distribution ``site-<name>`` providing plugin ``name`` through the entry point group."""
    package = site / f"pkg_{name}"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(SITE_PLUGIN.format(name=name))
    info = site / f"site_{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: site-{name}\nVersion: 1.0\n")
    target = entry or f"{name} = pkg_{name}:SitePlugin"
    (info / "entry_points.txt").write_text(f"[{GROUP}]\n{target}\n")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()


def request(func: str, **kw: object) -> CallRequest:
    base: dict[str, object] = dict(
        env_id="e1",
        workflow="w",
        role_path="w.calls.c",
        func=func,
        trigger="before_CONFIGURE",
        critical=True,
        state="DEPLOYED",
        run_number=None,
        variables={},
        timeout_s=5.0,
    )
    base.update(kw)
    return CallRequest(**base)  # type: ignore[arg-type]


def test_the_builtins_come_through_our_own_entry_points() -> None:
    found = discover()
    assert found["testplugin"].__module__ == "o2ctl.plugins.testplugin"
    assert found["bookkeeping"].__module__ == "o2ctl.plugins.bookkeeping"


def test_a_site_plugin_installed_beside_o2ctl_is_found_and_called(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_site_plugin(tmp_path / "site", monkeypatch)
    assert "siteplug" in discover()
    state = tmp_path / "state"
    state.mkdir()
    (state / "plugins.yaml").write_text("siteplug: {greeting: salut}\n")
    plugins = Plugins(state)
    got = run_call(plugins, request("siteplug.Greet(who)", variables={"who": "shifter"}))
    assert got.ok and got.output == "salut shifter run None"
    slow = run_call(plugins, request("siteplug.Hang()", timeout_s=0.3))
    assert not slow.ok and "did not return within its timeout of 0.3s" in slow.error
    assert slow.duration_s < 2.0, "the caller has its answer at the deadline"
    boom = run_call(plugins, request("siteplug.Boom()"))
    assert boom.error == "ZeroDivisionError: division by zero"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("strings = pkg_strings:SitePlugin", "'strings' is a built-in helper"),
        ("other = pkg_strings:SitePlugin", "the class is named 'strings'"),
        ("strings = pkg_strings:Nothing", "cannot be loaded"),
    ],
)
def test_a_broken_entry_point_is_one_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: str, message: str
) -> None:
    install_site_plugin(tmp_path / "site", monkeypatch, name="strings", entry=entry)
    with pytest.raises(PluginError, match=message) as caught:
        discover()
    assert entry.split(" = ")[0] in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope: {a: 1}\n", "no installed plugin 'nope'"),
        ("testplugin: {colour: red}\n", r"unknown setting\(s\) \['colour'\] \(known: append_root"),
        ("testplugin: [1]\n", "expected a mapping of settings"),
        ("bookkeeping: {database: ../../etc/bk.sqlite}\n", "leaves"),
        ("testplugin: {append_root: /tmp}\n", "expected a relative path"),
    ],
)
def test_bad_plugin_settings_name_the_file_and_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "plugins.yaml").write_text(text)
    with pytest.raises(PluginError, match=message) as caught:
        Plugins(tmp_path)
    assert "plugins.yaml" in str(caught.value) or "setting" in str(caught.value)


def test_append_writes_only_under_its_root(tmp_path: Path) -> None:
    plugins = Plugins(tmp_path)
    root = tmp_path / "testplugin"
    assert run_call(plugins, request("testplugin.Append('a/order.txt', 'one')")).ok
    assert run_call(plugins, request("testplugin.Append('a/order.txt', 'two\\nlines', 0.01)")).ok
    assert (root / "a" / "order.txt").read_text() == "one\ntwo lines\n"
    (tmp_path / "outside").mkdir()
    (root / "link").symlink_to(tmp_path / "outside")
    for bad in ("../escape.txt", "/tmp/escape.txt", "link/escape.txt", "", "a/.."):
        got = run_call(plugins, request(f"testplugin.Append('{bad}', 'x')"))
        assert not got.ok and "Append path" in got.error, bad
    assert not list((tmp_path / "outside").iterdir()) and not (tmp_path / "escape.txt").exists()


def test_noop_fail_sleep_and_the_deadline(tmp_path: Path) -> None:
    plugins = Plugins(tmp_path)
    assert run_call(plugins, request("testplugin.Noop()")).ok
    failed = run_call(plugins, request("testplugin.Fail('no beam')"))
    assert (failed.ok, failed.error) == (False, "no beam")
    t0 = time.monotonic()
    short = run_call(plugins, request("testplugin.Sleep(30)", timeout_s=0.3))
    assert not short.ok and "within" in short.error and "timeout" in short.error
    assert time.monotonic() - t0 < 2.0
    assert "0-3600" in run_call(plugins, request("testplugin.Sleep(-1)")).error
    assert run_call(plugins, request("testplugin.Sleep('0.05')")).ok


def test_a_call_names_what_is_wrong_with_it(tmp_path: Path) -> None:
    plugins = Plugins(tmp_path)
    missing = run_call(plugins, request("dcs.StartOfRun()"))
    assert missing.missing and "integration plugin 'dcs' is not installed" in missing.error
    assert "installed: bookkeeping, testplugin" in missing.error
    unknown = run_call(plugins, request("testplugin.Explode()"))
    assert "no function 'Explode' (known: Append, Fail, Noop, Sleep)" in unknown.error
    arity = run_call(plugins, request("testplugin.Fail(1, 2)"))
    assert "takes 0-1 argument(s), got 2" in arity.error
    undefined = run_call(plugins, request("testplugin.Fail(nothing_here)"))
    assert "unknown variable 'nothing_here'" in undefined.error
    ok = run_call(
        plugins,
        request(
            "testplugin.Append(f, This().Path + ' ' + strings.ToUpper(x) + run_number)",
            variables={"f": "v.txt", "x": "run ", "run_number": "42"},
        ),
    )
    assert ok.ok and (tmp_path / "testplugin" / "v.txt").read_text() == "w.calls.c RUN 42\n"


def test_bookkeeping_records_an_environment_and_its_run(tmp_path: Path) -> None:
    plugins = Plugins(tmp_path)

    def call(func: str, trigger: str, state: str, run: int | None = None) -> str:
        got = run_call(
            plugins,
            request(
                f"bookkeeping.{func}()",
                trigger=trigger,
                state=state,
                run_number=run,
                variables={"run_type": "COSMICS", "run_start_time_ms": "1700000000000"},
                detectors=("ITS", "TPC"),
            ),
        )
        assert got.ok, got.error
        return got.output

    call("CreateEnv", "before_DEPLOY", "STANDBY")
    call("StartOfRun", "before_START_ACTIVITY+10", "CONFIGURED", 7)
    call("UpdateRunStart", "after_START_ACTIVITY+100", "RUNNING", 7)
    assert call("UpdateRunStop", "after_STOP_ACTIVITY+100", "CONFIGURED", 7) == "1 run(s) STOPPED"
    assert call("UpdateRunStop", "DESTROY", "CONFIGURED") == "0 run(s) DESTROYED"
    call("UpdateEnv", "DESTROY", "CONFIGURED")
    store = BookkeepingStore(tmp_path / "bookkeeping.sqlite")
    [run] = store.runs()
    assert (run["run_number"], run["env_id"], run["run_type"], run["state"]) == (
        7,
        "e1",
        "COSMICS",
        "STOPPED",
    )
    assert run["detectors"] == ["ITS", "TPC"] and run["start"] == 1_700_000_000.0
    assert run["stop"] > run["start"] and run["duration_s"] == pytest.approx(
        run["stop"] - run["start"]
    )
    env = store.environment("e1")
    assert env is not None and env["state"] == "DESTROYED" and env["workflow"] == "w"
    no_run = run_call(plugins, request("bookkeeping.StartOfRun()", trigger="before_CONFIGURE"))
    assert "no current run" in no_run.error and "before_CONFIGURE" in no_run.error
    assert (
        "no LHC fill information"
        in run_call(plugins, request("bookkeeping.RetrieveFillInfo()")).error
    )


WORKFLOW = """
name: w
defaults: {zone: online, func: "testplugin.Noop()"}
vars:
  topo: "{{ siteplug.Topology(3) }}"
  echo: "{{ testplugin.Echo('hi') }}"
roles:
  - name: calls
    vars: {zone: calib}
    roles:
      - name: c
        call: {func: "{{ func }}", trigger: before_CONFIGURE, critical: false}
"""


def context(tmp_path: Path) -> IntegrationContext:
    return IntegrationContext(**Plugins(tmp_path).integration_fields())


def test_expressions_use_the_helpers_of_installed_plugins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_site_plugin(tmp_path / "site", monkeypatch)
    wf = expand_workflow(source({"w": WORKFLOW}), "w", integration=context(tmp_path))
    assert (wf.variables["topo"], wf.variables["echo"]) == ("topo-3-online", "hi")
    call = wf.root.find("w.calls.c").call
    assert call is not None and call.variables == {"zone": "calib"}, "only what differs"
    assert not [w for w in wf.warnings if "not installed" in w]


def test_templates_naming_plugins_that_are_not_installed(tmp_path: Path) -> None:
    with pytest.raises(TemplateError) as caught:
        expand_workflow(source({"w": WORKFLOW}), "w", integration=context(tmp_path))
    assert "siteplug" in str(caught.value) and "mem/workflows/w.yaml:5" in str(caught.value)
    text = WORKFLOW.replace("{{ siteplug.Topology(3) }}", "{{ odc.GenerateEPNTopologyFullname() }}")
    with pytest.raises(TemplateError, match="integration plugin 'odc', which is not installed"):
        expand_workflow(source({"w": text}), "w", integration=context(tmp_path))
    text = WORKFLOW.replace("{{ siteplug.Topology(3) }}", "x")
    wf = expand_workflow(
        source({"w": text}), "w", {"func": "dcs.StartOfRun()"}, integration=context(tmp_path)
    )
    assert any(
        "call role w.calls.c uses integration 'dcs', which is not installed" in w and "skipped" in w
        for w in wf.warnings
    )
    for func, message in [
        ("testplugin.Explode()", "plugin 'testplugin' has no function 'Explode'"),
        ("testplugin.Append('f')", r"testplugin.Append takes 2-3 argument\(s\), got 1"),
    ]:
        with pytest.raises(TemplateError, match=message) as caught:
            expand_workflow(source({"w": text}), "w", {"func": func}, integration=context(tmp_path))
        assert caught.value.role == "w.calls.c" and caught.value.line == 12


def test_the_call_spec_travels_as_plain_data(tmp_path: Path) -> None:
    text = WORKFLOW.replace("{{ siteplug.Topology(3) }}", "x")
    wf = expand_workflow(source({"w": text}), "w", integration=context(tmp_path))
    data = json.loads(json.dumps(wf.to_dict()))
    call = data["root"]["children"][0]["children"][0]["call"]
    assert call["func"] == "testplugin.Noop()" and call["variables"] == {"zone": "calib"}


def test_readout_dataflow_binds_its_calls_or_names_what_is_missing(
    tmp_path: Path, shared_workflows: Path
) -> None:
    from test_templates_support import DirSource

    user = {
        "hosts": '["flp001"]',
        "dcs_enabled": "true",
        "kafka_enabled": "true",
        "bookkeeping_enabled": "true",
        "bookkeeping_consuming_kafka": "false",
    }
    real = DirSource(shared_workflows)
    wf = expand_workflow(real, "readout-dataflow", user, integration=context(tmp_path))
    calls = dict(wf.root.calls())
    assert {c.integration for c in calls.values()} == {"bookkeeping", "dcs", "kafka"}
    missing = [w for w in wf.warnings if "which is not installed" in w]
    named = {p for p, c in calls.items() if c.integration != "bookkeeping"}
    assert {w.split()[2] for w in missing} == named, "every call of a missing plugin, by name"
    assert not [w for w in missing if "'bookkeeping'" in w], "bookkeeping is installed: bound"
    sor = next(w for w in missing if "readout-dataflow.dcs.sor" in w)
    assert "critical: it will fail the transition" in sor
    with pytest.raises(TemplateError, match=r"odc\.GenerateEPNTopologyFullname\(\) needs the"):
        expand_workflow(
            real, "readout-dataflow", {**user, "epn_enabled": "true"}, integration=context(tmp_path)
        )


def test_a_garbage_bookkeeping_database_is_named(tmp_path: Path) -> None:
    from o2ctl.core.errors import ControlError

    path = tmp_path / "bookkeeping.sqlite"
    path.write_bytes(b"not a database, " * 100)
    with pytest.raises(ControlError, match=f"bookkeeping database {path}: file is not a database"):
        BookkeepingStore(path).record_env("e1", "wf", [], "STANDBY", 1.0)
