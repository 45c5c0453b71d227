"""A thin Python client of the Control API, for the CLI's ``--endpoint`` and for scripts.

``ApiClient(endpoint, token)`` holds one gRPC channel (TLS when asked) and sends the token
on every call; each method is one RPC and answers with the plain dicts the SDK gives
(``dicts``), so the CLI renders both paths with the same code. A failed call raises one
``ApiError`` (a ``ControlError``) carrying the status code name and the server's one-line
message. Without a token the client reads the one a local server wrote
(``<state dir>/api-token``). Blocking (sync gRPC), like the CLI that uses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Any

import grpc

from o2ctl.api import dicts
from o2ctl.api._gen import o2control_pb2 as pb
from o2ctl.api._gen import o2control_pb2_grpc as pb_grpc
from o2ctl.api._gen import o2ctl_pb2, o2ctl_pb2_grpc
from o2ctl.api.auth import bearer, channel_credentials, read_token
from o2ctl.core.errors import ControlError

READ_TIMEOUT_S = 30.0
CHANGE_TIMEOUT_S = 600.0  # a create waits for deploy and configure


class ApiError(ControlError):
    """A Control API call failed; ``code`` is the gRPC status code's name (NOT_FOUND, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ApiClient:
    def __init__(
        self,
        endpoint: str,
        token: str | None = None,
        *,
        tls: bool = False,
        ca_file: str | None = None,
        timeout: float = CHANGE_TIMEOUT_S,
    ) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self._metadata = bearer(token or read_token())
        if tls or ca_file:
            self._channel = grpc.secure_channel(endpoint, channel_credentials(ca_file))
        else:
            self._channel = grpc.insecure_channel(endpoint)
        self.stub: Any = pb_grpc.ControlStub(self._channel)  # type: ignore[no-untyped-call]
        self.o2ctl: Any = o2ctl_pb2_grpc.O2CtlStub(self._channel)  # type: ignore[no-untyped-call]

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _call(
        self, method: str, request: Any, timeout: float = READ_TIMEOUT_S, stub: Any = None
    ) -> Any:
        try:
            call = getattr(stub or self.stub, method)
            return call(request, metadata=self._metadata, timeout=timeout)
        except grpc.RpcError as err:
            raise self._error(err) from None

    def _error(self, err: grpc.RpcError) -> ApiError:
        code: grpc.StatusCode = err.code()
        details = err.details() or code.name
        if code == grpc.StatusCode.UNAVAILABLE:
            details = f"cannot reach the o2ctl Control API at {self.endpoint}: {details}"
        return ApiError(code.name, details)

    # -- system -------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        r = self._call("GetFrameworkInfo", pb.GetFrameworkInfoRequest())
        return {
            "framework_id": r.frameworkId,
            "environments": r.environmentsCount,
            "tasks": r.tasksCount,
            "idle": r.idleTasksCount,
            "state": r.state,
            "version": r.version.versionStr,
            "repo": r.configurationEndpoint or None,
            "last_run_number": r.lastRunNumber,
            "last_event_seq": r.lastEventSeq,
            "detectors": dict(r.detectors),
        }

    def templates(self, repo_pattern: str = "", all_workflows: bool = True) -> list[dict[str, Any]]:
        """Every workflow template (only the public ones without ``all_workflows``, as
        AliECS's GUI asks), with its description and the specs of its public variables."""
        request = pb.GetWorkflowTemplatesRequest(
            repoPattern=repo_pattern, allWorkflows=all_workflows
        )
        return [
            dicts.template(t) for t in self._call("GetWorkflowTemplates", request).workflowTemplates
        ]

    # -- environments -------------------------------------------------------------------
    def create_environment(
        self, workflow: str, vars: dict[str, Any] | None = None, auto_configure: bool = True
    ) -> dict[str, Any]:
        """Create (deploy, and configure unless told not to); the new environment's summary."""
        r = self._call(
            "NewEnvironment",
            pb.NewEnvironmentRequest(
                workflowTemplate=workflow,
                vars={str(k): str(v) for k, v in (vars or {}).items()},
                deployOnly=not auto_configure,
            ),
            self.timeout,
        )
        return dicts.summary(r.environment)

    def environments(self) -> list[dict[str, Any]]:
        r = self._call("GetEnvironments", pb.GetEnvironmentsRequest())
        return [dicts.summary(e) for e in r.environments]

    def environment(self, env_id: str) -> dict[str, Any]:
        """``{"summary": ..., "tasks": [...], "tree": {...}}`` of one environment."""
        r = self._call("GetEnvironment", pb.GetEnvironmentRequest(id=env_id))
        tasks = [dicts.task(t) for t in r.environment.tasks]
        by_id = {t["task_id"]: t for t in tasks}
        return {
            "summary": dicts.summary(r.environment),
            "tasks": tasks,
            "tree": dicts.tree(r.workflow, by_id),
        }

    def control(self, env_id: str, event: str) -> dict[str, Any]:
        """Run one transition (START_ACTIVITY, ...); ``{"env_id", "state", "run_number"}``."""
        try:
            kind: Any = pb.ControlEnvironmentRequest.Optype.Value(event.upper())
        except ValueError:
            known = ", ".join(pb.ControlEnvironmentRequest.Optype.keys())
            raise ApiError(
                "INVALID_ARGUMENT", f"unknown event {event!r}: known events are {known}"
            ) from None
        r = self._call(
            "ControlEnvironment", pb.ControlEnvironmentRequest(id=env_id, type=kind), self.timeout
        )
        return {"env_id": r.id, "state": r.state, "run_number": r.currentRunNumber or None}

    def destroy(
        self,
        env_id: str,
        keep_tasks: bool = False,
        allow_in_running: bool = False,
        force: bool = False,
    ) -> dict[str, Any]:
        """Tear down; ``{"env_id", "ended": [task ids], "kept": [task ids], "problems"}``."""
        r = self._call(
            "DestroyEnvironment",
            pb.DestroyEnvironmentRequest(
                id=env_id, keepTasks=keep_tasks, allowInRunningState=allow_in_running, force=force
            ),
            self.timeout,
        )
        cleanup = r.cleanupTasksReply
        return {
            "env_id": env_id,
            "ended": [t.taskId for t in cleanup.killedTasks],
            "kept": [t.taskId for t in cleanup.runningTasks],
            "problems": list(r.problems),
        }

    def roles(self, env_id: str, path_spec: str = "") -> list[dict[str, Any]]:
        r = self._call("GetRoles", pb.GetRolesRequest(envId=env_id, pathSpec=path_spec))
        return [dicts.tree(role) for role in r.roles]

    # -- tasks --------------------------------------------------------------------------
    def tasks(self) -> list[dict[str, Any]]:
        return [dicts.task(t) for t in self._call("GetTasks", pb.GetTasksRequest()).tasks]

    def clean_tasks(self, task_ids: list[str] | None = None) -> list[str]:
        r = self._call("CleanupTasks", pb.CleanupTasksRequest(taskIds=task_ids or []), self.timeout)
        return [t.taskId for t in r.killedTasks]

    # -- nodes (the farm) ---------------------------------------------------------------
    def nodes(self) -> list[dict[str, Any]]:
        r = self._call("GetNodes", o2ctl_pb2.GetNodesRequest(), stub=self.o2ctl)
        return [dicts.node(n) for n in r.nodes]

    def assign_node(
        self, machine_id: str, mode: str, grace_s: float | None = None
    ) -> dict[str, Any]:
        """Make a node sync or async; returns once done (see ``Client.assign_node``)."""
        request = o2ctl_pb2.AssignNodeRequest(machineId=machine_id, mode=mode)
        if grace_s is not None:
            request.graceSeconds = grace_s
        return dicts.assigned(self._call("AssignNode", request, self.timeout, self.o2ctl))

    def modify_environment(self, env_id: str, **change: Any) -> dict[str, Any]:
        """Change a live environment (see ``Environment.modify``); returns the diff."""
        request = o2ctl_pb2.ModifyEnvironmentRequest(
            envId=env_id,
            vars={str(k): str(v) for k, v in (change.get("vars") or {}).items()},
            exclude=list(change.get("exclude") or ()),
            include=list(change.get("include") or ()),
            kill=bool(change.get("kill")),
            dryRun=bool(change.get("dry_run")),
            restartRun=bool(change.get("restart_run")),
        )
        r = self._call("ModifyEnvironment", request, self.timeout, self.o2ctl)
        out: dict[str, Any] = {
            "added": list(r.added),
            "removed": list(r.removed),
            "changed": {c.path: list(c.keys) for c in r.changed},
            "restarted": dict(r.restarted),
            "untouched": r.untouched,
            "took_s": r.tookSeconds,
            "blocked_while_running": list(r.blockedWhileRunning),
            "dry_run": r.dryRun,
        }
        if r.runNumber:
            out["run_number"] = r.runNumber
        if r.refused:
            out["refused"] = r.refused
        if r.warnings:
            out["warnings"] = list(r.warnings)
        return out

    # -- repositories, detectors, integrated services ----------------------------------
    def repos(self, revisions: bool = False) -> dict[str, Any]:
        """``{"repos": [{name, uri, default, revision, revisions}], "global_revision"}``."""
        r = self._call("ListRepos", pb.ListReposRequest(getRevisions=revisions))
        repos = [
            {
                "name": x.name,
                "uri": x.uri,
                "default": x.default,
                "revision": x.defaultRevision or None,
                "revisions": list(x.revisions),
            }
            for x in r.repos
        ]
        return {"repos": repos, "global_revision": r.globalDefaultRevision or None}

    def detectors(self) -> dict[str, list[str]]:
        """``{"active": [...], "available": [...]}``: held by an environment, or free."""
        active = self._call("GetActiveDetectors", pb.Empty()).detectors
        free = self._call("GetAvailableDetectors", pb.Empty()).detectors
        return {"active": list(active), "available": list(free)}

    def services(self) -> dict[str, dict[str, Any]]:
        """The integrated services (installed plugins) by id: name, enabled, state, data."""
        r = self._call("GetIntegratedServices", pb.Empty())
        return {
            key: {
                "name": s.name,
                "enabled": s.enabled,
                "endpoint": s.endpoint,
                "state": s.connectionState,
                "data": s.data,
            }
            for key, s in r.services.items()
        }

    def create_environment_async(
        self, workflow: str, vars: dict[str, Any] | None = None, auto_run: bool = False
    ) -> str:
        """Start creating an environment; its id at once (progress: ``events(env_id)``).
        ``auto_run``: then start it, and stop and destroy it at the end of its run."""
        r = self._call(
            "NewEnvironmentAsync",
            pb.NewEnvironmentRequest(
                workflowTemplate=workflow,
                vars={str(k): str(v) for k, v in (vars or {}).items()},
                autoTransition=auto_run,
            ),
        )
        return str(r.environment.id)

    # -- events -------------------------------------------------------------------------
    def events(
        self, env_id: str | None = None, after: int | None = None, timeout: float | None = None
    ) -> Iterator[dict[str, Any]]:
        """Events as they come (of ``env_id`` only, when given), for ``timeout`` s at most.

        ``after``: replay from that sequence number first (``info()["last_event_seq"]``
        is the current one); None: only what happens from now on.
        """
        request = pb.SubscribeRequest(id="o2ctl-client", envId=env_id or "", everything=True)
        if after is not None:
            request.after = after
        stream = self.stub.Subscribe(request, metadata=self._metadata, timeout=timeout)
        try:
            for ev in stream:
                yield dicts.event(ev)
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.DEADLINE_EXCEEDED or timeout is None:
                raise self._error(err) from None
        finally:
            stream.cancel()
