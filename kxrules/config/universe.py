"""Universe CSV files: ``code,name,market,ref_price``, with ``#`` comment lines allowed.

Every problem is reported at its line and column (column = 1-based field number start).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from ..market import MARKETS
from ..money.ticks import on_grid, tick_size
from .diagnostics import Diagnostics, Position

COLUMNS = ("code", "name", "market", "ref_price")
_CODE = re.compile(r"^[0-9A-Z]{6}$")
MAX_REF_PRICE_KRW = 10_000_000   # no KRX/NXT share has traded near it; above it is a typo


@dataclass(frozen=True, slots=True)
class Symbol:
    code: str
    name: str
    market: str
    ref_price: int
    line: int
    col: int = 1          # where the code starts on its line


def _field_cols(raw_line: str) -> list[int]:
    """1-based start column of each comma-separated field (quotes are not used in our files)."""
    cols, col = [1], 1
    for ch in raw_line:
        col += 1
        if ch == ",":
            cols.append(col)
    return cols


def load_universe(path: Path, diags: Diagnostics) -> list[Symbol] | None:
    try:
        text = path.read_text(encoding="utf-8-sig")   # spreadsheets save UTF-8 with a BOM
    except FileNotFoundError:
        diags.add(path, None, "KX001", "universe file not found")
        return None
    except UnicodeDecodeError as exc:
        diags.add(path, None, "KX006", f"universe file is not UTF-8 (save it as CSV UTF-8): {exc}")
        return None
    except OSError as exc:                            # a directory, no permission, ...
        diags.add(path, None, "KX001", f"cannot read universe file: {exc}")
        return None

    lines = text.splitlines()
    numbered = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")]
    if not numbered:
        diags.add(path, None, "KX006", f"no header: expected {','.join(COLUMNS)}")
        return None
    header_line, header = numbered[0]
    names = [h.strip() for h in next(csv.reader(io.StringIO(header)))]
    if names != list(COLUMNS):
        diags.add(path, Position(header_line, 1), "KX006",
                  f"header must be '{','.join(COLUMNS)}', got '{header.strip()}'")
        return None

    symbols: list[Symbol] = []
    first_seen: dict[str, int] = {}
    for line_no, raw in numbered[1:]:
        fields = next(csv.reader(io.StringIO(raw)))
        cols = _field_cols(raw)
        if len(fields) != len(COLUMNS):
            diags.add(path, Position(line_no, 1), "KX006",
                      f"expected {len(COLUMNS)} fields, found {len(fields)}")
            continue
        code, name, market, ref = (f.strip() for f in fields)
        ok = True
        if not _CODE.match(code):
            diags.add(path, Position(line_no, cols[0]), "KX601",
                      f"code '{code}' must be 6 digits or uppercase letters (e.g. 005930)")
            ok = False
        elif code in first_seen:
            diags.add(path, Position(line_no, cols[0]), "KX602",
                      f"code {code} already listed on line {first_seen[code]}")
            ok = False
        if market not in MARKETS:
            diags.add(path, Position(line_no, cols[2]), "KX603",
                      f"market '{market}' for {code} must be one of {', '.join(MARKETS)}")
            ok = False
        try:
            price = int(ref)
        except ValueError:
            diags.add(path, Position(line_no, cols[3]), "KX103",
                      f"ref_price '{ref}' for {code} is not a whole number of won")
            ok = False
        else:
            if price > MAX_REF_PRICE_KRW:
                diags.add(path, Position(line_no, cols[3]), "KX104",
                          f"ref_price {price} for {code} is above {MAX_REF_PRICE_KRW:,} KRW, the bound of "
                          f"a KRX/NXT share price")
                ok = False
            elif not on_grid(price):
                diags.add(path, Position(line_no, cols[3]), "KX606",
                          f"ref_price {price} for {code} is not a positive price on the tick grid "
                          f"(tick {tick_size(max(price, 1))})")
                ok = False
        if ok:
            first_seen[code] = line_no
            symbols.append(Symbol(code, name, market, price, line_no, cols[0]))
    if not symbols and not diags.has_errors():
        diags.add(path, None, "KX607", "universe lists no symbols")
    return symbols
