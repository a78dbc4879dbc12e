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
# search:                       # ... or, instead of a grid, Optuna proposes the settings
#   trials: 24                  # settings to try
#   batch: 4                    # proposed together, run in parallel, told in trial order
#   sampler: tpe                # tpe (default) or random
#   seed: 7
#   startup_trials: 10          # tpe: this many random trials before it models the results
#   params:
#     edge_buffer_ticks: {low: 0, high: 3, step: 0.5}
#     t_hedge_ms: {low: 200, high: 1000, step: 100}
#     slice_qty: {choices: [1, 2]}
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
from pydantic_core import PydanticCustomError

from ..config.diagnostics import Diagnostics
from ..config.profiles import DocLocator
from ..config.schema.common import PlainNumber, Strict
from ..config.schema.parameters import INT_PARAMETERS
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
MAX_TRIALS = 100_000


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


class SearchRange(Strict):
    """One parameter's search space: ``low``..``high`` (optionally a ``step``, or ``log``), or ``choices``."""
    low: PlainNumber | None = None
    high: PlainNumber | None = None
    step: PlainNumber | None = None
    log: bool = False
    choices: list[PlainNumber] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "SearchRange":
        if self.choices is not None:
            if self.low is not None or self.high is not None or self.step is not None or self.log:
                _space_error("give either choices or low/high (with step or log), not both")
            if not self.choices:
                _space_error("give at least one choice")
            return self
        if self.low is None or self.high is None:
            _space_error("give low and high, or choices")
        assert self.low is not None and self.high is not None
        if self.low > self.high:
            _space_error(f"low {self.low} is above high {self.high}")
        if self.log and self.step is not None:
            _space_error("log and step exclude each other (Optuna samples a log range continuously)")
        if self.log and self.low <= 0:
            _space_error("a log range needs low > 0")
        if self.step is not None:
            if self.step <= 0:
                _space_error("step must be positive")
            n = round((self.high - self.low) / self.step)
            if abs(n * self.step - (self.high - self.low)) > 1e-9 * max(1.0, abs(self.high - self.low)):
                _space_error(f"high - low ({self.high - self.low:g}) is not a multiple of step {self.step:g}")
        return self


def _space_error(message: str) -> None:
    # its own error type: validate_model reports it as KX963 at the parameter's line
    raise PydanticCustomError("search_space", message)


class Search(Strict):
    trials: int = Field(ge=1, le=MAX_TRIALS)
    batch: int = Field(default=4, ge=1, le=1024)
    sampler: Literal["tpe", "random"] = "tpe"
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    startup_trials: int | None = Field(default=None, ge=0, le=MAX_TRIALS)   # tpe: random ones first (Optuna: 10)
    params: dict[str, SearchRange] = Field(min_length=1)


class SweepFile(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str | None = None
    profile: str = Field(min_length=1)
    universe: str | None = None
    days: Days
    grid: dict[str, list[PlainNumber]] = Field(default_factory=dict)
    search: Search | None = None
    symbols: dict[str, dict[str, PlainNumber]] = {}
    objective: Objective = Objective(maximize="net_krw")


class Sweep:
    """A validated sweep file with its settings expanded and its days resolved."""

    def __init__(self, path: Path, root: Path, model: SweepFile):
        self.path, self.root, self.model = path, root, model
        self.name = model.name or path.stem

    @property
    def search(self) -> Search | None:
        return self.model.search

    def setting(self, params: dict[str, int | float]) -> Setting:
        """A setting with these global values and the file's per-symbol values."""
        return Setting(dict(params), {c: dict(v) for c, v in self.model.symbols.items()})

    @property
    def settings(self) -> list[Setting]:
        """The grid's settings (a search's come from its trials)."""
        names = sorted(self.model.grid)
        combos = itertools.product(*(self.model.grid[n] for n in names)) if names else [()]
        return [self.setting(dict(zip(names, values))) for values in combos]

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
    if model.search is not None:
        if model.grid:
            diags.add(doc.path, doc.position(("search",), key=True), "KX963",
                      "give a grid or a search, not both")
        _check_search(model.search, doc, diags)


def _check_search(search: Search, doc: YamlDoc, diags: Diagnostics) -> None:
    """Each searched parameter: a known name, bounds inside the parameter's, whole steps for integers."""
    if search.startup_trials is not None and search.sampler != "tpe":
        diags.add(doc.path, doc.position(("search", "startup_trials"), key=True), "KX963",
                  "search.startup_trials: only the tpe sampler has start-up trials")
    for name, space in search.params.items():
        at = ("search", "params", name)
        if name not in PARAMETER_NAMES:
            diags.add(doc.path, doc.position(at, key=True), "KX961",
                      f"search.params.{name}: unknown parameter (parameters: {', '.join(PARAMETER_NAMES)})")
            continue
        for i, v in enumerate(space.choices or []):
            _check_value(name, v, (*at, "choices", i), doc, diags)
        for end in ("low", "high"):
            if getattr(space, end) is not None:
                _check_value(name, getattr(space, end), (*at, end), doc, diags)
        if name in INT_PARAMETERS and space.step is not None and not isinstance(space.step, int):
            diags.add(doc.path, doc.position((*at, "step")), "KX963",
                      f"search.params.{name}.step: {name} is a whole number: give a whole step")


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
