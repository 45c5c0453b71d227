"""The gRPC floor of the benchmarks on real devices: launched, driven, measured, gone."""

from __future__ import annotations

import psutil

from bench import devices


async def test_grpc_floor_drives_real_devices_and_leaves_none() -> None:
    floor = await devices.measure(3, cycles=1, idle_window_s=0.5)
    assert floor.n == 3 and floor.launch_s > 0
    assert set(floor.transitions) == set(devices.CYCLE)
    assert all(len(v) == 1 and v[0] > 0 for v in floor.transitions.values())
    assert len(floor.device_uss_mb) == 3 and all(m > 1 for m in floor.device_uss_mb)


async def test_configure_arguments_carry_the_runtime_channel_keys(tmp_path: object) -> None:
    devs = await devices.launch(3, str(tmp_path))
    try:
        by_name = {d.spec.role_path.rsplit(".", 1)[-1]: d for d in devs.devices}
        sampler, processor = by_name["sampler"].configure_args, by_name["processor1"]
        assert sampler["chans.data1.0.method"] == "bind"
        assert processor.configure_args["chans.data1.0.method"] == "connect"
        port = sampler["chans.data1.0.address"].rsplit(":", 1)[1]
        assert processor.configure_args["chans.data1.0.address"].endswith(":" + port)
        assert all(psutil.pid_exists(p) for p in devs.pids)
    finally:
        await devs.close()
    assert not any(
        psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in devs.pids
    )
