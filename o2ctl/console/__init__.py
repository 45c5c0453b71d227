"""The operator console: a web page served by o2ctl for the shift crew.

It sits above the Control API and uses nothing else of the control system: every read
and every action is an ``ApiClient`` call (``o2ctl.api.client``) with the token the
operator signed in with, and the live updates are the API's event stream pushed to the
browser as Server-Sent Events. So the page can do exactly what any API client can, and a
refusal on the page is the API's own error. ``actor`` serves it inside the Ray cluster
beside the API (``o2ctl up`` starts both, ``o2ctl down`` ends both); ``web`` is the
aiohttp application, ``access`` the sign-in and cross-site checks, ``feed`` the event
fan-out, ``views`` the shapes the page renders; the page itself is ``static/``.
"""
