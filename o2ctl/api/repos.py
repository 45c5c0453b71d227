"""The repository, template, detector and integrated-service calls of ``o2control.Control``.

What flows through: AliECS's repository calls name a repository by its index in
ListRepos' answer; here the index is resolved against the ``RepositoryManager`` of the
state directory (the same list ``o2ctl repo`` edits: the built-in repository first, then
the added ones in order) and the change is made there, durably, before the reply.
GetIntegratedServices lists the installed plugins (``o2ctl.plugins``) with their state;
the detectors of the instance are ALICE's, or ``$O2CTL_DETECTORS``. Files and git are
blocking: each call runs in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path
from typing import Any

import grpc

from o2ctl.api._gen import o2control_pb2 as pb
from o2ctl.api.messages import now_ms
from o2ctl.api.rpcbase import ServicerBase, rpc
from o2ctl.api.status import BadRequest
from o2ctl.config import RepositoryManager
from o2ctl.config.errors import ConfigError
from o2ctl.config.git_repo import GitRepository
from o2ctl.config.inventory import read_inventory
from o2ctl.config.kvstore import open_config_store

DETECTORS_ENV = "O2CTL_DETECTORS"
ALICE_DETECTORS = (
    "CPV", "CTP", "EMC", "FDD", "FT0", "FV0", "HMP", "ITS", "MCH",
    "MFT", "MID", "PHS", "TOF", "TPC", "TRD", "TST", "ZDC",
)  # fmt: skip
_ENDPOINT_KEYS = ("endpoint", "url", "uri", "address")


def instance_detectors(state: Path | None = None) -> list[str]:
    """The detectors this o2ctl serves: ``$O2CTL_DETECTORS`` (comma separated), else the
    hardware inventory's (``o2/hardware/detectors/DET/…`` in the configuration store, as
    AliECS's apricot lists them), else ALICE's. Reads the store: call it off the loop."""
    raw = os.environ.get(DETECTORS_ENV, "")
    named = [d.strip().upper() for d in raw.split(",") if d.strip()]
    if not named:
        with contextlib.suppress(ConfigError):  # no readable store: ALICE's, as without one
            store = open_config_store(state=state)
            named = sorted(set(read_inventory(store).values())) if store is not None else []
    return sorted(set(named or ALICE_DETECTORS))


def available_detectors(active: list[str], state: Path | None = None) -> list[str]:
    """The instance's detectors that no environment holds (reads the store: off the loop)."""
    return [d for d in instance_detectors(state) if d not in set(active)]


class RepoRpcs(ServicerBase):
    @rpc(plain=grpc.StatusCode.INVALID_ARGUMENT)
    async def GetWorkflowTemplates(
        self, request: pb.GetWorkflowTemplatesRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetWorkflowTemplatesReply:
        from o2ctl.api.templates import workflow_templates

        info = await self._ask(self.controller.info.remote(), context)
        found = await asyncio.to_thread(
            workflow_templates, request.repoPattern, info.get("repo"), request.allWorkflows
        )
        return pb.GetWorkflowTemplatesReply(
            workflowTemplates=[_template_info(t) for t in found], timestamp=now_ms()
        )

    @rpc(plain=grpc.StatusCode.INVALID_ARGUMENT)
    async def ListRepos(
        self, request: pb.ListReposRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListReposReply:
        return await asyncio.to_thread(_list_repos, request.getRevisions)

    @rpc(plain=grpc.StatusCode.INVALID_ARGUMENT)
    async def AddRepo(
        self, request: pb.AddRepoRequest, context: grpc.aio.ServicerContext
    ) -> pb.AddRepoReply:
        if not request.name.strip():
            raise BadRequest("name is empty: give the repository's URI (file://, git, consul://)")
        return await asyncio.to_thread(_add_repo, request.name, request.defaultRevision)

    @rpc(plain=grpc.StatusCode.INVALID_ARGUMENT)
    async def RemoveRepo(
        self, request: pb.RemoveRepoRequest, context: grpc.aio.ServicerContext
    ) -> pb.RemoveRepoReply:
        def remove() -> str:
            manager = RepositoryManager()
            manager.remove(_entry(manager, request.index).name)
            return manager.default_name()

        return pb.RemoveRepoReply(
            newDefaultRepo=await asyncio.to_thread(remove), timestamp=now_ms()
        )

    @rpc(plain=grpc.StatusCode.INVALID_ARGUMENT)
    async def RefreshRepos(
        self, request: pb.RefreshReposRequest, context: grpc.aio.ServicerContext
    ) -> pb.Empty:
        def refresh() -> None:
            manager = RepositoryManager()
            name = None if request.index == -1 else _entry(manager, request.index).name
            manager.refresh(name)

        await asyncio.to_thread(refresh)
        return pb.Empty()

    @rpc(plain=grpc.StatusCode.INVALID_ARGUMENT)
    async def SetDefaultRepo(
        self, request: pb.SetDefaultRepoRequest, context: grpc.aio.ServicerContext
    ) -> pb.Empty:
        def choose() -> None:
            manager = RepositoryManager()
            manager.set_default(_entry(manager, request.index).name)

        await asyncio.to_thread(choose)
        return pb.Empty()

    @rpc(plain=grpc.StatusCode.INVALID_ARGUMENT)
    async def SetGlobalDefaultRevision(
        self, request: pb.SetGlobalDefaultRevisionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Empty:
        revision = request.revision.strip()
        if not revision or revision.startswith("-"):
            raise BadRequest(f"revision {request.revision[:40]!r}: expected a branch or tag name")
        await asyncio.to_thread(RepositoryManager().set_global_revision, revision)
        return pb.Empty()

    @rpc(plain=grpc.StatusCode.INVALID_ARGUMENT)
    async def SetRepoDefaultRevision(
        self, request: pb.SetRepoDefaultRevisionRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetRepoDefaultRevisionReply:
        def set_revision() -> str:
            manager = RepositoryManager()
            entry = manager.set_revision(_entry(manager, request.index).name, request.revision)
            return f"the default revision of {entry.name} is now {entry.revision or 'HEAD'}"

        info = await asyncio.to_thread(set_revision)
        return pb.SetRepoDefaultRevisionReply(info=info, timestamp=now_ms())

    @rpc()
    async def GetIntegratedServices(
        self, request: pb.Empty, context: grpc.aio.ServicerContext
    ) -> pb.ListIntegratedServicesReply:
        services = await asyncio.to_thread(_services)
        return pb.ListIntegratedServicesReply(services=services, timestamp=now_ms())


def _template_info(t: dict[str, Any]) -> pb.WorkflowTemplateInfo:
    """One listed template with its var specs, as AliECS answers it."""
    specs = {
        name: pb.VarSpecMessage(
            defaultValue=s["default_value"],
            type=s["type"],  # a name of the enum (varspecs.TYPES)
            label=s["label"],
            description=s["description"],
            widget=s["widget"],  # varspecs.WIDGETS
            panel=s["panel"],
            allowedValues=s["allowed_values"],
            index=s["index"],
            visibleIf=s["visible_if"],
            enabledIf=s["enabled_if"],
            rows=s["rows"],
        )
        for name, s in t["var_specs"].items()
    }
    return pb.WorkflowTemplateInfo(
        repo=t["repo"],
        template=t["template"],
        revision=t["revision"],
        default=t["default"],
        description=t["description"],
        varSpecMap=specs,
    )


def _entry(manager: RepositoryManager, index: int) -> Any:
    entries = manager.entries()
    if not 0 <= index < len(entries):
        raise BadRequest(
            f"repository index {index} is out of range: ListRepos lists {len(entries)} "
            f"(0 to {len(entries) - 1})"
        )
    return entries[index]


def _list_repos(with_revisions: bool) -> pb.ListReposReply:
    manager = RepositoryManager()
    default, global_rev = manager.default_name(), manager.global_revision()
    out = []
    for entry in manager.entries():
        repo = manager.get(entry.name)
        git = repo if isinstance(repo, GitRepository) else None
        out.append(
            pb.RepoInfo(
                name=entry.name,
                default=entry.name == default,
                defaultRevision=git.default_revision if git else "",
                revisions=git.revisions() if git and with_revisions else [],
                uri=entry.uri,
            )
        )
    return pb.ListReposReply(repos=out, globalDefaultRevision=global_rev or "", timestamp=now_ms())


def _add_repo(uri: str, revision: str) -> pb.AddRepoReply:
    manager = RepositoryManager()
    fallback = manager.global_revision()
    repo = manager.add(uri.strip(), revision=revision.strip() or None)
    repo = manager.get(repo.name)
    got = repo.default_revision or "" if isinstance(repo, GitRepository) else ""
    if not got:
        info = f"repository {repo.name} added ({repo.backend}: no revisions)"
    elif revision.strip():
        info = f"repository {repo.name} added; its default revision is {got}"
    else:
        whence = "the global default" if fallback else "the remote's HEAD"
        info = f"repository {repo.name} added; its default revision is {got} ({whence})"
    return pb.AddRepoReply(newDefaultRevision=got, info=info, timestamp=now_ms())


def _services() -> dict[str, pb.IntegratedServiceInfo]:
    from o2ctl.plugins import PluginError
    from o2ctl.plugins.registry import discover, installed

    try:
        plugins = installed()
    except PluginError as error:
        return {
            name: pb.IntegratedServiceInfo(
                name=name,
                connectionState="TRANSIENT_FAILURE",
                data=json.dumps({"error": str(error)}),
            )
            for name in discover()
        }
    out = {}
    for d in plugins.describe():
        settings = {str(k): str(v) for k, v in d["settings"].items()}
        endpoint = next((v for k, v in settings.items() if k.lower() in _ENDPOINT_KEYS), "")
        data = {
            "description": d["description"],
            "functions": ", ".join(d["functions"]),
            "helpers": ", ".join(d["helpers"]),
            **settings,
        }
        out[d["name"]] = pb.IntegratedServiceInfo(
            name=d["name"],
            enabled=True,
            endpoint=endpoint,
            connectionState="READY",
            data=json.dumps(data),
        )
    return out
