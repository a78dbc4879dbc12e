"""Pydantic models of every workspace file: strict (unknown keys rejected), frozen, typed.

The base the rest stands on: money, rules, the pair machine, the broker, the emulator and the
market generator read their files' models from here, so this package imports nothing of kxrules
but the base modules (``seoul``, ``market``); ``tests/test_layers.py`` holds it to that."""
