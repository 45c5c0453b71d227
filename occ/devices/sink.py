"""``fairmq-ex-1-n-1-sink``: the end of the 1-n-1 example chain.

It pulls messages from ``data2`` (bound by the sink in the example workflow) and counts
them. After each run it logs ``received N messages`` and, with ``--count-file PATH`` (or
property ``count-file``), writes N to that file, so that tests and operators can check
that what the sampler sent arrived. With ``--max-messages N`` it stops by itself after N.
"""

from __future__ import annotations

from collections.abc import Mapping

from occ.fairmq.channels import PropertyValue
from occ.fairmq.cli import main_for
from occ.fairmq.device import Device, Option


class Sink(Device):
    """Counts the messages arriving on data2."""

    OPTIONS = (
        Option(
            "max-messages",
            "0",
            "messages per run, then stop by itself (0: no limit)",
            aliases=("max-iterations",),
        ),
    )
    HANDLED = "received"

    def __init__(self, device_id: str, properties: Mapping[str, PropertyValue] | None = None):
        super().__init__(device_id, properties)
        self.max_messages = 0
        self.on_data("data2", self.handle)

    def init_task(self) -> None:
        self.max_messages = self.int_prop("max-messages")

    async def handle(self, payload: bytes, index: int) -> bool:
        self.handled += 1
        return not self.max_messages or self.handled < self.max_messages


def main() -> None:
    main_for(Sink, "fairmq-ex-1-n-1-sink")


if __name__ == "__main__":
    main()
