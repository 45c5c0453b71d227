"""The built-in clean-up hook deletes nothing outside its scratch root, whatever is tried.

From the Control API (as any client, the CLI's ``--endpoint`` included): user vars that
would aim the hook (its path, its root, the workflow's scratch directory, the environment
id it is built from) are refused at create, INVALID_ARGUMENT naming the variable, and no
environment exists afterwards. At DESTROY, on real processes: a scratch directory swapped
for a symbolic link pointing out, and workflows whose hook is given ``..`` and an absolute
path outside: the hook refuses each, its event names the path, and the targets still exist.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.ray

DEFAULT_SCRATCH = Path("/tmp/o2ctl-direct-example")


@pytest.fixture(scope="module")
def api(o2: Any) -> Iterator[str]:
    from o2ctl.api.serve import start_api, stop_api

    address, _ = start_api()
    yield address
    stop_api()


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    target = tmp_path / "victim"
    target.mkdir()
    (target / "precious").write_text("keep me")
    return target


def test_user_vars_cannot_aim_the_hook_over_the_api(clean_o2: Any, api: str, victim: Path) -> None:
    from o2ctl.api.client import ApiClient, ApiError

    attempts = {
        "cleanup_path": str(victim),
        "direct-example.cleanup:cleanup_path": str(victim),
        "cleanup_root": "/",
        "scratch_dir": str(victim.parent),
        "environment_id": "../../" + str(victim),
    }
    with ApiClient(api) as client:
        for key, value in attempts.items():
            with pytest.raises(ApiError) as caught:
                client.create_environment("direct-example", {key: value})
            assert caught.value.code == "INVALID_ARGUMENT", key
            name = key.rpartition(":")[2]
            assert f"user var {key!r}: " in str(caught.value) and repr(name) in str(caught.value)
        assert client.environments() == []
    assert (victim / "precious").read_text() == "keep me"


def hook_errors(o2: Any, env_id: str, after: int) -> list[str]:
    return [
        e["error"]
        for e in o2.events(after=after, timeout=1.0)
        if e["env_id"] == env_id and e["kind"] == "task" and e["status"] == "DONE_ERROR"
    ]


def test_a_scratch_dir_swapped_for_a_symlink_out_is_not_followed(
    clean_o2: Any, victim: Path
) -> None:
    import ray

    env = clean_o2.create_environment("direct-example", auto_configure=False)
    scratch = DEFAULT_SCRATCH / env.id
    DEFAULT_SCRATCH.mkdir(exist_ok=True)
    scratch.symlink_to(victim)  # someone with access to the scratch area, after create
    try:
        cursor = ray.get(clean_o2.controller.last_event_seq.remote(), timeout=30)
        env.destroy()
        (error,) = hook_errors(clean_o2, env.id, cursor)
    finally:
        scratch.unlink()
    assert f"refusing to remove {scratch} (it resolves to {victim})" in error
    assert (victim / "precious").read_text() == "keep me"


@pytest.fixture
def aimed_repo(tmp_path: Path, victim: Path) -> Iterator[str]:
    """direct-example, its author having aimed two more clean-up roles outside the root."""
    from o2ctl.config import RepositoryManager

    repo = tmp_path / "aimed"
    shutil.copytree(ROOT / "workflows" / "tasks", repo / "tasks")
    (repo / "workflows").mkdir()
    text = (ROOT / "workflows" / "workflows" / "direct-example.yaml").read_text()
    text = text.replace("scratch_dir: /tmp/o2ctl-direct-example", f"scratch_dir: {tmp_path}/s")
    for name, path in (("dotdot", "{{ scratch_dir }}/../victim"), ("absolute", str(victim))):
        text += (
            f'  - name: {name}\n    vars:\n      cleanup_root: "{{{{ scratch_dir }}}}"\n'
            f'      cleanup_path: "{path}"\n'
            "    task: {load: o2ctl-cleanup, trigger: DESTROY, timeout: 10s, critical: false}\n"
        )
    (repo / "workflows" / "aimed.yaml").write_text(
        text.replace("name: !public direct-example", "name: aimed")
    )
    (tmp_path / "s").mkdir()
    manager = RepositoryManager()
    manager.add(str(repo), name="aimed")
    yield "aimed/workflows/aimed"
    manager.remove("aimed")


def test_dotdot_and_absolute_paths_outside_are_refused_at_destroy(
    clean_o2: Any, aimed_repo: str, victim: Path
) -> None:
    import ray

    env = clean_o2.create_environment(aimed_repo, auto_configure=False)
    scratch = victim.parent / "s" / env.id
    scratch.mkdir()
    cursor = ray.get(clean_o2.controller.last_event_seq.remote(), timeout=30)
    env.destroy()
    errors = hook_errors(clean_o2, env.id, cursor)
    assert len(errors) == 2, errors
    assert any(f"refusing to remove {victim.parent}/s/../victim" in e for e in errors), errors
    assert any(f"refusing to remove {victim}: not inside the scratch root" in e for e in errors)
    assert (victim / "precious").read_text() == "keep me"
    assert not scratch.exists(), "the workflow's own clean-up role still did its job"
