"""Regenerate the Control API stubs in ``o2ctl/api/_gen`` from ``o2ctl/api/o2control.proto``.

The stubs are committed (installing o2ctl needs no protoc) and excluded from ruff and mypy.
protoc writes ``import o2control_pb2`` into the gRPC module, which only works with
``o2ctl/api/_gen`` on ``sys.path``; this script rewrites it to the package-relative
``from o2ctl.api._gen import o2control_pb2`` so the stubs live inside the package. The
proto itself is the published interface: a client in any language is generated from it
alone.

Run: ``.venv/bin/python -m o2ctl.api.gen_stubs`` (needs grpcio-tools, a dev dependency).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTO = HERE / "o2control.proto"
OUT_DIR = HERE / "_gen"
GRPC_MODULE = OUT_DIR / "o2control_pb2_grpc.py"
INIT_TEXT = (
    '"""Generated Control API stubs: regenerate with ``python -m o2ctl.api.gen_stubs``, '
    'never edit."""\n'
)


def generate() -> None:
    """Run protoc on o2control.proto and fix the import in the generated gRPC module."""
    from grpc_tools import protoc  # dev dependency, imported only when regenerating

    OUT_DIR.mkdir(exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"-I{HERE}",
        f"--python_out={OUT_DIR}",
        f"--pyi_out={OUT_DIR}",
        f"--grpc_python_out={OUT_DIR}",
        str(PROTO),
    ]
    if protoc.main(args) != 0:
        raise SystemExit(f"protoc failed on {PROTO}")
    text = GRPC_MODULE.read_text()
    fixed, count = re.subn(
        r"^import o2control_pb2 as",
        "from o2ctl.api._gen import o2control_pb2 as",
        text,
        flags=re.M,
    )
    if count != 1:
        raise SystemExit(
            f"{GRPC_MODULE}: expected one 'import o2control_pb2 as' line, found {count}"
        )
    GRPC_MODULE.write_text(fixed)
    (OUT_DIR / "__init__.py").write_text(INIT_TEXT)


def main() -> None:
    generate()
    sys.stdout.write(f"stubs written to {OUT_DIR}\n")


if __name__ == "__main__":
    main()
