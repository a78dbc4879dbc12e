"""The recorder's detail columns: the templated JSON is byte for byte ``json.dumps``."""
from __future__ import annotations

import json
import random

from kxrules.broker.emulator import formats as fm
from kxrules.storage.jsontext import detail_json, raw_json


def _chejan_raw() -> dict[str, str]:
    rec = fm.chejan_order_record(account="8000000011", order_no=123, orig_no=0, code="005930", name="삼성전자",
                                 status="체결", side="buy", kind="+매수", style="limit", order_qty=10,
                                 order_price=70000, unfilled=0, cum_qty=10, cum_amount=700000, exec_no="12345",
                                 exec_price=70000, exec_qty=10, fee_cum=100, tax_cum=0, screen="1000",
                                 ts_ns=1_700_000_000_000_000_000, last=70000, bid=69900, ask=70000, ref=69000)
    return {"gubun": "0", **{str(fid): v for fid, v in rec.items()}}


def test_a_chejan_record_twice_is_json_dumps() -> None:
    raw = _chejan_raw()
    assert raw_json(raw) == json.dumps(raw, ensure_ascii=False)
    raw["913"] = '체결 "%s" \\ \t\n\x01'          # the second record of a shape uses the kept template
    assert raw_json(raw) == json.dumps(raw, ensure_ascii=False)


def test_odd_keys_and_values_are_json_dumps() -> None:
    rng = random.Random(3)
    alphabet = ['a', '%', '%s', '"', '\\', '\n', '\x00', '한', '\u2028', '\ud800', '9', ' ']
    odd_values: list[object] = [1, -2.5, None, True, [1, "x"], {"k": "v"}]
    for _ in range(500):
        raw: dict = {}
        for _ in range(rng.randrange(0, 6)):
            key = "".join(rng.choices(alphabet, k=rng.randrange(0, 4)))
            raw[key if rng.random() < 0.9 else rng.choice([7, None, 1.5, False])] = (
                "".join(rng.choices(alphabet, k=rng.randrange(0, 5))) if rng.random() < 0.85
                else rng.choice(odd_values))
        assert raw_json(raw) == json.dumps(raw, ensure_ascii=False), raw


def test_detail_is_json_dumps_with_str_default() -> None:
    detail = {"holding": 3, "when": object.__new__(object), "name": "삼성전자"}
    assert detail_json(detail) == json.dumps(detail, ensure_ascii=False, default=str)


def test_text_of_a_str_subclass_is_json_dumps() -> None:
    class Text(str):
        pass
    raw = _chejan_raw()
    raw["913"] = Text('체결 "x"')
    assert raw_json(raw) == json.dumps(raw, ensure_ascii=False)
