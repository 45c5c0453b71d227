"""``o2ctl-cleanup --root ROOT -- PATH...``: remove paths, but only under a scratch root.

The built-in clean-up hook (task template ``o2ctl-cleanup``, run at DESTROY) removes an
environment's scratch directory. Its paths come from template variables, so this program
trusts none of them: each PATH must be absolute and, once every symbolic link and ``..``
in it is resolved, lie strictly inside ROOT (itself resolved). Anything else is refused
with one line naming the path and where it leads, and nothing at all is removed (all
paths are checked before the first is touched). A path that does not exist is already
clean. Links found inside a removed tree are removed as links, never followed
(``shutil.rmtree`` on Linux works through directory descriptors).

Exit codes: 0 removed (or nothing to remove), 2 usage, 3 refused, 1 a removal failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence

EXIT_REFUSED = 3


class Refused(Exception):
    """A path outside the scratch root (or a root that is no root)."""


def inside(path: str, root: str) -> str:
    """``path`` resolved, when strictly inside the resolved ``root``; else ``Refused``."""
    if not os.path.isabs(path):
        raise Refused(f"refusing to remove {path!r}: not an absolute path")
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if os.path.commonpath([real, real_root]) != real_root or real == real_root:
        leads = f" (it resolves to {real})" if real != os.path.normpath(path) else ""
        raise Refused(f"refusing to remove {path}{leads}: not inside the scratch root {real_root}")
    return real


def check_root(root: str) -> None:
    real = os.path.realpath(root)
    if not os.path.isabs(root) or real == os.path.realpath(os.sep):
        raise Refused(f"scratch root {root!r} must be an absolute directory other than /")


def remove(real: str) -> None:
    if os.path.isdir(real) and not os.path.islink(real):
        shutil.rmtree(real)
    elif os.path.lexists(real):
        os.unlink(real)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="o2ctl-cleanup", description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="the only tree paths may be removed from")
    parser.add_argument("paths", nargs="*", help="absolute paths inside ROOT")
    args = parser.parse_args(argv)
    try:
        check_root(args.root)
        targets = [inside(p, args.root) for p in args.paths if p.strip()]
    except Refused as refused:
        print(f"o2ctl-cleanup: {refused}", file=sys.stderr)
        return EXIT_REFUSED
    for real in targets:
        if not os.path.lexists(real):
            print(f"o2ctl-cleanup: {real}: nothing to remove")
            continue
        try:
            remove(real)
        except OSError as error:
            print(f"o2ctl-cleanup: cannot remove {real}: {error.strerror}", file=sys.stderr)
            return 1
        print(f"o2ctl-cleanup: removed {real}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
