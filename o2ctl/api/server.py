"""The Control API server: each RPC of ``o2control.Control`` becomes controller actor calls.

What flows through: a request from a GUI or another control system (any language, any
gRPC stack; a client generated from AliECS's own proto files works unchanged) comes in,
past the token check (``auth.TokenInterceptor``) and the size limits, to one handler here,
which awaits the controller or, for reads of one environment, its environment actor; the
dicts they answer are reshaped into AliECS's messages by ``messages``. The repository and
integrated-service calls are in ``repos``, the asynchronous and automatic environments
and Subscribe in ``auto``; o2ctl's own service (nodes, its modify) is ``o2ctlservice``.
The server holds no state of the control system: two servers over one controller agree
(except for an automatic environment's subscription, which lives where it was asked for).
"""

from __future__ import annotations

import asyncio
import logging
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import grpc

from actors.errors import NotFound
from o2ctl.api import messages
from o2ctl.api._gen import o2control_pb2 as pb
from o2ctl.api._gen import o2control_pb2_grpc as pb_grpc
from o2ctl.api.auto import AutoRpcs
from o2ctl.api.events import EventFeed
from o2ctl.api.messages import now_ms
from o2ctl.api.repos import RepoRpcs, available_detectors
from o2ctl.api.rpcbase import rpc
from o2ctl.api.status import BadRequest

log = logging.getLogger("o2ctl.api")
_OP = pb.EnvironmentOperation.Optype


class ControlServicer(AutoRpcs, RepoRpcs, pb_grpc.ControlServicer):
    # -- framework --------------------------------------------------------------------
    @rpc()
    async def GetFrameworkInfo(
        self, request: pb.GetFrameworkInfoRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetFrameworkInfoReply:
        info = await self._ask(self.controller.info.remote(), context)
        seq = await EventFeed(self.controller, self.closing).last_seq()
        tasks = await self._ask(self.controller.list_tasks.remote(), context)
        active = sorted(info.get("detectors") or {})
        instance = await asyncio.to_thread(available_detectors, active, _state(info))
        return pb.GetFrameworkInfoReply(
            frameworkId=info.get("system_id") or info.get("node_id") or "",
            environmentsCount=info["environments"],
            tasksCount=info["tasks"],
            state="CONNECTED",
            hostsCount=len({t.get("host") for t in tasks if t.get("host")}),
            instanceName="o2ctl",
            version=_version(),
            configurationEndpoint=info.get("repo") or "",
            detectorsInInstance=sorted({*instance, *active}),
            activeDetectors=active,
            availableDetectors=instance,
            timestamp=now_ms(),
            lastEventSeq=seq,
            lastRunNumber=info.get("last_run_number") or 0,
            idleTasksCount=info.get("idle", 0),
            detectors=info.get("detectors") or {},
        )

    @rpc()
    async def GetActiveDetectors(
        self, request: pb.Empty, context: grpc.aio.ServicerContext
    ) -> pb.GetActiveDetectorsReply:
        info = await self._ask(self.controller.info.remote(), context)
        active = sorted(info.get("detectors") or {})
        return pb.GetActiveDetectorsReply(detectors=active, timestamp=now_ms())

    @rpc()
    async def GetAvailableDetectors(
        self, request: pb.Empty, context: grpc.aio.ServicerContext
    ) -> pb.GetAvailableDetectorsReply:
        info = await self._ask(self.controller.info.remote(), context)
        active = sorted(info.get("detectors") or {})
        free = await asyncio.to_thread(available_detectors, active, _state(info))
        return pb.GetAvailableDetectorsReply(detectors=free, timestamp=now_ms())

    @rpc()
    async def Teardown(
        self, request: pb.TeardownRequest, context: grpc.aio.ServicerContext
    ) -> pb.TeardownReply:
        await context.abort(  # as AliECS answers it
            grpc.StatusCode.UNIMPLEMENTED,
            "not implemented: stop o2ctl with `o2ctl down` on its host",
        )
        raise AssertionError("abort raises")

    # -- environments -----------------------------------------------------------------
    @rpc()
    async def GetEnvironments(
        self, request: pb.GetEnvironmentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetEnvironmentsReply:
        envs = await self._ask(self.controller.list_environments.remote(), context)
        out = []
        for s in envs:
            tasks: list[Any] = []
            if request.showTaskInfos:
                try:
                    (tasks,) = await self._read_env(s["env_id"], context, "task_table")
                except NotFound:
                    continue  # destroyed meanwhile
            out.append(messages.environment_info(s, tasks))
        info = await self._ask(self.controller.info.remote(), context)
        return pb.GetEnvironmentsReply(
            frameworkId=info.get("system_id") or "", environments=out, timestamp=now_ms()
        )

    @rpc(plain=grpc.StatusCode.FAILED_PRECONDITION)
    async def NewEnvironment(
        self, request: pb.NewEnvironmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.NewEnvironmentReply:
        if not request.workflowTemplate:
            raise BadRequest("workflowTemplate is empty: name a workflow template")
        summary = await self._ask(
            self.controller.create_environment.remote(
                request.workflowTemplate, dict(request.vars), not request.deployOnly
            ),
            context,
        )
        log.info("environment %s created from %s", summary["env_id"], request.workflowTemplate)
        tasks, tree = await self._read_env(summary["env_id"], context, "task_table", "tree")
        return pb.NewEnvironmentReply(
            environment=messages.environment_info(
                summary, tasks, tree.get("name", ""), tree.get("vars")
            ),
            public=request.public,
            timestamp=now_ms(),
        )

    @rpc()
    async def GetEnvironment(
        self, request: pb.GetEnvironmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetEnvironmentReply:
        summary, tasks, tree = await self._read_env(
            request.id, context, "summary", "task_table", "tree"
        )
        return pb.GetEnvironmentReply(
            environment=messages.environment_info(
                summary, tasks, tree.get("name", ""), tree.get("vars")
            ),
            workflow=messages.role_info(tree),
            public=True,
            timestamp=now_ms(),
        )

    @rpc()
    async def ControlEnvironment(
        self, request: pb.ControlEnvironmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.ControlEnvironmentReply:
        try:
            event = pb.ControlEnvironmentRequest.Optype.Name(request.type)
        except ValueError:
            known = ", ".join(pb.ControlEnvironmentRequest.Optype.keys())
            raise BadRequest(f"unknown event type {request.type} (known: {known})") from None
        await self._env(request.id, context)
        began = now_ms()
        if event != "NOOP":
            await self._ask(self.controller.control_environment.remote(request.id, event), context)
            log.info("environment %s: %s done", request.id, event)
        ended = now_ms()
        (summary,) = await self._read_env(request.id, context, "summary")
        return pb.ControlEnvironmentReply(
            id=request.id,
            state=summary["state"],
            currentRunNumber=messages.current_run(summary),
            startOfTransition=began,
            endOfTransition=ended,
            transitionDuration=ended - began,
            timestamp=now_ms(),
            lastRunNumber=messages.latest_run(summary),
        )

    @rpc()
    async def ModifyEnvironment(
        self, request: pb.ModifyEnvironmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.ModifyEnvironmentReply:
        """AliECS's modify: REMOVE_ROLE / ADD_ROLE by role path (o2ctl's exclude/include)."""
        remove = [o.roleName for o in request.operations if o.type == _OP.REMOVE_ROLE]
        add = [o.roleName for o in request.operations if o.type == _OP.ADD_ROLE]
        await self._env(request.id, context)
        if remove or add:
            await self._ask(
                self.controller.modify_environment.remote(
                    request.id, {}, remove, add, False, False, False
                ),
                context,
            )
        (summary,) = await self._read_env(request.id, context, "summary")
        return pb.ModifyEnvironmentReply(id=request.id, state=summary["state"])

    @rpc()
    async def DestroyEnvironment(
        self, request: pb.DestroyEnvironmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.DestroyEnvironmentReply:
        (tasks,) = await self._read_env(request.id, context, "task_table")
        result = await self._ask(
            self.controller.destroy_environment.remote(
                request.id, request.keepTasks, request.allowInRunningState, request.force
            ),
            context,
        )
        self._envs.pop(request.id, None)
        log.info("environment %s destroyed", request.id)
        known = {t["task_id"]: t for t in tasks}

        def infos(ids: Any) -> list[pb.ShortTaskInfo]:
            return [messages.short_task(known.get(i) or {"task_id": i}, "") for i in ids]

        return pb.DestroyEnvironmentReply(
            cleanupTasksReply=pb.CleanupTasksReply(
                killedTasks=infos(result.get("ended") or {}),
                runningTasks=infos(result.get("kept") or []),
                timestamp=now_ms(),
            ),
            timestamp=now_ms(),
            problems=[str(p) for p in result.get("problems") or []],
        )

    # -- tasks ------------------------------------------------------------------------
    @rpc()
    async def GetTasks(
        self, request: pb.GetTasksRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetTasksReply:
        tasks = await self._ask(self.controller.list_tasks.remote(), context)
        return pb.GetTasksReply(tasks=[messages.short_task(t) for t in tasks], timestamp=now_ms())

    @rpc()
    async def GetTask(
        self, request: pb.GetTaskRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetTaskReply:
        tasks = await self._ask(self.controller.list_tasks.remote(), context)
        for t in tasks:
            if t["task_id"] == request.taskId:
                return pb.GetTaskReply(task=messages.task_info(t), timestamp=now_ms())
        raise NotFound(f"no task {request.taskId!r} (o2ctl knows {len(tasks)} task(s))")

    @rpc()
    async def CleanupTasks(
        self, request: pb.CleanupTasksRequest, context: grpc.aio.ServicerContext
    ) -> pb.CleanupTasksReply:
        before = await self._ask(self.controller.list_tasks.remote(), context)
        ended = set(
            await self._ask(
                self.controller.clean_tasks.remote(list(request.taskIds) or None), context
            )
        )
        return pb.CleanupTasksReply(
            killedTasks=[messages.short_task(t) for t in before if t["task_id"] in ended],
            runningTasks=[messages.short_task(t) for t in before if t["task_id"] not in ended],
            timestamp=now_ms(),
        )

    # -- roles ------------------------------------------------------------------------
    @rpc()
    async def GetRoles(
        self, request: pb.GetRolesRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetRolesReply:
        (tree,) = await self._read_env(request.envId, context, "tree")
        roles = messages.matching_roles(tree, request.pathSpec)
        if not roles:
            raise NotFound(
                f"no role of environment {request.envId} matches "
                f"{request.pathSpec!r} (role paths start with {tree.get('path')!r})"
            )
        return pb.GetRolesReply(roles=roles, timestamp=now_ms())


def _version() -> pb.Version:
    try:
        text = version("o2ctl")
    except PackageNotFoundError:
        text = "0.0.0"
    nums = [int(p) if p.isdigit() else 0 for p in text.split(".")[:3]] + [0, 0, 0]
    return pb.Version(
        major=nums[0], minor=nums[1], patch=nums[2], productName="o2ctl", versionStr=text
    )


def _state(info: dict[str, Any]) -> Path | None:
    """The controller's state directory (its configuration store may be there)."""
    return Path(info["state_dir"]) if info.get("state_dir") else None
