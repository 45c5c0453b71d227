"""``fairmq-ex-1-n-1-processor``: the middle of the 1-n-1 example chain.

It pulls each message from ``data1``, appends ``(modified by <id>)`` and pushes the result
on ``data2``. In the example workflow every processor connects to both the sampler's and
the sink's bound channels, so ZeroMQ spreads the load over the processors.
"""

from __future__ import annotations

from collections.abc import Mapping

from occ.fairmq.channels import PropertyValue
from occ.fairmq.cli import main_for
from occ.fairmq.device import Device


class Processor(Device):
    """Transforms each message of data1 and sends it on data2."""

    HANDLED = "processed"

    def __init__(self, device_id: str, properties: Mapping[str, PropertyValue] | None = None):
        super().__init__(device_id, properties)
        self.on_data("data1", self.handle)

    async def handle(self, payload: bytes, index: int) -> bool:
        await self.send("data2", payload + f" (modified by {self.id})".encode())
        self.handled += 1
        return True


def main() -> None:
    main_for(Processor, "fairmq-ex-1-n-1-processor")


if __name__ == "__main__":
    main()
