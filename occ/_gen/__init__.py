"""Generated OCC stubs: regenerate with ``python -m occ.gen_stubs``, never edit."""
