"""The console's reads and actions: each one ``ApiClient`` call with the session's token.

Every handler takes the JSON the page sent, checks only its shape (the API checks the
meaning, and its refusal, ``ApiError``, is what the page shows, with the status code name),
runs the blocking call in a thread and answers JSON. A create answers at once with a job
id: the environment shows up in the list from the event stream while it deploys, and the
create's outcome (its id, or the API's error) is pushed to the pages as a ``console``
event. Runs are the bookkeeping plugin's database, read as ``o2ctl runs`` reads it: in
ALICE, Bookkeeping is its own service beside the control system, not part of its API.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from o2ctl.api.client import ApiError
from o2ctl.console import views
from o2ctl.console.shared import FEED, JOBS, json_body, refuse
from o2ctl.core.errors import ControlError

HTTP_OF = {
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 409,
    "ALREADY_EXISTS": 409,
    "RESOURCE_EXHAUSTED": 429,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
MAX_GRACE_S = 3600.0


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/api/envs", envs)
    router.add_get("/api/env/{env_id}", env)
    router.add_post("/api/env", create)
    router.add_post("/api/env/{env_id}/control", control)
    router.add_post("/api/env/{env_id}/destroy", destroy)
    router.add_post("/api/env/{env_id}/modify", modify)
    router.add_get("/api/templates", templates)
    router.add_get("/api/farm", farm)
    router.add_post("/api/farm/{machine_id}/assign", assign)
    router.add_get("/api/runs", runs)


Call = Callable[..., Any]


async def api(request: web.Request, method: str, *args: Any, **kwargs: Any) -> Any:
    """``ApiClient.<method>(*args)`` of the request's session, in a thread."""
    call: Call = getattr(request["session"].client, method)
    return await asyncio.to_thread(call, *args, **kwargs)


def answer(handler: Callable[[web.Request], Awaitable[Any]]) -> Callable[..., Any]:
    """JSON of what ``handler`` returns; the API's error (or a bad shape) as one message."""

    async def wrapped(request: web.Request) -> web.Response:
        try:
            return web.json_response(await handler(request))
        except ApiError as exc:
            return refuse(HTTP_OF.get(exc.code, 409), str(exc), exc.code)
        except ValueError as exc:
            return refuse(400, str(exc), "INVALID_ARGUMENT")
        except ControlError as exc:  # the bookkeeping database, read here
            return refuse(409, str(exc), type(exc).__name__)

    wrapped.__name__ = handler.__name__
    return wrapped


# -- environments ------------------------------------------------------------------------
@answer
async def envs(request: web.Request) -> dict[str, Any]:
    summaries, info = await asyncio.gather(api(request, "environments"), api(request, "info"))
    details = await asyncio.gather(
        *(api(request, "environment", s["env_id"]) for s in summaries), return_exceptions=True
    )
    feed = request.app[FEED]
    rows = []
    for s, d in zip(summaries, details, strict=True):
        tasks = d["tasks"] if isinstance(d, dict) else []
        rows.append(views.env_row(s, tasks, feed.since(s["env_id"], s["state"])))
    return {"environments": rows, "locks": views.locks(info)}


@answer
async def env(request: web.Request) -> dict[str, Any]:
    env_id = request.match_info["env_id"]
    found = await api(request, "environment", env_id)
    summary = found["summary"]
    since = request.app[FEED].since(env_id, summary["state"])
    return {
        **found,
        "row": views.env_row(summary, found["tasks"], since),
        "buttons": views.buttons(summary),
    }


@answer
async def create(request: web.Request) -> dict[str, Any]:
    """Start a create; its outcome comes as a ``console`` event with this job id."""
    body = await json_body(request)
    workflow = body.get("workflow")
    if not isinstance(workflow, str) or not workflow.strip():
        raise ValueError("pick a workflow template")
    vars_ = views.create_vars(body.get("vars") or {}, body.get("detectors"))
    job = secrets.token_hex(8)
    feed = request.app[FEED]

    async def run() -> None:
        try:
            made = await api(request, "create_environment", workflow.strip(), vars_)
            feed.announce({"event": "CREATED", "job": job, "env_id_made": made["env_id"]})
        except Exception as exc:  # the API's refusal, shown on the page that asked
            code = getattr(exc, "code", type(exc).__name__)
            feed.announce({"event": "CREATE_FAILED", "job": job, "error": str(exc), "code": code})

    request.app[JOBS].add(task := asyncio.create_task(run()))
    task.add_done_callback(request.app[JOBS].discard)
    return {"job": job}


@answer
async def control(request: web.Request) -> dict[str, Any]:
    event = (await json_body(request)).get("event")
    if not isinstance(event, str):
        raise ValueError("which transition? (event)")
    result: dict[str, Any] = await api(request, "control", request.match_info["env_id"], event)
    return result


@answer
async def destroy(request: web.Request) -> dict[str, Any]:
    body = await json_body(request)
    result: dict[str, Any] = await api(
        request, "destroy", request.match_info["env_id"], force=bool(body.get("force"))
    )
    return result


@answer
async def modify(request: web.Request) -> dict[str, Any]:
    """``dry_run`` first: the page shows the diff, then sends the same change without it."""
    body = await json_body(request)
    change = {
        "vars": views.create_vars(body.get("vars") or {}, None),
        "include": views.names(body.get("include"), "include"),
        "exclude": views.names(body.get("exclude"), "exclude"),
        "dry_run": bool(body.get("dry_run")),
    }
    result: dict[str, Any] = await api(
        request, "modify_environment", request.match_info["env_id"], **change
    )
    return result


@answer
async def templates(request: web.Request) -> dict[str, Any]:
    found, info = await asyncio.gather(api(request, "templates"), api(request, "info"))
    return {"templates": [views.template_choice(t) for t in found], "locks": views.locks(info)}


# -- farm and runs ------------------------------------------------------------------------
@answer
async def farm(request: web.Request) -> dict[str, Any]:
    return {"nodes": await api(request, "nodes")}


@answer
async def assign(request: web.Request) -> dict[str, Any]:
    body = await json_body(request)
    mode, grace = body.get("mode"), body.get("grace_s")
    if mode not in ("sync", "async"):
        raise ValueError("mode must be sync or async")
    if grace is not None and (
        not isinstance(grace, int | float) or not 0 <= float(grace) <= MAX_GRACE_S
    ):
        raise ValueError(f"the grace period is a number of seconds, 0 to {MAX_GRACE_S:.0f}")
    result: dict[str, Any] = await api(
        request,
        "assign_node",
        request.match_info["machine_id"],
        mode,
        float(grace) if grace is not None else None,
    )
    return result


@answer
async def runs(request: web.Request) -> dict[str, Any]:
    from o2ctl.plugins import installed
    from o2ctl.plugins.bkstore import BookkeepingStore

    def read() -> list[dict[str, Any]]:
        plugin = installed().plugins.get("bookkeeping")
        if plugin is None:
            raise ValueError("the bookkeeping plugin is not installed")
        return BookkeepingStore(plugin.setup.under_state_dir("database")).runs(None, 200)

    return {"runs": await asyncio.to_thread(read)}
