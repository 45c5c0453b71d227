"""``o2ctl console``, and the console's start inside ``o2ctl up``.

``up`` starts the operator console (``o2ctl.console``) beside the Control API, as a Ray
actor of the same system, so ``down`` ends both; it prints ``console: http://…``.
``o2ctl console`` opens that address in a browser when this session has a display, and
prints it either way (the address holds no secret: the page asks for the API's token).
"""

from __future__ import annotations

import os
import webbrowser
from typing import Annotated

import typer

from o2ctl.cli.common import console as out


def serve(api_endpoint: str, api_token: str, host: str, port: int) -> str:
    """Start (or find) the console of the running system; prints and returns its URL."""
    from o2ctl.console.actor import start_console

    url = start_console(api_endpoint, api_token, host=host, port=port)
    out.print(f"console: {url}")
    return url


def forget() -> None:
    """After ``down``: the console went with its Ray; drop the address it left."""
    from o2ctl.config import state_dir
    from o2ctl.console.actor import forget_url

    forget_url(state_dir())


def console(
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="only print the address")
    ] = False,
) -> None:
    """Open the operator console of the system `o2ctl up` started here."""
    from o2ctl.console.actor import console_url

    url = console_url()
    if url is None:
        raise LookupError(
            "no console running here: `o2ctl up` starts one (unless --console-port -1)"
        )
    out.print(f"console: {url}")
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if not no_browser and has_display:
        try:
            webbrowser.open(url)
        except webbrowser.Error as exc:
            out.print(f"no browser to open it ({exc})")
    elif not no_browser:
        out.print("(no display: open that address in a browser on this machine)")
