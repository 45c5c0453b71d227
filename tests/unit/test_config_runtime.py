"""The file RuntimeStore's durability details and the state directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from o2ctl.config import ConfigError, FileRuntimeStore, state_dir


def test_state_dir_honours_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O2CTL_STATE_DIR", str(tmp_path / "s"))
    assert state_dir() == tmp_path / "s"
    monkeypatch.delenv("O2CTL_STATE_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert state_dir() == tmp_path / "xdg" / "o2ctl-state"
    assert FileRuntimeStore().directory == tmp_path / "xdg" / "o2ctl-state"


def test_run_number_is_written_before_it_is_returned(tmp_path: Path) -> None:
    store = FileRuntimeStore(tmp_path)
    assert store.next_run_number() == 1
    assert (tmp_path / "run_number").read_text() == "1\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "no temp left"


def test_a_corrupt_counter_is_never_silently_reset(tmp_path: Path) -> None:
    (tmp_path / "run_number").write_text("12x\n")
    store = FileRuntimeStore(tmp_path)
    with pytest.raises(ConfigError, match=r"run number file .*run_number is corrupt \('12x'\)"):
        store.next_run_number()
    assert (tmp_path / "run_number").read_text() == "12x\n"


def test_a_corrupt_runtime_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "runtime.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match=r"runtime file .*runtime.json: expected a JSON object"):
        FileRuntimeStore(tmp_path).global_vars()


def test_an_earlier_state_directory_is_moved_so_run_numbers_carry_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("O2CTL_STATE_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    FileRuntimeStore(tmp_path / "o2ctl").next_run_number()  # the old name: an import name
    assert state_dir() == tmp_path / "o2ctl-state"
    assert not (tmp_path / "o2ctl").exists()
    assert FileRuntimeStore().next_run_number() == 2
