"""Who may use the console: a signed-in session per browser, no cross-site request.

The operator signs in with the Control API's token; the console keeps it server-side in a
session and hands the browser only a random session id in a cookie (HttpOnly, so no script
reads it; SameSite=Strict, so no other site's page sends it), never the token and never
anything in a URL. Every state-changing request (POST) must also come from the console's
own origin (``Origin`` equal to the address the browser used) and carry the session's
CSRF token in a header, which a page of another site cannot read or forge. Sessions are
bounded in number and age. Pure: no I/O, no web framework.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

COOKIE = "o2ctl_console"
CSRF_HEADER = "X-O2ctl-CSRF"
MAX_SESSIONS = 64
SESSION_TTL_S = 12 * 3600.0  # one shift and then some
MAX_TOKEN_CHARS = 512


@dataclass
class Session:
    sid: str
    token: str
    csrf: str
    created: float = field(default_factory=time.monotonic)
    client: Any = None  # the session's ApiClient, made by the web layer

    def expired(self, now: float) -> bool:
        return now - self.created > SESSION_TTL_S


class Sessions:
    """The signed-in browsers, oldest dropped first beyond ``MAX_SESSIONS``."""

    def __init__(self) -> None:
        self._by_sid: dict[str, Session] = {}

    def open(self, token: str) -> tuple[Session, list[Session]]:
        """A new session for ``token``; also the sessions dropped to make room."""
        dropped = self._expire(time.monotonic())
        while len(self._by_sid) >= MAX_SESSIONS:
            oldest = min(self._by_sid.values(), key=lambda s: s.created)
            dropped.append(self._by_sid.pop(oldest.sid))
        session = Session(secrets.token_urlsafe(32), token, secrets.token_urlsafe(32))
        self._by_sid[session.sid] = session
        return session, dropped

    def get(self, sid: str | None) -> Session | None:
        session = self._by_sid.get(sid or "")
        if session is None or session.expired(time.monotonic()):
            return None
        return session

    def close(self, sid: str | None) -> Session | None:
        return self._by_sid.pop(sid or "", None)

    def all(self) -> list[Session]:
        return list(self._by_sid.values())

    def _expire(self, now: float) -> list[Session]:
        gone = [s for s in self._by_sid.values() if s.expired(now)]
        for s in gone:
            del self._by_sid[s.sid]
        return gone


def token_problem(token: str) -> str | None:
    """Why a token typed at sign-in cannot even be tried, or None."""
    if not token.strip():
        return "the token is empty: paste the Control API's token (api-token, state directory)"
    if len(token) > MAX_TOKEN_CHARS or not token.isprintable():
        return "that is not a Control API token"
    return None


def cross_site(origin: str | None, host: str | None, fetch_site: str | None) -> str | None:
    """Why a state-changing request is refused as cross-site, or None when same-origin."""
    if fetch_site and fetch_site not in ("same-origin", "none"):
        return f"cross-site request refused (Sec-Fetch-Site: {fetch_site})"
    if not origin or not host:
        return "request refused: no Origin header (the console accepts its own pages only)"
    if origin not in (f"http://{host}", f"https://{host}"):
        return f"cross-site request refused: Origin {origin} is not this console"
    return None


def csrf_ok(session: Session, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(str(sent).encode(), session.csrf.encode())
