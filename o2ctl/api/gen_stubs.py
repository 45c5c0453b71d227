"""Regenerate the Control API stubs in ``o2ctl/api/_gen`` from ``o2ctl/api/protos/*.proto``.

The stubs are committed (installing o2ctl needs no protoc) and excluded from ruff and mypy.
protoc writes ``import events_pb2 as ...`` (a top-level module) wherever one proto file
imports another; this script rewrites each such line to the package-relative
``from o2ctl.api._gen import events_pb2 as ...`` so the stubs live inside the package. The
proto files themselves are the published interface: a client in any language is
generated from them alone (``o2control.proto`` with ``events.proto`` and ``common.proto``
is AliECS's contract; ``o2ctl.proto`` is o2ctl's own service).

Run: ``.venv/bin/python -m o2ctl.api.gen_stubs`` (needs grpcio-tools, a dev dependency).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTO_DIR = HERE / "protos"
PROTOS = ("common.proto", "events.proto", "o2control.proto", "o2ctl.proto")
OUT_DIR = HERE / "_gen"
INIT_TEXT = (
    '"""Generated Control API stubs: regenerate with ``python -m o2ctl.api.gen_stubs``, '
    'never edit."""\n'
)
_IMPORT = re.compile(r"^import (\w+_pb2(?:_grpc)?) as", re.M)


def generate() -> None:
    """Run protoc on the proto files and make their imports of each other package-relative."""
    from grpc_tools import protoc  # dev dependency, imported only when regenerating

    OUT_DIR.mkdir(exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_DIR}",
        f"--python_out={OUT_DIR}",
        f"--pyi_out={OUT_DIR}",
        f"--grpc_python_out={OUT_DIR}",
        *(str(PROTO_DIR / p) for p in PROTOS),
    ]
    if protoc.main(args) != 0:
        raise SystemExit(f"protoc failed on {PROTO_DIR}")
    for module in sorted(OUT_DIR.glob("*_pb2*.py*")):
        text = module.read_text()
        module.write_text(_IMPORT.sub(r"from o2ctl.api._gen import \1 as", text))
    (OUT_DIR / "__init__.py").write_text(INIT_TEXT)


def main() -> None:
    generate()
    sys.stdout.write(f"stubs written to {OUT_DIR}\n")


if __name__ == "__main__":
    main()
