"""The ``o2ctl`` command line (typer + rich): ``app`` to extend, ``main`` to run.

Command groups are modules of this package, each with its own typer ``app``, mounted by
``o2ctl.cli.main.GROUPS``.
"""

from o2ctl.cli.main import app, main

__all__ = ["app", "main"]
