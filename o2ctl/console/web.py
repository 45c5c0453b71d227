"""The console's web application (aiohttp): sign-in, the page, the event push, the guard.

What flows through: a browser loads the one page (``static/``); its script signs in by
POSTing the API token (``/api/login``), after which the session cookie rides on every
request. ``guard`` runs before every handler: a ``/api/`` or ``/events`` request needs a
live session, a POST also a same-origin ``Origin`` and the CSRF header. ``/events`` is
the Server-Sent Events stream: the shared feed's events (of one environment when asked),
sent in small batches so a 200-task transition is a few messages, not hundreds. The reads
and actions are in ``actions``; each is a blocking ``ApiClient`` call run in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from o2ctl.api.client import ApiClient, ApiError
from o2ctl.console import access, actions
from o2ctl.console.feed import EventFanout
from o2ctl.console.shared import CLOSING, ENDPOINT, FEED, JOBS, SESSIONS, json_body, refuse

STATIC = Path(__file__).resolve().parent / "static"
BATCH_S = 0.05  # events gathered into one push
BATCH_MAX = 500
KEEPALIVE_S = 15.0
MAX_BODY = 256 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_app(endpoint: str, feed: EventFanout, closing: asyncio.Event) -> web.Application:
    app = web.Application(middlewares=[guard], client_max_size=MAX_BODY)
    app[SESSIONS] = access.Sessions()
    app[FEED] = feed
    app[ENDPOINT] = endpoint
    app[CLOSING] = closing
    app[JOBS] = set()
    app.router.add_get("/", page)
    app.router.add_get("/states.css", states_css)
    app.router.add_get("/favicon.ico", no_icon)
    app.router.add_static("/static/", STATIC)
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/logout", logout)
    app.router.add_get("/api/session", session_info)
    app.router.add_get("/events", events)
    actions.add_routes(app.router)
    app.on_cleanup.append(_close_sessions)
    return app


def session_of(request: web.Request) -> access.Session | None:
    return request.app[SESSIONS].get(request.cookies.get(access.COOKIE))


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No page data without a session; no POST from another site or without the CSRF token."""
    if request.method not in ("GET", "HEAD", "POST"):
        return refuse(405, f"{request.method} is not accepted")
    if request.method == "POST":
        why = access.cross_site(
            request.headers.get("Origin"), request.host, request.headers.get("Sec-Fetch-Site")
        )
        if why:
            return refuse(403, why, "CROSS_SITE")
    private = request.path.startswith("/api/") or request.path == "/events"
    if private and request.path != "/api/login":
        session = session_of(request)
        if session is None:
            return refuse(401, "not signed in: give the Control API's token", "UNAUTHENTICATED")
        if request.method == "POST" and not access.csrf_ok(
            session, request.headers.get(access.CSRF_HEADER)
        ):
            return refuse(403, "missing or wrong CSRF token: reload the page", "CSRF")
        request["session"] = session
    response = await handler(request)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault(
        "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"
    )
    return response


async def page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html")


async def no_icon(request: web.Request) -> web.Response:
    return web.Response(status=204)


async def states_css(request: web.Request) -> web.Response:
    """The state colours as classes: the CLI's (``o2ctl.render.STATE_COLOURS``)."""
    from o2ctl.render import STATE_COLOURS

    rules = "".join(f".st-{s} {{ color: {c}; }}\n" for s, c in STATE_COLOURS.items())
    return web.Response(text=".badge { color: #57606a; }\n" + rules, content_type="text/css")


async def login(request: web.Request) -> web.Response:
    """Sign in: the token is tried on the API itself (its refusal is the answer)."""
    body = await json_body(request)
    sent = body.get("token")
    token = sent.strip() if isinstance(sent, str) else ""
    why = access.token_problem(token)
    if why:
        return refuse(400, why, "INVALID_ARGUMENT")
    client = ApiClient(request.app[ENDPOINT], token)
    try:
        info = await asyncio.to_thread(client.info)
    except ApiError as exc:
        client.close()
        return refuse(401 if exc.code == "UNAUTHENTICATED" else 502, str(exc), exc.code)
    session, dropped = request.app[SESSIONS].open(token)
    session.client = client
    for old in dropped:
        old.client.close()
    response = web.json_response({"csrf": session.csrf, "version": info["version"]})
    response.set_cookie(
        access.COOKIE,
        session.sid,
        httponly=True,
        samesite="Strict",
        path="/",
        secure=request.secure,
    )
    return response


async def logout(request: web.Request) -> web.Response:
    gone = request.app[SESSIONS].close(request["session"].sid)
    if gone is not None and gone.client is not None:
        gone.client.close()
    response = web.json_response({"signed_out": True})
    response.del_cookie(access.COOKIE, path="/")
    return response


async def session_info(request: web.Request) -> web.Response:
    from o2ctl.console.views import meta

    return web.json_response({"csrf": request["session"].csrf, **meta()})


async def events(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: batches of the API's events (of ``?env=`` only, when given)."""
    env_id = request.query.get("env", "")
    feed, closing = request.app[FEED], request.app[CLOSING]
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    await response.prepare(request)
    queue = feed.subscribe()
    try:
        await response.write(b"retry: 2000\nevent: hello\ndata: {}\n\n")
        while not closing.is_set():
            batch = await _batch(queue, env_id)
            if batch is None:
                await response.write(b": keepalive\n\n")
            elif batch:
                await response.write(f"data: {json.dumps(batch)}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        feed.unsubscribe(queue)
    return response


async def _batch(queue: asyncio.Queue[dict[str, Any]], env_id: str) -> list[Any] | None:
    """The next events (None after ``KEEPALIVE_S`` of silence), filtered by environment."""
    try:
        first = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
    except TimeoutError:
        return None
    got = [first]
    deadline = asyncio.get_running_loop().time() + BATCH_S
    while len(got) < BATCH_MAX:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            break
        try:
            got.append(await asyncio.wait_for(queue.get(), left))
        except TimeoutError:
            break
    return [e for e in got if not env_id or e.get("env_id") in (env_id, "") or e.get("lost")]


async def _close_sessions(app: web.Application) -> None:
    for session in app[SESSIONS].all():
        if session.client is not None:
            with contextlib.suppress(Exception):
                session.client.close()
