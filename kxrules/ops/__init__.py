"""The operator's live view of a running engine (``kxrules trade --ops-port``): snapshots built
on the engine's thread at a bounded rate, commands queued for the engine's loop, and a web app
(Starlette, served by uvicorn in a daemon thread) that only reads the one and fills the other."""
