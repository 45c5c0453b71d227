"""o2ctl: a control system for O²-style data-processing farms, on Ray.

The SDK is re-exported here: ``o2ctl.connect()`` returns a ``Client``. Importing the
package itself stays light (no Ray) so that the CLI and the pure core start fast.
"""

from __future__ import annotations

from typing import Any

__all__ = ["connect"]


def connect(*args: Any, **kwargs: Any) -> Any:
    """Reach (or start) an o2ctl system; see ``o2ctl.sdk.connect``."""
    from o2ctl.sdk import connect as _connect

    return _connect(*args, **kwargs)
