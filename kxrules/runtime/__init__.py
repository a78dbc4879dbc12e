"""Hosts that run the engine: the simulation loop (virtual clock) and the live Qt loop."""
