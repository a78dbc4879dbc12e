"""`kxrules report`: the end-of-day HTML summary, computed by SQL over the DuckDB recording.

source (open the recording, pick the run) → config_view (the run's config snapshot) → queries and
series (SQL) → build (numbers, tables, SVG charts) → render (Jinja templates in reports/)."""
