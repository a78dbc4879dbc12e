"""Where simulated market data comes from: a replay file, or a synthetic day written first."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from .. import seoul

if TYPE_CHECKING:
    from ..config.compile import CompiledProfile


@dataclass(frozen=True, slots=True)
class QuoteSourceSpec:
    path: Path
    kind: str              # "replay" | "synthetic"
    seed: int | None = None

    def describe(self) -> str:
        return f"synthetic seed {self.seed} ({self.path.name})" if self.kind == "synthetic" else f"replay {self.path}"


def synthetic_day(profile: CompiledProfile, day: dt.date, seed: int, out_dir: Path, *, until_s: int | None = None,
                  progress: Callable[[float], None] | None = None) -> QuoteSourceSpec:
    """Write (or reuse) the synthetic day for this universe, date and seed (up to ``until_s``)."""
    from ..marketdata.synthetic import Universe, generate_day

    out_dir.mkdir(parents=True, exist_ok=True)
    minutes = None if until_s is None else max(1, -(-(until_s - 9 * 3600) // 60))
    span = "day" if minutes is None else f"{minutes}min"
    path = out_dir / f"synthetic_{day.isoformat()}_seed{seed}_{span}_{profile.config_hash[:8]}.parquet"
    if not path.exists():
        syms = profile.symbols
        universe = Universe(tuple(s.code for s in syms), tuple(s.name for s in syms),
                            tuple(s.market for s in syms), tuple(s.ref_price for s in syms), profile.name)
        tmp = path.with_name(path.name + ".part")
        generate_day(tmp, universe=universe, date=day, seed=seed, config=profile.market,
                     workspace=profile.workspace, progress=progress,
                     start=None if minutes is None else "09:00:00", minutes=minutes)
        tmp.replace(path)
    return QuoteSourceSpec(path, "synthetic", seed)


def replay_date(path: Path) -> dt.date | None:
    """The Seoul trading date of a replay source (from its first timestamp): a Parquet file or
    ``x.duckdb::table``. None when it cannot be read (the replay check reports why)."""
    from ..marketdata.quote_format import _record_batches, _split_source

    try:
        p, table = _split_source(path, None)
        if not p.is_file():
            return None
        _, batches = _record_batches(p, table, 1, ["ts_ns"])
        try:
            first = next((rb.column(0)[0].as_py() for rb in batches if rb.num_rows), None)
        finally:
            getattr(batches, "close", lambda: None)()
        return None if not isinstance(first, int) else seoul.date_of(first)
    except Exception:  # noqa: BLE001 - not a readable quote source: let the replay check report it
        return None
