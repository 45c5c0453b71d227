"""The Control API server: each RPC of ``o2control.Control`` becomes controller actor calls.

What flows through: a request from a GUI or another control system (any language, any
gRPC stack) comes in, past the token check (``auth.TokenInterceptor``), to one handler
here, which awaits the controller (``await controller.method.remote(...)``) or, for reads
of one environment, its environment actor; the dicts they answer are reshaped into proto
messages by ``messages``. The server holds no state of the control system: it is a
translation layer, and two servers over one controller would agree.

Every call to an actor has a deadline (the client's own when it sent one); an error
becomes one gRPC status with a one-line message (``status.status_of``). ``Subscribe``
long-polls the controller's cluster-wide event log and streams what it gets; closing the
server ends open streams cleanly (OK) instead of cutting them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeVar

import grpc
import ray

from actors import naming
from actors.errors import NotFound
from o2ctl.api import messages
from o2ctl.api._gen import o2control_pb2 as pb
from o2ctl.api._gen import o2control_pb2_grpc as pb_grpc
from o2ctl.api.events import EventFeed
from o2ctl.api.status import BadRequest, status_of

log = logging.getLogger("o2ctl.api")

DEFAULT_DEADLINE_S = 600.0  # a create waits for deploy and configure: minutes, not seconds
Reply = TypeVar("Reply")
Handler = Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[Reply]]


def rpc(
    plain: grpc.StatusCode = grpc.StatusCode.FAILED_PRECONDITION,
) -> Callable[[Handler[Reply]], Handler[Reply]]:
    """Answer any error of the handler with its status code; ``plain`` for a ControlError."""

    def wrap(method: Handler[Reply]) -> Handler[Reply]:
        @functools.wraps(method)
        async def handler(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Reply:
            try:
                return await method(self, request, context)
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                code, message = status_of(exc, plain)
                log.info("%s: %s %s", method.__name__, code.name, message)
                await context.abort(code, message)
                raise  # abort raises; this line is never reached

        return handler

    return wrap


class ControlServicer(pb_grpc.ControlServicer):
    def __init__(self, controller: Any) -> None:
        self.controller = controller
        self.closing = asyncio.Event()
        self._envs: dict[str, Any] = {}

    # -- plumbing ---------------------------------------------------------------------
    async def _ask(self, ref: Any, context: grpc.aio.ServicerContext) -> Any:
        left = context.time_remaining()
        timeout = min(left, DEFAULT_DEADLINE_S) if left is not None else DEFAULT_DEADLINE_S
        try:
            return await asyncio.wait_for(ref, timeout)
        except TimeoutError:
            raise TimeoutError(f"no answer from the control system within {timeout:.0f}s") from None

    async def _env(self, env_id: str, context: grpc.aio.ServicerContext) -> Any:
        """The environment actor of ``env_id``, or NotFound naming the known ones."""
        if not env_id:
            raise BadRequest("the environment id is empty")
        ids = await self._ask(self.controller.environment_ids.remote(), context)
        if env_id not in ids:
            self._envs.pop(env_id, None)
            raise NotFound(f"no environment {env_id!r} (known: {', '.join(ids) or 'none'})")
        if env_id not in self._envs:
            try:
                self._envs[env_id] = await asyncio.to_thread(
                    ray.get_actor, naming.env_actor(env_id), namespace=naming.NAMESPACE
                )
            except ValueError:
                raise NotFound(f"environment {env_id} no longer exists") from None
        return self._envs[env_id]

    async def _read_env(
        self, env_id: str, context: grpc.aio.ServicerContext, *methods: str
    ) -> list[Any]:
        env = await self._env(env_id, context)
        try:
            return list(
                await asyncio.gather(
                    *(self._ask(getattr(env, m).remote(), context) for m in methods)
                )
            )
        except ray.exceptions.RayActorError:
            self._envs.pop(env_id, None)
            raise NotFound(f"environment {env_id} no longer exists") from None

    # -- framework --------------------------------------------------------------------
    @rpc()
    async def GetFrameworkInfo(
        self, request: pb.GetFrameworkInfoRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetFrameworkInfoReply:
        info, events = await asyncio.gather(
            self._ask(self.controller.info.remote(), context),
            EventFeed(self.controller, self.closing).last_seq(),
        )
        return pb.GetFrameworkInfoReply(
            frameworkId=info.get("node_id") or "",
            environmentsCount=info["environments"],
            tasksCount=info["tasks"],
            state="CONNECTED",
            instanceName="o2ctl",
            version=_version(),
            configurationEndpoint=info.get("repo") or "",
            lastEventSeq=events,
            lastRunNumber=info.get("last_run_number") or 0,
            idleTasksCount=info.get("idle", 0),
            detectors=info.get("detectors") or {},
        )

    @rpc()
    async def GetActiveDetectors(
        self, request: pb.Empty, context: grpc.aio.ServicerContext
    ) -> pb.GetActiveDetectorsReply:
        info = await self._ask(self.controller.info.remote(), context)
        return pb.GetActiveDetectorsReply(detectors=sorted(info.get("detectors") or {}))

    # -- environments -----------------------------------------------------------------
    @rpc()
    async def GetEnvironments(
        self, request: pb.GetEnvironmentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetEnvironmentsReply:
        envs = await self._ask(self.controller.list_environments.remote(), context)
        return pb.GetEnvironmentsReply(environments=[messages.environment_info(s) for s in envs])

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
            environment=messages.environment_info(summary, tasks, tree.get("name", "")),
            public=request.public,
        )

    @rpc()
    async def GetEnvironment(
        self, request: pb.GetEnvironmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetEnvironmentReply:
        summary, tasks, tree = await self._read_env(
            request.id, context, "summary", "task_table", "tree"
        )
        return pb.GetEnvironmentReply(
            environment=messages.environment_info(summary, tasks, tree.get("name", "")),
            workflow=messages.role_info(tree),
            public=True,
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
        if event != "NOOP":
            await self._ask(self.controller.control_environment.remote(request.id, event), context)
            log.info("environment %s: %s done", request.id, event)
        (summary,) = await self._read_env(request.id, context, "summary")
        return pb.ControlEnvironmentReply(
            id=request.id,
            state=summary["state"],
            currentRunNumber=messages.run_number(summary.get("run_number")),
        )

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
            ),
            problems=[str(p) for p in result.get("problems") or []],
        )

    # -- tasks ------------------------------------------------------------------------
    @rpc()
    async def GetTasks(
        self, request: pb.GetTasksRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetTasksReply:
        tasks = await self._ask(self.controller.list_tasks.remote(), context)
        return pb.GetTasksReply(tasks=[messages.short_task(t) for t in tasks])

    @rpc()
    async def GetTask(
        self, request: pb.GetTaskRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetTaskReply:
        tasks = await self._ask(self.controller.list_tasks.remote(), context)
        for t in tasks:
            if t["task_id"] == request.taskId:
                return pb.GetTaskReply(task=messages.task_info(t))
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
        )

    # -- nodes (the farm) ---------------------------------------------------------------
    @rpc()
    async def GetNodes(
        self, request: pb.GetNodesRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetNodesReply:
        rows = await self._ask(self.controller.list_nodes.remote(), context)
        return pb.GetNodesReply(nodes=[messages.node_info(r) for r in rows])

    @rpc()
    async def AssignNode(
        self, request: pb.AssignNodeRequest, context: grpc.aio.ServicerContext
    ) -> pb.AssignNodeReply:
        if not request.machineId:
            raise BadRequest("machineId is empty: name a node (o2ctl node list)")
        if request.mode not in ("sync", "async"):
            raise BadRequest(f"mode is {request.mode[:40]!r}: expected sync or async")
        grace = request.graceSeconds if request.HasField("graceSeconds") else None
        if grace is not None and not 0.0 <= grace <= 3600.0:
            raise BadRequest(f"graceSeconds is {grace:g}: expected 0 to 3600")
        result = await self._ask(
            self.controller.assign_node.remote(request.machineId, request.mode, grace), context
        )
        log.info("node %s assigned %s (%s)", request.machineId, request.mode, result.get("how"))
        return messages.assign_reply(result)

    @rpc()
    async def ModifyEnvironment(
        self, request: pb.ModifyEnvironmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.ModifyEnvironmentReply:
        if not request.envId:
            raise BadRequest("envId is empty: name an environment")
        d = await self._ask(
            self.controller.modify_environment.remote(
                request.envId,
                dict(request.vars),
                list(request.exclude),
                list(request.include),
                request.kill,
                request.dryRun,
                request.restartRun,
            ),
            context,
        )
        log.info(
            "environment %s modified: %s", request.envId, {k: d[k] for k in ("added", "removed")}
        )
        return pb.ModifyEnvironmentReply(
            added=d["added"],
            removed=d["removed"],
            changed=[pb.ChangedTask(path=p, keys=k) for p, k in d["changed"].items()],
            restarted=d["restarted"],
            untouched=d["untouched"],
            tookSeconds=d["took_s"],
            blockedWhileRunning=d["blocked_while_running"],
            dryRun=bool(d.get("dry_run")),
            runNumber=int(d.get("run_number") or 0),
        )

    # -- roles and templates ------------------------------------------------------------
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
        return pb.GetRolesReply(roles=roles)

    @rpc(plain=grpc.StatusCode.INVALID_ARGUMENT)
    async def GetWorkflowTemplates(
        self, request: pb.GetWorkflowTemplatesRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetWorkflowTemplatesReply:
        from o2ctl.api.templates import workflow_templates

        info = await self._ask(self.controller.info.remote(), context)
        found = await asyncio.to_thread(workflow_templates, request.repoPattern, info.get("repo"))
        return pb.GetWorkflowTemplatesReply(
            workflowTemplates=[pb.WorkflowTemplateInfo(**t) for t in found]
        )

    # -- events -----------------------------------------------------------------------
    async def Subscribe(
        self, request: pb.SubscribeRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.Event]:
        feed = EventFeed(self.controller, self.closing)
        try:
            after = request.after if request.HasField("after") else await feed.last_seq()
            log.info("subscriber %r from event %d (env %r)", request.id, after, request.envId)
            async for event in feed.follow(after, request.envId):
                yield event
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            code, message = status_of(exc)
            await context.abort(code, message)


def _version() -> pb.Version:
    try:
        text = version("o2ctl")
    except PackageNotFoundError:
        text = "0.0.0"
    nums = [int(p) if p.isdigit() else 0 for p in text.split(".")[:3]] + [0, 0, 0]
    return pb.Version(
        major=nums[0], minor=nums[1], patch=nums[2], productName="o2ctl", versionStr=text
    )
