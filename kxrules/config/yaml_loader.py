"""Load YAML as plain data while remembering where every key and value stood.

ruamel.yaml's round-trip loader keeps line/column on each mapping and sequence; we copy the data
into plain dicts/lists (so nothing downstream depends on ruamel types) and keep a side table from
the data path (``("rules", 0, "when")``) to positions. Round-trip mode loads ``!!python/...`` tags
silently instead of refusing them, so tags are checked on the composed node tree first.

The round-trip parser is pure Python and slow (~20 ms for a small file), and positions are only
needed to report something. So a file is first read with the safe loader (ruamel's C parser
when ``ruamel.yaml.clib`` is installed), and the round-trip pass runs only when that fails (to
locate the problem) or when a position is first asked for.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .diagnostics import Diagnostics, Position

DataPath = tuple[str | int, ...]

_STANDARD_TAGS = {
    "tag:yaml.org,2002:" + t
    for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp", "merge", "binary")
}
MAX_NODES = 200_000  # alias expansion beyond this is an attack or a mistake, not a config
MAX_DEPTH = 64       # nesting beyond this is a mistake (our deepest file nests 5 levels); the
                     # round-trip parser recurses per level and would die of RecursionError


@dataclass(slots=True)
class YamlDoc:
    path: Path
    data: Any
    _keys: dict[DataPath, Position] | None = None
    _values: dict[DataPath, Position] | None = None
    text: str | None = None            # kept until positions are needed

    @property
    def key_positions(self) -> dict[DataPath, Position]:
        self._locate_all()
        assert self._keys is not None, "_locate_all() fills it"
        return self._keys

    @property
    def value_positions(self) -> dict[DataPath, Position]:
        self._locate_all()
        assert self._values is not None, "_locate_all() fills it"
        return self._values

    def _locate_all(self) -> None:
        if self._keys is not None:
            return
        self._keys, self._values = {}, {(): Position(1, 1)}
        if self.text is not None:
            raw = YAML(typ="rt").load(self.text)       # already known to be valid YAML
            _plain(raw, (), self, _Counter())
            self.text = None

    def position(self, loc: DataPath, *, key: bool = False) -> Position:
        """Position of the value (or key) at ``loc``, else of its nearest located ancestor."""
        table = self.key_positions if key else self.value_positions
        loc = tuple(loc)
        while loc:
            if loc in table:
                return table[loc]
            if loc in self.value_positions:
                return self.value_positions[loc]
            loc = loc[:-1]
        return self.value_positions.get((), Position(1, 1))


def _pos(line0: int, col0: int) -> Position:
    return Position(line0 + 1, col0 + 1)


def _check_tags(node: Node, path: Path, diags: Diagnostics, seen: set[int]) -> bool:
    if id(node) in seen:
        return True
    seen.add(id(node))
    ok = True
    tag = getattr(node, "tag", None)
    tag_value = getattr(tag, "value", tag)  # ruamel >= 0.18 wraps tags in a Tag object
    if tag_value and tag_value not in _STANDARD_TAGS:
        diags.add(path, _pos(node.start_mark.line, node.start_mark.column), "KX005",
                  f"tag {tag_value!r} is not allowed: write plain data")
        ok = False
    if isinstance(node, MappingNode):
        for k, v in node.value:
            ok = _check_tags(k, path, diags, seen) and ok
            ok = _check_tags(v, path, diags, seen) and ok
    elif isinstance(node, SequenceNode):
        for v in node.value:
            ok = _check_tags(v, path, diags, seen) and ok
    return ok


class _Counter:
    def __init__(self) -> None:
        self.n = 0


def _plain(obj: Any, loc: DataPath, doc: YamlDoc, counter: _Counter) -> Any:
    counter.n += 1
    if counter.n > MAX_NODES:
        raise OverflowError
    if isinstance(obj, CommentedMap):
        out: dict[Any, Any] = {}
        for key in obj:
            child = loc + (key,)
            try:
                kl, kc = obj.lc.key(key)
                doc._keys[child] = _pos(kl, kc)
                vl, vc = obj.lc.value(key)
                doc._values[child] = _pos(vl, vc)
            except (KeyError, TypeError):  # merged keys (<<) carry no own position
                pass
            out[key] = _plain(obj[key], child, doc, counter)
        return out
    if isinstance(obj, CommentedSeq):
        items = []
        for i, item in enumerate(obj):
            child = loc + (i,)
            try:
                il, ic = obj.lc.item(i)
                doc._values[child] = _pos(il, ic)
                doc._keys[child] = _pos(il, ic)
            except (KeyError, TypeError):
                pass
            items.append(_plain(item, child, doc, counter))
        return items
    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, bool) or obj is None:
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    if isinstance(obj, dt.datetime):
        return obj
    if isinstance(obj, dt.date):
        return dt.date(obj.year, obj.month, obj.day)
    return obj


_FAILED = object()


def _fast_load(text: str) -> Any:
    """Plain data from the safe (C) loader, or _FAILED when anything is off (then the round-trip
    pass reports it with its position): syntax, duplicate keys, tags, odd scalars, alias bombs."""
    try:
        data = YAML(typ="safe", pure=False).load(text)
    except Exception:  # noqa: BLE001 - any failure is re-diagnosed by the slow, precise path
        return _FAILED
    return data if _small_enough(data) else _FAILED


def _small_enough(data: Any) -> bool:
    stack, seen = [(data, 0)], 0
    while stack:
        obj, depth = stack.pop()
        seen += 1
        if seen > MAX_NODES or depth > MAX_DEPTH:
            return False
        if isinstance(obj, dict):
            stack.extend((v, depth + 1) for v in obj.values())
        elif isinstance(obj, list):
            stack.extend((v, depth + 1) for v in obj)
        elif isinstance(obj, dt.datetime) or not isinstance(obj, (str, int, float, bool, dt.date, type(None))):
            return False          # timestamps with times, binary, …: let the slow path decide
    return True


def load_yaml(path: Path, diags: Diagnostics) -> YamlDoc | None:
    """Load one YAML file; on any problem add a located diagnostic and return None."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        diags.add(path, None, "KX001", "file not found")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        diags.add(path, None, "KX001", f"cannot read file: {exc}")
        return None

    if _too_deep(path, text, diags):     # first: the C composer recurses per level (segfaults)
        return None
    fast = _fast_load(text)
    if fast is not _FAILED:
        return YamlDoc(path=path, data=fast, text=text)

    try:
        return _load_slow(path, text, diags)
    except RecursionError:      # a backstop: _too_deep should have caught any deep document
        diags.add(path, None, "KX002", f"document nests too deeply to be read (more than {MAX_DEPTH} levels?)")
        return None


def _too_deep(path: Path, text: str, diags: Diagnostics) -> bool:
    """Report a document nested deeper than MAX_DEPTH at the first collection that is. The event
    stream is flat (the parser is a state machine, no recursion), so this is safe at any depth;
    it costs about a quarter of a fast load."""
    depth = 0
    try:
        for event in YAML(typ="safe", pure=False).parse(text):
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    diags.add(path, _pos(mark.line, mark.column), "KX002",
                              f"nested more than {MAX_DEPTH} levels deep (a config needs a few)")
                    return True
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    except Exception:  # noqa: BLE001 - syntax errors are reported by the precise path
        return False
    return False


def _load_slow(path: Path, text: str, diags: Diagnostics) -> YamlDoc | None:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        node = yaml.compose(text)
    except MarkedYAMLError as exc:
        _syntax_error(path, exc, diags)
        return None
    except YAMLError as exc:
        diags.add(path, None, "KX002", str(exc).splitlines()[0])
        return None
    if node is not None and not _check_tags(node, path, diags, set()):
        return None

    try:
        # construct from the node tree already composed (parsing twice doubled validate's time)
        raw = yaml.constructor.construct_document(node) if node is not None else None
    except MarkedYAMLError as exc:
        _syntax_error(path, exc, diags)
        return None
    except YAMLError as exc:
        diags.add(path, None, "KX002", str(exc).splitlines()[0])
        return None
    except (ValueError, TypeError, ArithmeticError) as exc:   # e.g. the date 2024-13-01
        bad = _unconstructable_scalar(node)
        pos = _pos(bad.start_mark.line, bad.start_mark.column) if bad is not None else None
        value = f" {bad.value!r}" if bad is not None else ""
        diags.add(path, pos, "KX103", f"value{value} cannot be read: {exc}")
        return None

    doc = YamlDoc(path=path, data=None, _keys={}, _values={(): Position(1, 1)})
    try:
        doc.data = _plain(raw, (), doc, _Counter())
    except OverflowError:
        diags.add(path, None, "KX002", f"document expands to more than {MAX_NODES} nodes (alias bomb?)")
        return None
    return doc


def _unconstructable_scalar(root: Node) -> ScalarNode | None:
    """The first scalar whose value its resolved type rejects (found after construction failed)."""
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            try:
                YAML(typ="rt").constructor.construct_object(node, deep=True)
            except Exception:  # noqa: BLE001 - any failure marks the culprit
                return node
        elif isinstance(node, MappingNode):
            for k, v in reversed(node.value):
                stack.extend((v, k))
        elif isinstance(node, SequenceNode):
            stack.extend(reversed(node.value))
    return None


def _syntax_error(path: Path, exc: MarkedYAMLError, diags: Diagnostics) -> None:
    mark = exc.problem_mark or exc.context_mark
    pos = _pos(mark.line, mark.column) if mark else None
    problem = (exc.problem or exc.context or "syntax error").strip()
    name = type(exc).__name__
    if "DuplicateKey" in name or "duplicate key" in problem:
        diags.add(path, pos, "KX003", problem.replace("\n", " "))
    elif "'\\t'" in problem or "\\t" in problem or "tab" in problem.lower():
        diags.add(path, pos, "KX004", "tab character where YAML needs spaces for indentation")
    else:
        context = f" ({exc.context.strip()})" if exc.context and exc.problem else ""
        diags.add(path, pos, "KX002", f"{problem}{context}".replace("\n", " "))
