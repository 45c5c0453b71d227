"""``chans.*`` parsing with FairMQ's types, and its errors naming the key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from occ.fairmq.channels import (
    ChannelConfigError,
    SubChannel,
    build_channels,
    parse_channel_config,
    push_properties,
    stoi,
)


def aliecs_bind(name: str, address: str, kind: str = "push") -> dict[str, str]:
    """What AliECS pushes for a bound channel (core/task/channel, buildFMQMap)."""
    p = f"chans.{name}.0."
    return {
        f"chans.{name}.numSockets": "1",
        p + "address": address,
        p + "method": "bind",
        p + "autoBind": "0",
        p + "rateLogging": "0",
        p + "rcvBufSize": "1000",
        p + "rcvKernelSize": "0",
        p + "sndBufSize": "1000",
        p + "sndKernelSize": "0",
        p + "transport": "default",
        p + "type": kind,
    }


def test_push_types_as_the_occ_plugin() -> None:
    pushed = push_properties(
        [
            *aliecs_bind("data1", "tcp://*:5555").items(),
            ("chans.data1.0.linger", "100"),
            ("severity", "trace"),
            ("color", "false"),
            ("rateLogging", "7"),  # not a channel key: stays a string
        ]
    )
    assert pushed["chans.data1.0.sndBufSize"] == 1000
    assert pushed["chans.data1.0.rateLogging"] == 0
    assert pushed["chans.data1.0.linger"] == 100
    assert pushed["chans.data1.numSockets"] == "1"
    assert pushed["chans.data1.0.autoBind"] == "0"
    assert pushed["chans.data1.0.type"] == "push"
    assert pushed["severity"] == "trace"
    assert pushed["rateLogging"] == "7"


def test_aliecs_bind_channel_parses() -> None:
    channels = build_channels(push_properties(aliecs_bind("data1", "tcp://*:5555").items()))
    assert channels == {
        "data1": [
            SubChannel(
                name="data1",
                index=0,
                type="push",
                method="bind",
                address="tcp://*:5555",
                transport="default",
                rate_logging=0,
                auto_bind=False,
            )
        ]
    }


def test_connect_channel_and_defaults() -> None:
    props = push_properties(
        {
            "chans.data2.0.method": "connect",
            "chans.data2.0.type": "pull",
            "chans.data2.0.address": "tcp://127.0.0.1:6000",
        }.items()
    )
    (sub,) = build_channels(props)["data2"]
    assert (sub.snd_buf_size, sub.rcv_buf_size, sub.linger, sub.rate_logging) == (
        1000,
        1000,
        500,
        1,
    )
    assert sub.auto_bind is True
    assert sub.snd_timeout_ms == -1


def test_several_sockets() -> None:
    props = push_properties(
        [("chans.d.numSockets", "2")]
        + [
            (f"chans.d.{i}.{k}", v)
            for i in (0, 1)
            for k, v in (("type", "pub"), ("method", "bind"), ("address", f"ipc:///tmp/d{i}"))
        ]
    )
    subs = build_channels(props)["d"]
    assert [s.index for s in subs] == [0, 1]
    assert subs[1].address == "ipc:///tmp/d1"


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("chans.data1.0.sndBufSize", "lots", "expected an integer"),
        ("chans.data1.0.rateLogging", "", "expected an integer"),
        ("chans.data1.0.rcvKernelSize", "99999999999", "out of range"),
    ],
)
def test_bad_int_push_names_the_key(key: str, value: str, problem: str) -> None:
    with pytest.raises(ChannelConfigError, match=problem) as err:
        push_properties([(key, value)])
    assert err.value.key == key
    assert key in str(err.value)


@pytest.mark.parametrize("field", ["sndTimeoutMs", "rcvTimeoutMs", "portRangeMin", "portRangeMax"])
def test_int_keys_the_plugin_pushes_as_strings_kill_the_device(field: str) -> None:
    props = push_properties(
        [*aliecs_bind("data1", "tcp://*:1").items(), (f"chans.data1.0.{field}", "5")]
    )
    with pytest.raises(ChannelConfigError, match="pushed as the string") as err:
        build_channels(props)
    assert err.value.key == f"chans.data1.0.{field}"


@pytest.mark.parametrize(
    ("field", "value", "key_suffix"),
    [
        ("type", "bogus", "type"),
        ("method", "listen", "method"),
        ("transport", "carrier-pigeon", "transport"),
        ("address", "http://x:1", "address"),
        ("autoBind", "maybe", "autoBind"),
        ("sndBufSize", "-1", "sndBufSize"),
    ],
)
def test_invalid_values_name_the_key(field: str, value: str, key_suffix: str) -> None:
    pushed = aliecs_bind("data1", "tcp://*:1") | {f"chans.data1.0.{field}": value}
    with pytest.raises(ChannelConfigError) as err:
        build_channels(push_properties(pushed.items()))
    assert err.value.key == f"chans.data1.0.{key_suffix}"


def test_structure_errors() -> None:
    with pytest.raises(ChannelConfigError, match=r"chans\.x\.y") as err:
        build_channels({"chans.x.y": "1"})
    assert err.value.key == "chans.x.y"
    with pytest.raises(ChannelConfigError, match="beyond numSockets"):
        build_channels(push_properties([("chans.d.numSockets", "1"), ("chans.d.1.type", "push")]))
    with pytest.raises(ChannelConfigError, match="no address"):
        build_channels(
            push_properties([("chans.d.0.type", "push"), ("chans.d.0.method", "connect")])
        )


def test_unspecified_bind_address_allowed_only_with_auto_bind() -> None:
    props = push_properties([("chans.d.0.type", "push"), ("chans.d.0.method", "bind")])
    assert build_channels(props)["d"][0].address == "unspecified"
    props["chans.d.0.autoBind"] = "false"
    with pytest.raises(ChannelConfigError, match="no address"):
        build_channels(props)


def test_method_prefix_in_address() -> None:
    props = push_properties([("chans.d.0.type", "pull"), ("chans.d.0.address", ">tcp://h:1")])
    sub = build_channels(props)["d"][0]
    assert (sub.method, sub.address) == ("connect", "tcp://h:1")
    props["chans.d.0.method"] = "bind"
    with pytest.raises(ChannelConfigError, match="contradicts"):
        build_channels(props)


def test_channel_config_option() -> None:
    props = parse_channel_config(
        ["name=data,type=push,method=bind,address=tcp://*:5555,rateLogging=0,sndTimeoutMs=10"]
    )
    (sub,) = build_channels(props)["data"]
    assert (sub.type, sub.method, sub.rate_logging, sub.snd_timeout_ms) == ("push", "bind", 0, 10)
    with pytest.raises(ChannelConfigError, match="no name"):
        parse_channel_config(["type=push"])
    with pytest.raises(ChannelConfigError, match="not key=value"):
        parse_channel_config(["name=a,push"])


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1), st.text(alphabet=" x.", max_size=3))
def test_stoi_takes_the_leading_integer(number: int, tail: str) -> None:
    assert stoi("k", f"  {number}{tail}") == number
