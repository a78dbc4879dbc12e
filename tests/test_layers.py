"""The package's import graph runs one way: from the base up to the command line.

Every import (module level or inside a function, ``TYPE_CHECKING`` blocks included) and every
string naming a kxrules module (``importlib`` targets) is an edge between the units below. A unit
may import only units of lower layers: no import up, none sideways within a layer, hence no
circle. The layers, lowest first, and why each sits where it does:

0. base: ``seoul`` (Seoul time in epoch ns), ``market`` (venue and market names), ``compiled``
   (numba or not), ``arrays`` (the numpy array types); they import nothing of ours.
1. ``clock``: the one source of time and timers for engine, emulator, recorder and the Qt host
   (in the units of ``seoul``).
2. ``config.schema``: every workspace file's pydantic model and its field types. It sits inside
   ``config`` for its history, but imports only the base, and ``config/__init__`` imports nothing,
   so loading a model never loads the config machinery.
3. ``money``: ticks, fees and tax in integer won (read off the fee and tax schemas).
4. ``rules`` (expressions, their variables and costs) and ``machine`` (the pair machine spec).
5. ``config``: loading, linting and compiling a workspace into the profile the engine runs on.
6. ``broker`` (control, adapter, emulator), ``marketdata`` (quote files, the generator),
   ``storage`` (the run recorder): the engine's ports, independent of each other.
7. ``engine``: quote book, evaluator, pairs and execution over the ports' events; ``gateway``:
   the broker's side of a split session (the control or the emulator in its own process, the
   wire, the remote control), which needs no engine.
8. ``ops``: the operator's live view of a running engine (snapshots, commands, the web app),
   which the hosts open for a session.
9. ``runtime`` (hosts that wire engine, broker, data and recorder) and ``report`` (reads what was
   recorded).
10. ``research``: sweeps over recorded days, which run sessions (``runtime``) and read them back
   with the report's queries.
11. ``cli``, and ``__main__`` which only runs it.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import kxrules

PACKAGE = Path(kxrules.__file__).parent
LAYERS: tuple[tuple[str, ...], ...] = (
    ("kxrules", "kxrules.seoul", "kxrules.market", "kxrules.compiled", "kxrules.arrays"),
    ("kxrules.clock",),
    ("kxrules.config.schema",),
    ("kxrules.money",),
    ("kxrules.rules", "kxrules.machine"),
    ("kxrules.config",),
    ("kxrules.broker", "kxrules.marketdata", "kxrules.storage"),
    ("kxrules.engine", "kxrules.gateway"),
    ("kxrules.ops",),
    ("kxrules.runtime", "kxrules.report"),
    ("kxrules.research",),
    ("kxrules.cli",),
    ("kxrules.__main__",),
)
LAYER_OF = {unit: i for i, units in enumerate(LAYERS) for unit in units}
MODULE_STRING = re.compile(r"^kxrules(\.\w+)+(:\w+)?$")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _unit(module: str) -> str | None:
    """The longest declared unit containing ``module`` (the root package only as itself)."""
    best = None
    for unit in LAYER_OF:
        inside = module == unit or (unit != "kxrules" and module.startswith(unit + "."))
        if inside and (best is None or len(unit) > len(best)):
            best = unit
    return best


def _imports(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every kxrules module ``module`` imports or names."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                stem = package[:len(package) - node.level + 1]
                base = ".".join(stem + ([node.module] if node.module else []))
            for alias in node.names:        # `from .. import seoul` imports the module kxrules.seoul
                full = f"{base}.{alias.name}"
                out.add(full if full in known else base)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and MODULE_STRING.match(node.value):
            named = node.value.partition(":")[0]
            if named in known:                  # not a file name such as "kxrules.duckdb"
                out.add(named)
    return {m for m in out if m == "kxrules" or m.startswith("kxrules.")}


def _edges() -> dict[tuple[str, str], list[str]]:
    """(importing unit, imported unit) -> the module-level imports that make the edge."""
    known = _modules()
    edges: dict[tuple[str, str], list[str]] = {}
    for module, path in sorted(known.items()):
        for target in sorted(_imports(module, path, known)):
            a, b = _unit(module), _unit(target)
            if a != b:
                edges.setdefault((a, b), []).append(f"{module} -> {target}")
    return edges


def test_every_module_belongs_to_a_declared_layer():
    assert sorted(m for m in _modules() if _unit(m) is None) == []


def test_imports_only_go_down_the_layers():
    wrong = [f"{a} (layer {LAYER_OF[a]}) imports {b} (layer {LAYER_OF[b]}): {', '.join(why)}"
             for (a, b), why in _edges().items() if LAYER_OF[b] >= LAYER_OF[a]]
    assert wrong == []


def test_no_import_circle_between_units():
    graph: dict[str, set[str]] = {}
    for a, b in _edges():
        graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}            # 1 on the current path, 2 done
    circles: list[list[str]] = []

    def visit(unit: str, path: list[str]) -> None:
        state[unit] = 1
        for nxt in sorted(graph.get(unit, ())):
            if state.get(nxt) == 1:
                circles.append(path[path.index(nxt):] + [unit, nxt] if nxt in path else [unit, nxt])
            elif nxt not in state:
                visit(nxt, path + [unit])
        state[unit] = 2

    for unit in sorted(graph):
        if unit not in state:
            visit(unit, [])
    assert circles == []


def test_a_lower_unit_inside_a_higher_package_does_not_load_it():
    """Importing ``kxrules.config.schema.x`` runs ``kxrules/config/__init__.py`` first: such an
    enclosing package must import nothing of ours, or the lower unit would load the higher one."""
    known = _modules()
    loaded = []
    for module in known:
        unit = _unit(module)
        parts = module.split(".")
        for i in range(2, len(parts)):
            parent = ".".join(parts[:i])
            if parent in known and LAYER_OF[_unit(parent)] > LAYER_OF[unit]:
                if _imports(parent, known[parent], known):
                    loaded.append(f"{module} loads {parent}")
    assert loaded == []


def test_the_checker_sees_function_level_and_string_imports(tmp_path):
    """The graph above is only as good as the parser: a lazy import and an importlib target count."""
    src = tmp_path / "probe.py"
    src.write_text("def f():\n    from ..engine import evaluator\n"
                   "TARGET = 'kxrules.broker.venues:VenueMapConfig'\n", encoding="utf-8")
    known = _modules()
    assert _imports("kxrules.config.probe", src, known) == {"kxrules.engine.evaluator", "kxrules.broker.venues"}
