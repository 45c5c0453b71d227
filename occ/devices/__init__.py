"""Example processes o2ctl can drive: a direct-mode OCC process and FairMQ-style devices.

They stand in for real O2 processes in tests, benchmarks and tutorials. Each is a real
program with a console script; none knows anything about o2ctl beyond the OCC protocol.
"""
