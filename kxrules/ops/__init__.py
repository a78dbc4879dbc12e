"""The operator's live view of a running engine (``kxrules trade --ops-port``): captures of the
engine's state copied on its thread at a bounded rate, commands queued for the engine's loop, and
a web app (Starlette, served by uvicorn in a daemon thread) that renders the one into the page's
JSON when a viewer asks and fills the other."""
