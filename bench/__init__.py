"""Benchmarks of the o2ctl control plane against the floors this machine allows.

Each module measures one thing and runs alone (``python -m bench.<module>``);
``python -m bench.run_all`` runs them all on local Rays of its own and prints the tables
(``--tiny``: every measure once at N = 3, as CI does; ``--readme``: into the README).
"""
