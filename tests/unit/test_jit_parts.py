"""The parts of DPL JIT on their own: shell quoting (checked by running bash on the result),
configuration URIs (AliECS's cases), ``jit_env_vars``, the run budgets, the configuration
store and the hardware inventory read from it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from o2ctl.config.errors import ConfigError
from o2ctl.config.inventory import Inventory, read_inventory
from o2ctl.config.jit import JitError, export_line, payload_uris
from o2ctl.config.jitrun import run_bounded
from o2ctl.config.kvstore import DirectoryStore, check_key, open_config_store
from o2ctl.templates import TemplateError
from o2ctl.templates.shellcmd import check_pipeline, render_command

NASTY = [
    "plain",
    "two words",
    "it's",
    '"dq" \\ $HOME `id` $(id) ${X}',
    "; rm -rf / ; echo",
    "'; touch x; '",
    "*",
    "",
]


class Vars:
    """An expression environment holding plain variables (what ``render_command`` reads)."""

    def __init__(self, **values: object) -> None:
        self.values = values

    def lookup(self, name: str) -> object:
        return self.values[name]


def bash_words(command: str) -> list[str]:
    """The arguments bash gives to a program for ``command`` (one line, no expansion run)."""
    script = f"set -f; printf '%s\\0' {command}"
    done = subprocess.run(["bash", "-c", script], capture_output=True, check=True, timeout=10)
    return done.stdout.decode().split("\0")[:-1]


@pytest.mark.parametrize("value", NASTY)
def test_a_value_is_one_argument_or_part_of_one_whatever_it_holds(value: str) -> None:
    def words(template: str) -> list[str]:
        return bash_words(render_command(template, Vars(v=value)))

    assert words("a {{ v }} b") == ["a", value, "b"]
    assert words("a '--x={{ v }};y' b") == ["a", f"--x={value};y", "b"]
    assert words('a "--x={{ v }}" b') == ["a", f"--x={value}", "b"]
    assert words("a $(printf %s {{ v }}) b") == ["a", *value.split(), "b"]


def test_arithmetic_takes_integers_only() -> None:
    assert bash_words(render_command("$(( 128 / {{ n }} ))", Vars(n=32))) == ["4"]
    with pytest.raises(TemplateError, match="expected an integer"):
        render_command("$(( 128 / {{ n }} ))", Vars(n="a[$(id)]"))


@pytest.mark.parametrize("value", ["a\nb", "{{ x }}", "x}}"])
def test_newlines_and_template_tags_are_refused(value: str) -> None:
    with pytest.raises(TemplateError, match="without newlines"):
        render_command("o2-x {{ v }}", Vars(v=value))


def test_unbalanced_quotes_are_refused() -> None:
    with pytest.raises(TemplateError, match="ends inside single"):
        render_command("o2-x 'open", Vars())


@pytest.mark.parametrize(
    "command",
    ["o2-a -b | o2-b --x 'a;b' --y \"c d\"", "o2-a --config 'apricot://h/o2/components/x?a=$b'"],
)
def test_a_dpl_pipeline_passes_the_check(command: str) -> None:
    check_pipeline(command)


@pytest.mark.parametrize(
    "command",
    ["o2-a; id", "o2-a || id", "o2-a & id", "o2-a $(id)", 'o2-a "$HOME"', "id | o2-a", "o2-a |"],
)
def test_anything_else_fails_the_check(command: str) -> None:
    with pytest.raises(TemplateError, match="may not use"):
        check_pipeline(command)


@pytest.mark.parametrize(
    ("command", "uris"),
    [
        ("myexe --arg val", []),
        ("myexe --config apricot://", []),
        (
            "myexe --config apricot://h:1/components/qc/ANY/any/r",
            ["apricot://h:1/components/qc/ANY/any/r"],
        ),
        ("myexe --config apricot://h/components/q/r| b", ["apricot://h/components/q/r"]),
        ("myexe --config apricot://h/components/q?a='b' --f", ["apricot://h/components/q?a='b'"]),
        (
            "x --config 'apricot://h/components/q?a=[\"b\"]'| y",
            ['apricot://h/components/q?a=["b"]'],
        ),
        (
            "x --config apricot://h/components/a | y --config consul-json://h/components/b",
            ["apricot://h/components/a", "consul-json://h/components/b"],
        ),
    ],
)
def test_configuration_uris_are_found_as_aliecs_finds_them(command: str, uris: list[str]) -> None:
    assert payload_uris(command) == uris


def test_jit_env_vars_become_a_quoted_export() -> None:
    line = export_line("A=1 B='x y' C=$(id)")
    assert bash_words(line.replace("export ", "").removesuffix(" && ")) == [
        "A=1",
        "B=x y",
        "C=$(id)",
    ]
    assert export_line("") == ""
    with pytest.raises(JitError, match="not NAME=VALUE"):
        export_line("A=1; id")


def test_a_run_over_its_output_budget_is_killed(tmp_path: Path) -> None:
    result = run_bounded(
        "yes long-line-of-output", tmp_path, {"PATH": "/usr/bin:/bin"}, 30, 100_000
    )
    assert result.overflowed and result.status is None
    assert "printed more than 100000 bytes" in result.why(30, 100_000)
    quiet = run_bounded(
        "echo one; echo two >&2; exit 4", tmp_path, {"PATH": "/usr/bin:/bin"}, 30, 1000
    )
    assert quiet.status == 4 and quiet.tail == ("one", "two")


def test_the_inventory_is_read_from_the_hardware_keys(tmp_path: Path) -> None:
    for key in ("TPC/flps/flp001", "TPC/flps/flp002", "ITS/flps/flp010/aliases", "ITS/x"):
        (tmp_path / "o2/hardware/detectors" / key).mkdir(parents=True)
    store = DirectoryStore(tmp_path)
    assert read_inventory(store) == {"flp001": "TPC", "flp002": "TPC", "flp010": "ITS"}
    inventory = Inventory(store)
    assert inventory["flp010"] == "ITS" and "flp999" not in inventory
    (tmp_path / "o2/hardware/detectors/ITS/flps/flp001").mkdir()
    with pytest.raises(ConfigError, match="listed under detectors"):
        read_inventory(store)


def test_an_flp_cards_are_read_from_its_cards_key(tmp_path: Path) -> None:
    cards = {"a": {"serial": "1041", "endpoint": "0"}, "b": {"serial": "1041", "endpoint": "1"}}
    (tmp_path / "o2/hardware/flps/flp001").mkdir(parents=True)
    (tmp_path / "o2/hardware/flps/flp001/cards").write_text(json.dumps(cards))
    inventory = Inventory(DirectoryStore(tmp_path))
    assert [c["endpoint"] for c in inventory.cards_for_host("flp001")] == ["0", "1"]
    with pytest.raises(ConfigError, match="no o2/hardware/flps/flp002/cards"):
        inventory.cards_for_host("flp002")
    with pytest.raises(ConfigError, match="bad configuration key"):
        inventory.cards_for_host("../../etc")


def test_configuration_keys_cannot_leave_the_store(tmp_path: Path) -> None:
    (tmp_path / "o2").mkdir()
    (tmp_path / "secret").write_text("x")
    store = DirectoryStore(tmp_path / "o2")
    for key in ("../secret", "a/../../secret", "/", "a b"):
        with pytest.raises(ConfigError, match="bad configuration key"):
            store.get(key)
    assert check_key("/o2/components/qc/ANY/any/x/") == "o2/components/qc/ANY/any/x"


def test_the_store_is_chosen_by_uri_or_state_directory(tmp_path: Path) -> None:
    assert open_config_store(state=tmp_path) is None
    (tmp_path / "config").mkdir()
    found = open_config_store(state=tmp_path)
    assert isinstance(found, DirectoryStore) and found.root == (tmp_path / "config").resolve()
    with pytest.raises(ConfigError, match="no such directory"):
        open_config_store(f"file://{tmp_path}/nowhere")


def test_an_unreadable_inventory_is_one_template_error(tmp_path: Path) -> None:
    from o2ctl.templates import IntegrationContext, expand_workflow
    from o2ctl.templates.errors import TemplateError as Error

    (tmp_path / "o2/hardware/detectors/TPC/flps/flp001").mkdir(parents=True)
    (tmp_path / "o2/hardware/detectors/ITS/flps/flp001").mkdir(parents=True)
    workflow = (
        "name: wf\nroles:\n  - name: t\n    vars:\n"
        "      det: \"{{ inventory.DetectorForHost('flp001') }}\"\n"
        "    task:\n      load: t\n"
    )

    class Source:
        def get_template(self, kind: str, ref: str) -> object:
            from o2ctl.config.source import TemplateText

            task = "name: t\ncommand:\n  value: echo {{ det }}\n"
            text = workflow if kind == "workflow" else task
            return TemplateText(ref, kind, text, f"mem/{ref}.yaml")  # type: ignore[arg-type]

        def list_templates(self, kind: str) -> list[str]:
            return []

    context = IntegrationContext(inventory=Inventory(DirectoryStore(tmp_path)))
    with pytest.raises(Error, match=r"DetectorForHost\('flp001'\): hardware inventory: host"):
        expand_workflow(Source(), "wf", integration=context)  # type: ignore[arg-type]


def test_the_instance_detectors_come_from_the_hardware_inventory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GetAvailableDetectors' list: $O2CTL_DETECTORS, else the inventory's, else ALICE's."""
    from o2ctl.api.repos import ALICE_DETECTORS, available_detectors, instance_detectors

    monkeypatch.delenv("O2CTL_DETECTORS", raising=False)
    monkeypatch.delenv("O2CTL_CONFIG_STORE", raising=False)
    state = tmp_path / "state"
    assert instance_detectors(state) == sorted(ALICE_DETECTORS)  # no store
    for key in ("TPC/flps/flp001", "TPC/flps/flp002", "MID/flps/flp159"):
        (state / "config/o2/hardware/detectors" / key).mkdir(parents=True)
    assert instance_detectors(state) == ["MID", "TPC"]
    assert available_detectors(["TPC"], state) == ["MID"]
    monkeypatch.setenv("O2CTL_DETECTORS", "its, tst")
    assert instance_detectors(state) == ["ITS", "TST"]
