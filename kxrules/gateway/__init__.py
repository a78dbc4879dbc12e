"""The gateway: the OpenAPI+ control (or the emulator) in its own process, the engine in another.

The control is a 32-bit COM object: it needs a 32-bit Python, where DuckDB ≥ 1, pyarrow and numba
cannot be installed. So the control lives in a small gateway process that imports none of them
and the engine talks to it over loopback TCP:

- ``wire``: versioned, length-prefixed msgpack frames and the challenge-response handshake;
- ``capture``: what the gateway reads from the control inside each event (the getters answer only
  then) and ships as raw FID strings — all parsing stays in the engine's ``KiwoomAdapter``;
- ``remote``: ``RemoteControl``, the engine side: an ``OcxLike`` whose calls go over the wire and
  whose getters answer from the shipped snapshot, so the adapter cannot tell it from the control;
- ``lockstep``: the emulator behind the gateway on virtual time, advanced in lockstep with the
  engine's clock so a split session is as deterministic as an in-process one;
- ``outbox``: the gateway's send queue: order and Chejan events never dropped, real data for one
  code coalesced to the newest when the engine lags (counted).
"""
