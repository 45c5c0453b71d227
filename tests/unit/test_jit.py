"""DPL JIT end to end: our fixture repository's ``flp-chain`` expanded as an environment would,
with the stand-in DPL executables on PATH, the hardware inventory and a QC payload in the
configuration store (``jit_support``). Real processes, real files; no fake of our own code.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from jit_support import STANDINS, Site, make_site

from o2ctl.templates import ExpandedWorkflow, RoleNode, TemplateError

TST = {"hosts": '["flp-tst1","flp-mid1"]', "tst_dpl_workflow": "tst-raw-qc"}


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    return make_site(tmp_path, monkeypatch)


def tasks_under(wf: ExpandedWorkflow, path: str) -> dict[str, RoleNode]:
    role = wf.root.find(path)
    return {child.name: child for child in role.children}


def program_runs(site: Site, program: str) -> list[list[str]]:
    return [list(run["args"]) for run in site.runs() if run["program"] == program]  # type: ignore[call-overload]


def test_detector_dpl_devices_are_tasks_wired_to_the_readout_chain(site: Site) -> None:
    before = sorted(p.relative_to(site.repo) for p in site.repo.rglob("*"))
    wf = site.expand(**TST)
    base = "flp-chain.host-flp-tst1"
    dpl = tasks_under(wf, f"{base}.dpl")
    assert sorted(dpl) == ["dpl-output-proxy", "qc-tst-raw-qc", "readout-proxy"]
    proxy, qc, out = (dpl[n].task for n in ("readout-proxy", "qc-tst-raw-qc", "dpl-output-proxy"))
    assert proxy is not None and qc is not None and out is not None
    name = proxy.task_class.removesuffix("-readout-proxy")
    assert name.startswith("jit-") and len(name) == len("jit-") + 40
    assert [c.target for c in proxy.connects] == [f"{base}.stfb:dpl-chan"]
    assert [c.target for c in qc.connects] == [
        f"{base}.dpl.readout-proxy:from_readout-proxy_to_qc-tst-raw-qc"
    ]
    stfs = wf.root.find(f"{base}.stfs")
    assert stfs is not None and stfs.task is not None
    assert [c.target for c in stfs.task.connects] == [f"{base}.dpl.dpl-output-proxy:downstream"]
    with pytest.raises(KeyError):  # MID has no mid_dpl_workflow
        wf.root.find("flp-chain.host-flp-mid1.dpl")
    cru = next(a for a in program_runs(site, "o2-qc")[0] if "," in a and a[0].isdigit())
    assert cru == "8,7", "$(consul kv get …/{{ it }}) ran with the FLP's name"
    after = sorted(p.relative_to(site.repo) for p in site.repo.rglob("*"))
    assert after == before, "nothing is written into the repository's checkout"
    assert (site.state / "jit" / "workflows" / f"{name}.yaml").is_file()


def test_a_second_expansion_runs_nothing_and_a_changed_variable_runs_again(site: Site) -> None:
    first = site.expand(**TST)
    ran = len(site.runs())
    assert ran == 3, "one run of the three-program pipeline"
    again = site.expand(**TST)
    assert len(site.runs()) == ran, "the cached workflow is reused, no command runs"
    path = "flp-chain.host-flp-tst1.dpl.readout-proxy"
    assert again.root.find(path).task.task_class == first.root.find(path).task.task_class  # type: ignore[union-attr]
    changed = site.expand(**TST, qc_lanes="4")
    assert len(site.runs()) == ran + 3
    assert changed.root.find(path).task.task_class != first.root.find(path).task.task_class  # type: ignore[union-attr]
    lanes = program_runs(site, "o2-qc")[-1]
    assert lanes[lanes.index("--lanes") + 1] == "4"


def test_a_new_dpl_version_or_payload_gives_a_new_name(site: Site) -> None:
    path = "flp-chain.host-flp-tst1.dpl.readout-proxy"

    def task_class() -> str:
        return site.expand(**TST).root.find(path).task.task_class  # type: ignore[union-attr]

    first = task_class()
    site.set_versions("o2-O2-1.1-1.el9 o2-QualityControl-1.0-1.el9")
    second = task_class()
    site.put_config("o2/components/qc/ANY/any/tst-raw-qc", '{"qc": {"tasks": {}}}')
    third = task_class()
    assert len({first, second, third}) == 3
    assert len(site.runs()) == 9


def test_a_user_value_changes_one_quoted_argument_and_nothing_else(site: Site) -> None:
    pwned = site.root / "pwned"
    evil = {
        "qc_lanes": f"; rm -rf {site.root} ; touch {pwned}",
        "run_label": f"x'; touch {pwned}; echo '",
        "note": f'$(touch {pwned}) `touch {pwned}` " ${{HOME}}',
    }
    wf = site.expand(**TST, **evil)
    assert wf.root.find("flp-chain.host-flp-tst1.dpl.qc-tst-raw-qc") is not None
    args = program_runs(site, "o2-qc")[0]
    for option, value in (("--lanes", "qc_lanes"), ("--label", "run_label"), ("--note", "note")):
        assert args[args.index(option) + 1] == evil[value]
    assert len(args) == 13, args  # -b, --config and five options with their values
    assert not pwned.exists() and site.repo.is_dir()


def test_a_value_in_arithmetic_must_be_an_integer(site: Site) -> None:
    with pytest.raises(TemplateError) as caught:
        site.expand(**TST, hbf_per_tf=f"a[$(touch {site.root / 'pwned'})]")
    assert "expected an integer" in str(caught.value) and "jit/tst-raw-qc" in str(caught.value)
    assert site.runs() == [] and not (site.root / "pwned").exists()


@pytest.mark.parametrize(
    "command",
    [
        "o2-dpl-raw-proxy -b ; touch {pwned}",
        "o2-dpl-raw-proxy -b && touch {pwned}",
        "o2-dpl-raw-proxy --x $(touch {pwned})",
        "o2-dpl-raw-proxy --x `touch {pwned}`",
        "touch {pwned} | o2-dpl-output-proxy -b",
        "o2-dpl-raw-proxy -b > {pwned}",
        "o2-dpl-raw-proxy -b # comment",
    ],
)
def test_dpl_generate_takes_only_a_pipeline_of_dpl_programs(site: Site, command: str) -> None:
    pwned = site.root / "pwned"
    with pytest.raises(TemplateError, match="a DPL command given whole may not use"):
        site.expand(hosts='["flp-tst1"]', tst_dpl_command=command.format(pwned=pwned))
    assert site.runs() == [] and not pwned.exists()


def test_dpl_generate_runs_a_dpl_pipeline_given_whole(site: Site) -> None:
    command = (
        "o2-dpl-raw-proxy -b --readout-proxy '--channel-config \"name=readout-proxy,type=pull,"
        "method=connect,address=ipc:///tmp/x,transport=shmem\"' | o2-dpl-output-proxy -b "
        "--dpl-output-proxy '--channel-config \"name=downstream,type=push,method=bind,"
        "address=ipc:///tmp/y,transport=shmem\"' --note '{{ note }}'"
    )
    wf = site.expand(hosts='["flp-tst1"]', tst_dpl_command=command, note="it's fine")
    assert sorted(tasks_under(wf, "flp-chain.host-flp-tst1.dpl")) == [
        "dpl-output-proxy",
        "readout-proxy",
    ]
    args = program_runs(site, "o2-dpl-output-proxy")[0]
    assert args[args.index("--note") + 1] == "it's fine"
    assert args[-2] == "--o2-control", "the name is given to the last program of the pipe"


def test_a_failing_generator_is_one_line_naming_role_file_status_and_output(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DPL_STANDIN_FAIL", "o2-tof-compressor")
    with pytest.raises(TemplateError) as caught:
        site.expand(hosts='["flp-tst1"]', tst_dpl_workflow="tst-broken")
    message = str(caught.value)
    assert "\n" not in message
    assert caught.value.role == "flp-chain.host-flp-tst1.dpl"
    for part in ("jit/tst-broken", "detector TST", "exited with status 3", "told to fail"):
        assert part in message, message
    assert not list((site.state / "jit").glob(".run-*")), "the scratch directory is removed"
    assert not (site.state / "jit" / "workflows").exists()


def test_a_generator_that_writes_nothing_is_an_error(site: Site, tmp_path: Path) -> None:
    (site.repo / "jit" / "tst-silent").write_text("o2-dpl-raw-proxy -b > /dev/null; true")
    with pytest.raises(TemplateError, match=r"status 0 but wrote no workflows/jit-"):
        site.expand(hosts='["flp-tst1"]', tst_dpl_workflow="tst-silent")


def _standins_running() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(STANDINS).encode() in cmdline:
            found.append(int(entry.name))
    return found


def test_a_generator_over_its_time_is_killed_with_its_whole_group(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("O2CTL_JIT_TIMEOUT_S", "1")
    monkeypatch.setenv("DPL_STANDIN_SLEEP", "60")
    started = time.monotonic()
    with pytest.raises(TemplateError, match=r"ran longer than 1 s and was killed"):
        site.expand(**TST)
    assert time.monotonic() - started < 20
    assert _standins_running() == [], "every program of the pipeline was killed"


def test_fallback_to_a_template_when_jit_has_no_such_command(site: Site) -> None:
    wf = site.expand(hosts='["flp-tst1"]', tst_dpl_workflow="tst-fixed")
    assert sorted(tasks_under(wf, "flp-chain.host-flp-tst1.dpl")) == ["readout-proxy"]
    assert site.runs() == []


def test_the_site_environment_script_is_sourced_first(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = site.root / "o2.sh"
    script.write_text(f"export DPL_STANDIN_LOG={site.root / 'sourced.log'}\n")
    monkeypatch.setenv("O2CTL_DPL_ENV_SCRIPT", str(script))
    site.expand(**TST)
    assert site.runs() == [] and len((site.root / "sourced.log").read_text().splitlines()) == 3
    assert os.environ["DPL_STANDIN_LOG"] == str(site.log)


def test_a_git_repository_gives_a_new_name_after_a_refresh(site: Site, tmp_path: Path) -> None:
    from test_config_gitutil import GitRemote

    from o2ctl.config import FileRuntimeStore, GitRepository, RepositoryManager
    from o2ctl.expansion import expand_for_environment

    files = {
        str(p.relative_to(site.repo)): p.read_text() for p in site.repo.rglob("*") if p.is_file()
    }
    remote = GitRemote(tmp_path / "git", files)
    repo = GitRepository(remote.url, tmp_path / "clones")
    path = "flp-chain.host-flp-tst1.dpl.readout-proxy"

    def task_class() -> str:
        wf = expand_for_environment(
            RepositoryManager(), FileRuntimeStore(site.state), "flp-chain", TST, repo=repo
        )
        return wf.root.find(path).task.task_class  # type: ignore[union-attr]

    first = task_class()
    assert task_class() == first and len(site.runs()) == 3
    remote.commit({"README": "a change elsewhere"}, "unrelated")
    repo.refresh()
    assert task_class() != first and len(site.runs()) == 6


def test_a_preserved_raw_channel_keeps_its_address(site: Site) -> None:
    (site.repo / "jit" / "tst-merger").write_text(
        "o2-dpl-raw-proxy -b --readout-proxy '--channel-config \"name=readout-proxy,type=pull,"
        "method=connect,address=ipc:///tmp/p,transport=shmem\"' | o2-dpl-output-proxy -b "
        "--labels tstqc:ecs-preserve-raw-channels --proxy-name tstqc --tstqc '--channel-config "
        '"name=tstqc,method=bind,address=tcp://*:{{ merger_port }},type=push,transport=zeromq"\' '
        "| o2-dpl-output-proxy -b --dpl-output-proxy '--channel-config \"name=downstream,"
        "type=push,method=bind,address=ipc:///tmp/q,transport=shmem\"'"
    )
    wf = site.expand(hosts='["flp-tst1"]', tst_dpl_workflow="tst-merger", merger_port="29950")
    merger = wf.root.find("flp-chain.host-flp-tst1.dpl.tstqc").task
    assert merger is not None
    bind = next(b for b in merger.binds if b.name == "tstqc")
    assert (bind.target, bind.global_alias) == ("tcp://*:29950", None)
