"""CONFIGURE wiring: ports per host, targets resolved to their bind peer, FairMQ keys."""

from dataclasses import dataclass

import pytest

from o2ctl.core.ports import PortAllocator
from o2ctl.core.wiring import WiringError, WiringInput, wire


@dataclass(frozen=True)
class Ch:
    name: str
    type: str
    target: str | None = None
    transport: str = "default"
    addressing: str = "tcp"
    global_alias: str | None = None
    snd_buf_size: int | None = None
    rcv_buf_size: int | None = None
    rate_logging: int | None = None


def pipeline(n: int) -> list[WiringInput]:
    tasks = [
        WiringInput("w.sampler", "S", "h1", "10.0.0.1", [Ch("data1", "push")], []),
        WiringInput("w.sink", "K", "h2", "10.0.0.2", [Ch("data2", "pull", rate_logging=5)], []),
    ]
    for i in range(1, n + 1):
        tasks.append(
            WiringInput(
                f"w.processor{i}",
                f"P{i}",
                "h1",
                "10.0.0.1",
                [],
                [
                    Ch("data1", "pull", target="w.sampler:data1"),
                    Ch("data2", "push", target="w.sink:data2"),
                ],
            )
        )
    return tasks


def test_connects_get_their_bind_peer_address() -> None:
    alloc = PortAllocator((30000, 30100))
    w = wire(pipeline(3), alloc.allocate, env_id="E")
    sampler = w.chans["w.sampler"]
    port = int(sampler["chans.data1.0.address"].rsplit(":", 1)[1])
    assert sampler["chans.data1.0.address"] == f"tcp://*:{port}"
    assert sampler["chans.data1.0.method"] == "bind"
    assert sampler["chans.data1.0.autoBind"] == "0"
    assert sampler["chans.data1.numSockets"] == "1"
    assert sampler["chans.data1.0.sndBufSize"] == "1000"
    p2 = w.chans["w.processor2"]
    assert p2["chans.data1.0.address"] == f"tcp://10.0.0.1:{port}"
    assert p2["chans.data1.0.method"] == "connect"
    assert "chans.data1.0.autoBind" not in p2
    assert p2["chans.data2.0.address"] == w.bound["w.sink:data2"]
    assert w.chans["w.sink"]["chans.data2.0.rateLogging"] == "5"
    assert w.bound["w.sink:data2"].startswith("tcp://10.0.0.2:")


def test_unknown_target_names_task_channel_and_target() -> None:
    tasks = pipeline(1)
    tasks[2] = WiringInput("w.processor1", "P", "h1", "ip", [], [Ch("data1", "pull", "w.nope:x")])
    with pytest.raises(
        WiringError, match=r"task w.processor1: connect channel 'data1' targets 'w.nope:x'"
    ):
        wire(tasks, PortAllocator().allocate)


def test_global_alias_and_literal_and_ipc() -> None:
    tasks = [
        WiringInput("a.out", "A", "h", "1.2.3.4", [Ch("o", "push", addressing="ipc")], []),
        WiringInput(
            "a.in",
            "B",
            "h",
            "1.2.3.4",
            [],
            [
                Ch("i", "pull", target="::from-out"),
                Ch("x", "pull", target="tcp://5.6.7.8:99"),
            ],
        ),
    ]
    w = wire(tasks, PortAllocator().allocate, env_id="E1", global_channels={"from-out": "a.out:o"})
    assert w.chans["a.in"]["chans.i.0.address"] == w.bound["a.out:o"]
    assert w.bound["a.out:o"].startswith("ipc:///tmp/o2ctl-E1-a.out-o")
    assert w.chans["a.in"]["chans.x.0.address"] == "tcp://5.6.7.8:99"
    with pytest.raises(WiringError, match="global alias 'missing'"):
        wire(
            [tasks[0], WiringInput("a.in", "B", "h", "ip", [], [Ch("i", "pull", "::missing")])],
            PortAllocator().allocate,
        )


def test_same_host_never_gets_a_port_twice() -> None:
    alloc = PortAllocator((30000, 30100))
    w = wire(
        [*pipeline(2), WiringInput("w.s2", "S2", "h1", "ip", [Ch("d", "push")], [])], alloc.allocate
    )
    h1 = [p for path, ps in w.ports.items() for p in ps if path in ("w.sampler", "w.s2")]
    assert len(set(h1)) == len(h1) == 2
