"""``sweeps/*.yaml``: what a sweep varies, over which days, judged by what.

Loaded through the located YAML loader and validated with pydantic, so a mistake is reported
as ``file:line:col`` by ``kxrules validate`` and ``kxrules sweep --check`` like any other file.
Paths (days, the universe) are relative to the workspace, like a profile's files.

```yaml
name: edge_grid                 # the sweep's id in the results (default: the file's stem)
profile: sim
days:
  library: days                 # an exported day library (kxrules days export --out days) ...
  from: 2026-11-02
  to: 2026-11-30
  # paths: ["days/date=2026-11-*/quotes.parquet"]   # ... and/or paths and globs
grid:                           # every combination is one setting
  edge_buffer_ticks: [1, 2]
  t_hedge_ms: [600, 1000]
symbols:                        # per-symbol values every setting uses (refine the profile's overrides)
  "005930": {t_hedge_ms: 800}
objective:
  maximize: net_krw
  constraints:
    unhedged_p95_ms: {max: 1000}
```
"""
from __future__ import annotations

import datetime as dt
import glob
import itertools
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ..config.diagnostics import Diagnostics
from ..config.profiles import DocLocator
from ..config.schema.common import PlainNumber, Strict
from ..config.schema.strategy import PARAMETER_NAMES, Parameters
from ..config.validate_model import validate_model
from ..config.yaml_loader import YamlDoc, load_yaml
from .settings import Setting

SWEEP_DIR = "sweeps"
METRICS = ("net_krw", "gross_krw", "fees_krw", "tax_krw", "signals", "pairs", "pairs_done", "fill_rate",
           "unhedged_p50_ms", "unhedged_p95_ms", "max_orders_per_s")
Metric = Literal["net_krw", "gross_krw", "fees_krw", "tax_krw", "signals", "pairs", "pairs_done", "fill_rate",
                 "unhedged_p50_ms", "unhedged_p95_ms", "max_orders_per_s"]
MAX_RUNS = 1_000_000


class Days(Strict):
    library: str | None = None
    from_: dt.date | None = Field(default=None, alias="from")
    to: dt.date | None = None
    paths: list[str] = []

    @model_validator(mode="after")
    def _some_days(self) -> "Days":
        if self.library is None and not self.paths:
            raise ValueError("name a day library (library:) or paths/globs (paths:)")
        if (self.from_ or self.to) and self.library is None:
            raise ValueError("from/to select days of a day library: add library:")
        return self


class Bound(Strict):
    min: PlainNumber | None = None
    max: PlainNumber | None = None


class Objective(Strict):
    maximize: Metric | None = None
    minimize: Metric | None = None
    constraints: dict[Metric, Bound] = {}

    @model_validator(mode="after")
    def _one_goal(self) -> "Objective":
        if (self.maximize is None) == (self.minimize is None):
            raise ValueError("give exactly one of maximize or minimize")
        return self

    @property
    def metric(self) -> str:
        """The one metric maximised or minimised."""
        metric = self.maximize or self.minimize
        assert metric is not None, "checked by _one_goal"
        return metric


class SweepFile(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str | None = None
    profile: str = Field(min_length=1)
    universe: str | None = None
    days: Days
    grid: dict[str, list[PlainNumber]] = Field(default_factory=dict)
    symbols: dict[str, dict[str, PlainNumber]] = {}
    objective: Objective = Objective(maximize="net_krw")


class Sweep:
    """A validated sweep file with its settings expanded and its days resolved."""

    def __init__(self, path: Path, root: Path, model: SweepFile):
        self.path, self.root, self.model = path, root, model
        self.name = model.name or path.stem

    @property
    def settings(self) -> list[Setting]:
        names = sorted(self.model.grid)
        combos = itertools.product(*(self.model.grid[n] for n in names)) if names else [()]
        return [Setting(dict(zip(names, values)), {c: dict(v) for c, v in self.model.symbols.items()})
                for values in combos]

    @property
    def universe(self) -> Path | None:
        return (self.root / self.model.universe).resolve() if self.model.universe else None

    def days(self) -> list[Path]:
        """The day files, in date order of the library then as the paths list them (no duplicates)."""
        from .days import library_days

        d = self.model.days
        found: list[Path] = []
        if d.library is not None:
            found += [x.path for x in library_days(self.root / d.library, d.from_, d.to)]
        for pattern in d.paths:
            full = pattern if Path(pattern).is_absolute() else str(self.root / pattern)
            found += sorted(Path(p) for p in glob.glob(full, recursive=True))
        seen, out = set(), []
        for p in found:
            r = p.resolve()
            if r not in seen:
                seen.add(r)
                out.append(r)
        return out


def load_sweep(path: Path, root: Path, diags: Diagnostics, *, resolve_days: bool = False) -> Sweep | None:
    """Load and check a sweep file; None (with located diagnostics) when it has errors.
    ``resolve_days``: also require that the days name at least one file (KX962)."""
    doc = load_yaml(path, diags)
    if doc is None:
        return None
    before = len(diags.errors)
    model = validate_model(SweepFile, doc.data if doc.data is not None else {}, DocLocator(doc), diags,
                           what="sweep")
    if model is None:
        return None
    _check_parameters(model, doc, diags)
    _check_references(model, doc, root, diags)
    sweep = Sweep(path, root, model)
    if resolve_days and len(diags.errors) == before and not sweep.days():
        diags.add(path, doc.position(("days",)), "KX962", "the days match no file "
                  "(export recorded days with `kxrules days export --out DIR`)")
    return sweep if len(diags.errors) == before else None


def _check_parameters(model: SweepFile, doc: YamlDoc, diags: Diagnostics) -> None:
    n = 1
    for name, values in model.grid.items():
        if name not in PARAMETER_NAMES:
            diags.add(doc.path, doc.position(("grid", name), key=True), "KX961",
                      f"grid.{name}: unknown parameter (parameters: {', '.join(PARAMETER_NAMES)})")
            continue
        if not values:
            diags.add(doc.path, doc.position(("grid", name)), "KX104", f"grid.{name}: give at least one value")
        for i, v in enumerate(values):
            _check_value(name, v, ("grid", name, i), doc, diags)
        n *= max(1, len(values))
    for code, vals in model.symbols.items():
        for name, v in vals.items():
            if name not in PARAMETER_NAMES:
                diags.add(doc.path, doc.position(("symbols", code, name), key=True), "KX961",
                          f"symbols.{code}.{name}: unknown parameter")
            else:
                _check_value(name, v, ("symbols", code, name), doc, diags)
    if n > MAX_RUNS:
        diags.add(doc.path, doc.position(("grid",)), "KX104", f"grid has {n:,} settings (at most {MAX_RUNS:,})")


def _check_value(name: str, value, loc: tuple, doc: YamlDoc, diags: Diagnostics) -> None:
    """The bounds rules/edge.yaml has for this parameter (KX103/KX104 at the value)."""
    validate_model(Parameters, {name: value}, _At(doc, loc), diags, what=".".join(map(str, loc)))


class _At:
    """A locator that places every finding of a one-value model at ``loc`` of the sweep file."""

    def __init__(self, doc: YamlDoc, loc: tuple):
        self.doc, self.loc = doc, loc

    def locate(self, _loc: tuple, *, key: bool = False):
        return self.doc.path, self.doc.position(self.loc)


def _check_references(model: SweepFile, doc: YamlDoc, root: Path, diags: Diagnostics) -> None:
    from ..config.profiles import profile_path

    if not profile_path(root, model.profile).exists():
        diags.add(doc.path, doc.position(("profile",)), "KX201", f"profile '{model.profile}' not found")
    if model.universe and not (root / model.universe).exists():
        diags.add(doc.path, doc.position(("universe",)), "KX203", f"universe: '{model.universe}' does not exist")
    # a day library not exported yet is normal before the first export: only `sweep` needs it


def sweep_files(root: Path) -> list[Path]:
    return sorted((root / SWEEP_DIR).glob("*.yaml"))
