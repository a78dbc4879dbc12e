"""Research at scale: the day library, sweeps declared in YAML, and their runner.

Nothing here changes how a run trades: a sweep run is the same session lifecycle as
``kxrules trade --replay DAY --set NAME=VALUE`` (the fast path on the emulator), one process per
worker, the engine single-threaded inside it.
"""
