"""JSON text of the recorder's detail columns, exactly ``json.dumps(value, ensure_ascii=False)``.

An order event's raw record (the control's FID strings, ~38 of them) is serialised once per
event: a dict of text values with a key set that repeats (one per Chejan record shape) gets a
``%``-template made once per key set, which writes the same text in less than half the time.
"""
from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any

_ENCODE_RAW = json.JSONEncoder(ensure_ascii=False).encode
_ENCODE_DETAIL = json.JSONEncoder(ensure_ascii=False, default=str).encode

_TEMPLATES: dict[tuple, str | None] = {}
_TEMPLATES_MAX = 256       # distinct key sets kept; a stream with more falls back to the encoder


def _template(keys: tuple) -> str | None:
    """``{"k1": %s, "k2": %s}`` for text keys (None if one is not text: json converts those)."""
    if not all(type(k) is str for k in keys):
        return None
    return "{" + ", ".join(encode_basestring(k).replace("%", "%%") + ": %s" for k in keys) + "}"


def raw_json(raw: dict[str, Any]) -> str:
    """``json.dumps(raw, ensure_ascii=False)``, by a per-key-set template when every value is text."""
    keys = tuple(raw)
    template = _TEMPLATES.get(keys, "")
    if template == "":
        template = _template(keys)
        if len(_TEMPLATES) < _TEMPLATES_MAX:
            _TEMPLATES[keys] = template
    if template is None:
        return _ENCODE_RAW(raw)
    try:        # the C encoder refuses what is not text, as json.dumps would encode it otherwise
        return template % tuple(map(encode_basestring, raw.values()))
    except TypeError:
        return _ENCODE_RAW(raw)


def detail_json(detail: dict[str, Any]) -> str:
    """``json.dumps(detail, ensure_ascii=False, default=str)`` without building an encoder per call."""
    return _ENCODE_DETAIL(detail)
