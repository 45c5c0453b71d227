"""The specs of a workflow's public variables, read as AliECS reads them, without expanding.

Against ALICE's real ``readout-dataflow`` (every ``NAME: !public`` mapping line of the file
is a spec, found by a plain line scan as the independent oracle; fields as written), a
fixture template of our own (defaults and vars, role-level blocks under lists, what is not
a spec, unknown type and widget, an undecodable spec skipped, a duplicate refused naming
its line), and the listing of ``o2ctl.api.templates`` over a file repository (public
workflows only unless all are asked for; a site's global var is the default of a spec
declared in ``defaults``, not of one declared in ``vars``). Pure: no Ray.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from o2ctl.api import dicts
from o2ctl.api.repos import _template_info
from o2ctl.api.templates import workflow_templates
from o2ctl.config import open_runtime_store
from o2ctl.console import views
from o2ctl.templates import TemplateError
from o2ctl.templates.varspecs import MAX_DEFAULT, MAX_TEXT, TemplateHeader, read_header

OURS = """\
name: !public ours
description: !public "a fixture of public variables"
defaults:
  plain: 1
  scalar_public: !public 7       # a public scalar carries no spec (AliECS: mappings only)
  n: !public
    value: 4
    type: number
    label: "How many"
    description: "how many workers"
    widget: slider
    values: [1, 8]
    panel: Main
    index: 2
    rows: 3
  flag: !public {value: true, type: bool, widget: checkBox, visibleif: "$$n > 1"}
  odd: !public {value: x, type: tensor, widget: knob}
  broken: !public {value: x, values: "not a list"}
  huge: !public {value: "%s"}
vars:
  mode: !public {value: fast, widget: dropDownBox, values: [fast, slow], enabledif: "true"}
roles:
  - name: inner
    defaults:
      deep: !public {value: "", label: "Deep", index: -1}
    task:
      load: t
"""


def header_of(text: str) -> TemplateHeader:
    return read_header(text, "ours.yaml")


def _no_source(spec: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in spec.items() if k != "source"}  # not on the wire


def test_the_real_readout_dataflow_specs(shared_workflows: Path) -> None:
    path = shared_workflows / "workflows" / "readout-dataflow.yaml"
    text = path.read_text()
    h = read_header(text, str(path))
    declared = set(re.findall(r"^\s+([A-Za-z0-9_]+): !public\s*(?:#.*)?$", text, re.M))
    assert h.public and h.description == "Main workflow template for ALICE data taking"
    assert set(h.var_specs) == declared and len(declared) > 100
    assert h.skipped == []
    dd = h.var_specs["dd_enabled"]
    assert dd == {
        "default_value": "true", "type": "bool", "widget": "checkBox", "allowed_values": [],
        "index": 1, "rows": 0, "label": "Data Distribution (FLP)", "panel": "General_Configuration",
        "description": "Enable/disable Data Distribution components running on FLPs "
        "(StfBuilder and StfSender)",
        "visible_if": "", "enabled_if": "", "source": "defaults",
    }  # fmt: skip
    run_type = h.var_specs["run_type"]
    assert run_type["widget"] == "comboBox" and run_type["default_value"] == "PHYSICS"
    assert {"PHYSICS", "COSMICS", "TECHNICAL"} <= set(run_type["allowed_values"])
    assert h.var_specs["trg_global_run_enabled"]["visible_if"] == '$$trg_enabled === "true"'
    assert "dcs_sor_parameters" in h.var_specs, "a role's own defaults block counts too"


def test_our_fixture_template() -> None:
    h = header_of(OURS % "y")
    assert h.public and h.description == "a fixture of public variables"
    assert set(h.var_specs) == {"n", "flag", "odd", "mode", "deep", "huge"}
    n = h.var_specs["n"]
    assert n == {
        "default_value": "4", "type": "number", "widget": "slider", "allowed_values": ["1", "8"],
        "index": 2, "rows": 3, "label": "How many", "description": "how many workers",
        "panel": "Main", "visible_if": "", "enabled_if": "", "source": "defaults",
    }  # fmt: skip
    assert h.var_specs["flag"]["default_value"] == "true"
    assert h.var_specs["flag"]["visible_if"] == "$$n > 1"
    assert (h.var_specs["odd"]["type"], h.var_specs["odd"]["widget"]) == ("string", "editBox")
    assert h.var_specs["mode"]["source"] == "vars"
    assert h.var_specs["mode"]["allowed_values"] == ["fast", "slow"]
    assert h.var_specs["deep"]["index"] == -1
    (why,) = h.skipped
    assert why.startswith("ours.yaml:18: public variable 'broken' ignored") and "list" in why


def test_what_is_refused_or_dropped() -> None:
    assert "huge" not in header_of(OURS % ("y" * (MAX_DEFAULT + 1))).var_specs
    twice = OURS % "y" + "    vars:\n      n: !public {value: 2}\n"
    with pytest.raises(TemplateError) as info:
        header_of(twice)
    assert info.value.line == 29 and "'n' declared twice (first on line 6)" in str(info.value)
    with pytest.raises(TemplateError, match="must be a mapping"):
        header_of("- a\n- b\n")
    with pytest.raises(TemplateError, match="bad YAML"):
        header_of("defaults: {a: [\n")
    long = header_of(f"description: !public {'d' * (2 * MAX_TEXT)}\n")
    assert long.description == "d" * MAX_TEXT, "a description is cut, never an error"
    private = header_of("name: secret\ndescription: not public\n")
    assert not private.public and private.description == "" and private.var_specs == {}


def test_the_listing_filters_and_applies_site_vars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("O2CTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("O2CTL_RUNTIME_STORE", raising=False)
    repo = tmp_path / "repo"
    (repo / "workflows").mkdir(parents=True)
    (repo / "workflows" / "ours.yaml").write_text(OURS % "y")
    (repo / "workflows" / "hidden.yaml").write_text("name: hidden\nroles: []\n")
    open_runtime_store().import_config({"vars": {"n": "6", "mode": "slow"}})

    everything = workflow_templates("", str(repo), all_workflows=True)
    assert [t["template"] for t in everything] == ["hidden", "ours"]
    (ours,) = workflow_templates("", str(repo), all_workflows=False)
    assert ours["template"] == "ours" and ours["description"] == "a fixture of public variables"
    assert ours["var_specs"]["n"]["default_value"] == "6", "the site's var beats a default"
    assert ours["var_specs"]["mode"]["default_value"] == "fast", "but not the workflow's vars"

    wire = dicts.template(_template_info(ours))  # the reply's message and back
    assert wire == {**ours, "var_specs": {k: _no_source(v) for k, v in ours["var_specs"].items()}}

    (repo / "workflows" / "broken.yaml").write_text("name: !public broken\nroles: [\n")
    listed = {t["template"]: t for t in workflow_templates("", str(repo), all_workflows=False)}
    assert set(listed) == {"broken", "ours"}, "one broken file does not hide the others"
    assert listed["broken"]["description"].startswith("cannot be read: ")
    assert "broken.yaml" in listed["broken"]["description"] and not listed["broken"]["var_specs"]
    (repo / "workflows" / "broken.yaml").unlink()

    choice = views.template_choice(ours)
    assert [f["name"] for f in choice["vars"]] == ["deep", "flag", "huge", "mode", "odd", "n"]
    by = {f["name"]: f for f in choice["vars"]}
    assert by["n"]["default"] == "6" and by["n"]["label"] == "How many"
    assert by["flag"]["values"] == ["true", "false"] and by["huge"]["label"] == "huge"


def test_the_reply_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import o2ctl.api.templates as listing

    monkeypatch.setenv("O2CTL_STATE_DIR", str(tmp_path / "state"))
    repo = tmp_path / "repo"
    (repo / "workflows").mkdir(parents=True)
    for name in ("a", "b"):
        (repo / "workflows" / f"{name}.yaml").write_text(OURS % ("y" * 3000))
    one = len(json.dumps(workflow_templates("", str(repo))[0]["var_specs"]))
    monkeypatch.setattr(listing, "MAX_REPLY_SPEC_CHARS", one + 10)
    a, b = workflow_templates("", str(repo))
    assert len(a["var_specs"]) == 6 and b["var_specs"] == {}, "the second is over the budget"
    assert b["description"] == "a fixture of public variables", "still listed, described"
