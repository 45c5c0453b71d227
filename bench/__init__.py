"""Benchmarks of the o2ctl control plane against the floors this machine allows.

Each module measures one thing and runs alone (``python -m bench.<module>``);
``python -m bench.run_all`` runs them all on one local Ray and prints the table.
"""
