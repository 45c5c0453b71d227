"""o2ctl's own service beside AliECS's: ``o2ctl.O2Ctl`` (farm nodes, o2ctl's modify).

What flows through: the same controller calls as before this service was split out of
``o2control.Control`` (whose contract is AliECS's and has no room for them), answered
with the messages of ``o2ctl.proto`` (``o2ctlmsgs``). Same server, token and limits.
"""

from __future__ import annotations

import logging

import grpc

from o2ctl.api import o2ctlmsgs
from o2ctl.api._gen import o2ctl_pb2 as pb
from o2ctl.api._gen import o2ctl_pb2_grpc as pb_grpc
from o2ctl.api.rpcbase import ServicerBase, rpc
from o2ctl.api.status import BadRequest

log = logging.getLogger("o2ctl.api")


class O2CtlServicer(ServicerBase, pb_grpc.O2CtlServicer):
    @rpc()
    async def GetNodes(
        self, request: pb.GetNodesRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetNodesReply:
        rows = await self._ask(self.controller.list_nodes.remote(), context)
        return pb.GetNodesReply(nodes=[o2ctlmsgs.node_info(r) for r in rows])

    @rpc()
    async def AssignNode(
        self, request: pb.AssignNodeRequest, context: grpc.aio.ServicerContext
    ) -> pb.AssignNodeReply:
        if not request.machineId:
            raise BadRequest("machineId is empty: name a node (o2ctl node list)")
        if request.mode not in ("sync", "async"):
            raise BadRequest(f"mode is {request.mode[:40]!r}: expected sync or async")
        grace = request.graceSeconds if request.HasField("graceSeconds") else None
        if grace is not None and not 0.0 <= grace <= 3600.0:
            raise BadRequest(f"graceSeconds is {grace:g}: expected 0 to 3600")
        result = await self._ask(
            self.controller.assign_node.remote(request.machineId, request.mode, grace), context
        )
        log.info("node %s assigned %s (%s)", request.machineId, request.mode, result.get("how"))
        return o2ctlmsgs.assign_reply(result)

    @rpc()
    async def ModifyEnvironment(
        self, request: pb.ModifyEnvironmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.ModifyEnvironmentReply:
        if not request.envId:
            raise BadRequest("envId is empty: name an environment")
        d = await self._ask(
            self.controller.modify_environment.remote(
                request.envId,
                dict(request.vars),
                list(request.exclude),
                list(request.include),
                request.kill,
                request.dryRun,
                request.restartRun,
            ),
            context,
        )
        log.info(
            "environment %s modified: %s", request.envId, {k: d[k] for k in ("added", "removed")}
        )
        return o2ctlmsgs.modify_reply(d)
