"""``fairmq-ex-1-n-1-sampler``: the source of the 1-n-1 example chain.

While RUNNING it pushes a short text message on channel ``data1`` (bound by the sampler in
the example workflow), paced by ``--rate`` messages per second. With ``--max-messages N``
it sends N messages per run and then stops by itself, going back to READY on its own, as
FairMQ's example does with ``--max-iterations`` (accepted as an alias).
"""

from __future__ import annotations

from occ.fairmq.cli import main_for
from occ.fairmq.device import Device, Option


class Sampler(Device):
    """Sends --text on data1, --rate per second, --max-messages per run (0: no limit)."""

    OPTIONS = (
        Option("text", "Hello", "text of each message"),
        Option(
            "max-messages",
            "0",
            "messages per run, then stop by itself (0: no limit)",
            aliases=("max-iterations",),
        ),
    )
    HANDLED = "sent"

    def init_task(self) -> None:
        self.text = self.prop("text", default="Hello").encode()
        self.max_messages = self.int_prop("max-messages")

    async def conditional_run(self) -> bool:
        if self.max_messages and self.handled >= self.max_messages:
            return False
        await self.send("data1", self.text)
        self.handled += 1
        return not self.max_messages or self.handled < self.max_messages


def main() -> None:
    main_for(Sampler, "fairmq-ex-1-n-1-sampler")


if __name__ == "__main__":
    main()
