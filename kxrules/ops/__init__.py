"""The operator's live view of a running engine (``kxrules trade --ops-port``). In the engine's
process: captures of its state copied on its thread at a bounded rate (``capture``, ``pump``) and
the operator's commands picked up by its loop, over a never-blocking link (``link``). In the
view's own process (``process``): a web app (Starlette served by uvicorn, ``server``) that
renders the latest capture into the page's JSON when a viewer asks (``board``, ``snapshot``) and
sends the page's commands back."""
