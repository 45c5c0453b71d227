"""The Control API: o2ctl over gRPC for non-Python clients (GUIs, other control systems).

``o2control.proto`` (package ``o2control``, service ``Control``) is the published interface,
modelled on AliECS's; a client in any language is generated from it alone. The server
(``server``, run by the ``ControlApiActor`` inside the cluster, started with
``serve.start_api``) translates each RPC into controller actor calls; ``auth`` checks the
bearer token on every call and sets up TLS; ``client.ApiClient`` is the Python client the
CLI uses with ``--endpoint``.
"""

from pathlib import Path

PROTO_FILE = Path(__file__).resolve().parent / "o2control.proto"

__all__ = ["PROTO_FILE"]
