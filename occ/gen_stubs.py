"""Regenerate the OCC gRPC stubs in ``occ/_gen`` from ``occ/protos/occ.proto``.

The stubs are committed (so installing o2ctl needs no protoc) and excluded from ruff and
mypy. protoc writes ``import occ_pb2`` into the gRPC module, which only works when
``occ/_gen`` is on ``sys.path``; this script rewrites that line to the package-relative
``from occ._gen import occ_pb2`` so the stubs live inside the ``occ`` package.

Run: ``.venv/bin/python -m occ.gen_stubs`` (needs grpcio-tools, a dev dependency).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTO_DIR = HERE / "protos"
OUT_DIR = HERE / "_gen"
GRPC_MODULE = OUT_DIR / "occ_pb2_grpc.py"
INIT_TEXT = '"""Generated OCC stubs: regenerate with ``python -m occ.gen_stubs``, never edit."""\n'


def generate() -> None:
    """Run protoc on occ.proto and fix the import in the generated gRPC module."""
    from grpc_tools import protoc  # dev dependency, imported only when regenerating

    OUT_DIR.mkdir(exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_DIR}",
        f"--python_out={OUT_DIR}",
        f"--pyi_out={OUT_DIR}",
        f"--grpc_python_out={OUT_DIR}",
        str(PROTO_DIR / "occ.proto"),
    ]
    if protoc.main(args) != 0:
        raise SystemExit(f"protoc failed on {PROTO_DIR / 'occ.proto'}")
    text = GRPC_MODULE.read_text()
    fixed, count = re.subn(
        r"^import occ_pb2 as", "from occ._gen import occ_pb2 as", text, flags=re.M
    )
    if count != 1:
        raise SystemExit(f"{GRPC_MODULE}: expected one 'import occ_pb2 as' line, found {count}")
    GRPC_MODULE.write_text(fixed)
    (OUT_DIR / "__init__.py").write_text(INIT_TEXT)


def main() -> None:
    generate()
    sys.stdout.write(f"stubs written to {OUT_DIR}\n")


if __name__ == "__main__":
    main()
