"""Pydantic models of every workspace file: strict (unknown keys rejected), frozen, typed."""
