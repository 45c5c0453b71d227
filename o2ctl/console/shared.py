"""What the console's handlers share: the application's keys and the JSON body reader.

The application holds the sessions, the event feed, the Control API's address and the
closing flag (``make_app`` in ``web`` sets them); handlers in ``web`` and ``actions`` read
them by these keys. A request body is JSON of bounded size (aiohttp's limit) and must be
an object.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from o2ctl.console import access
from o2ctl.console.feed import EventFanout

SESSIONS = web.AppKey("sessions", access.Sessions)
FEED = web.AppKey("feed", EventFanout)
ENDPOINT = web.AppKey("endpoint", str)
CLOSING = web.AppKey("closing", asyncio.Event)
JOBS = web.AppKey("jobs", set)


def refuse(status: int, message: str, code: str = "") -> web.Response:
    """One error as the page shows it: the message and the status code's name."""
    return web.json_response({"error": message, "code": code}, status=status)


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "the request body is not JSON", "code": "INVALID_ARGUMENT"}),
            content_type="application/json",
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "the request body must be a JSON object"}),
            content_type="application/json",
        )
    return body
