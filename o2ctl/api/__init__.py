"""The Control API: o2ctl over gRPC for non-Python clients (GUIs, other control systems).

``protos/o2control.proto`` (package ``o2control``, service ``Control``) with
``protos/events.proto`` and ``protos/common.proto`` is AliECS's Control API on the wire: a
client generated from AliECS's own proto files works unchanged. ``protos/o2ctl.proto``
(service ``o2ctl.O2Ctl``) is what o2ctl adds (nodes, its own modify). The server
(``server``, ``repos``, ``auto``, ``o2ctlservice``; run by the ``ControlApiActor`` inside
the cluster, started with ``serve.start_api``) translates each RPC into controller actor
calls; ``auth`` checks the bearer token on every call and sets up TLS;
``client.ApiClient`` is the Python client the CLI uses with ``--endpoint``.
"""

from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parent / "protos"
PROTO_FILE = PROTO_DIR / "o2control.proto"
PROTO_FILES = tuple(
    PROTO_DIR / n for n in ("common.proto", "events.proto", "o2control.proto", "o2ctl.proto")
)

__all__ = ["PROTO_DIR", "PROTO_FILE", "PROTO_FILES"]
