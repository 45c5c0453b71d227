"""Generated Control API stubs: regenerate with ``python -m o2ctl.api.gen_stubs``, never edit."""
