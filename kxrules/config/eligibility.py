"""NXT's list of eligible stocks (매매체결대상) by date, shipped as ``kxrules/config/nxt_eligibility.csv``
(one row per code and stretch of eligibility; its header says the source and the dates it covers)."""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

KNOWN_THROUGH = "# known_through:"


@dataclass(frozen=True, slots=True)
class EligibilityList:
    stretches: dict[str, tuple[tuple[dt.date, dt.date | None], ...]]   # code -> (from, until exclusive)
    known_from: dt.date
    known_through: dt.date

    def eligible_on(self, code: str, day: dt.date) -> bool:
        return any(start <= day and (end is None or day < end) for start, end in self.stretches.get(code, ()))


@cache
def nxt_eligibility() -> EligibilityList:
    text = files("kxrules.config").joinpath("nxt_eligibility.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    through = next(dt.date.fromisoformat(ln[len(KNOWN_THROUGH):].strip()) for ln in lines
                   if ln.startswith(KNOWN_THROUGH))
    rows = csv.DictReader(io.StringIO("\n".join(ln for ln in lines if not ln.startswith("#"))))
    stretches: dict[str, list] = {}
    for r in rows:
        end = dt.date.fromisoformat(r["eligible_until"]) if r["eligible_until"] else None
        stretches.setdefault(r["code"], []).append((dt.date.fromisoformat(r["eligible_from"]), end))
    known_from = min(start for spans in stretches.values() for start, _ in spans)
    return EligibilityList({c: tuple(s) for c, s in stretches.items()}, known_from, through)
