"""Diagnostics: every problem found in a workspace, located at ``file:line:col``.

The codes are a public contract (CI scripts match on them, docs/guide.md documents each one), so
they live in one registry here and a test checks that the guide lists all of them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Iterable


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    severity: Severity
    title: str


def _registry(*codes: Code) -> dict[str, Code]:
    return {c.code: c for c in codes}


E, W = Severity.ERROR, Severity.WARNING

CODES: dict[str, Code] = _registry(
    # Files and YAML syntax
    Code("KX001", E, "file cannot be read or is missing"),
    Code("KX002", E, "YAML syntax error (or nested more than 64 levels deep)"),
    Code("KX003", E, "duplicate key in a mapping"),
    Code("KX004", E, "tab character used for indentation"),
    Code("KX005", E, "non-standard YAML tag (e.g. !!python/object): only plain data is accepted"),
    Code("KX006", E, "CSV file malformed (header, column count or encoding)"),
    # Schema
    Code("KX101", E, "unknown key"),
    Code("KX102", E, "required key missing"),
    Code("KX103", E, "wrong type or unparsable value"),
    Code("KX104", E, "value out of range or not allowed"),
    # Profiles and composition
    Code("KX201", E, "profile not found"),
    Code("KX202", E, "profile `extends` cycle"),
    Code("KX203", E, "referenced file does not exist"),
    # Sessions and calendar
    Code("KX301", E, "overlap guard lies outside a venue's continuous session"),
    Code("KX302", E, "session times out of order or overlapping"),
    Code("KX303", E, "FID 215 code map incomplete or names an unknown venue"),
    Code("KX304", W, "run date is not a trading day in the holiday calendar"),
    Code("KX305", E, "holiday calendar does not cover the run date's year"),
    # Throttle
    Code("KX401", E, "throttle reserve must be smaller than the window capacity"),
    Code("KX402", E, "min free tokens must cover both legs plus the reserve"),
    Code("KX403", E, "budget exceeds Kiwoom's limit of 5 calls per second"),
    Code("KX404", W, "auto-pause disabled or threshold above 100%"),
    # Screens and venues
    Code("KX501", E, "screen number invalid (4 digits, not 0000)"),
    Code("KX502", E, "screen number used twice"),
    Code("KX503", E, "too many codes for the screens (at most 100 per screen)"),
    Code("KX504", E, "more than 200 screens"),
    Code("KX505", E, "venue mapping incomplete (order type or hoga code missing)"),
    # Universe and overrides
    Code("KX601", E, "stock code is not 6 characters of digits/uppercase letters"),
    Code("KX602", E, "stock code listed twice"),
    Code("KX603", E, "listing market unknown: the transaction tax cannot be chosen"),
    Code("KX604", W, "per-symbol override names a symbol not in the universe (ignored)"),
    Code("KX605", E, "per-symbol override names an unknown parameter"),
    Code("KX606", E, "reference price is not on the tick grid or not positive"),
    Code("KX607", W, "universe is empty"),
    Code("KX608", E, "universe name is not on NXT's list of eligible stocks on the run date"),
    Code("KX609", W, "universe name is not on NXT's shipped eligibility list, which ends before the run date"),
    # Fees and tax
    Code("KX701", E, "fee table does not cover the run date for a venue and side"),
    Code("KX702", E, "tax table does not cover the run date for a listing market"),
    Code("KX703", E, "fee or tax periods overlap"),
    Code("KX704", E, "rate has more precision than 1e-10 or is negative"),
    # Rules
    Code("KX801", E, "rule expression does not parse"),
    Code("KX802", E, "rule expression uses an unknown name"),
    Code("KX803", E, "rule expression uses a forbidden construct"),
    Code("KX804", E, "rule expression does not yield a boolean"),
    Code("KX805", W, "rule admits an edge that loses money after costs at the reference price"),
    Code("KX806", W, "rule never admits a trade at the reference price (within 50 ticks)"),
    # Pair machine
    Code("KX901", E, "state machine: unknown state in a transition or timer"),
    Code("KX902", E, "state machine: state not reachable from the initial state"),
    Code("KX903", E, "state machine: non-final state has no way out on an event"),
    Code("KX904", E, "state machine: non-final state has no timer"),
    Code("KX905", E, "state machine: a path cannot reach a flat final state"),
    Code("KX906", E, "state machine: unknown action or condition (not in the registry)"),
    Code("KX907", E, "state machine: first leg must be a buy when the profile holds no inventory"),
    Code("KX908", E, "state machine: a final state may be reached with an open position"),
    Code("KX909", E, "state machine: timer names an unknown parameter"),
    # Secrets and risk
    Code("KX951", E, "literal URL or secret where an environment variable name belongs"),
    Code("KX952", W, "environment variable named for a secret is not set"),
    Code("KX953", E, "risk caps inconsistent"),
    Code("KX961", E, "sweep: varies an unknown parameter"),
    Code("KX962", E, "sweep: the days match no file"),
    Code("KX963", E, "sweep: the search space is inconsistent (grid and search together, low above high, ...)"),
)


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """1-based line and column in a file; (0, 0) means 'the whole file'."""

    line: int = 0
    col: int = 0


@dataclass(frozen=True, slots=True)
class Diagnostic:
    path: str
    position: Position
    code: str
    message: str
    severity: Severity = field(default=Severity.ERROR)

    def sort_key(self) -> tuple:
        return (self.path, self.position.line, self.position.col, self.code, self.message)

    def format(self) -> str:
        return (
            f"{self.path}:{self.position.line}:{self.position.col}: "
            f"{self.severity.value} {self.code} {self.message}"
        )

    def as_json(self) -> dict:
        return {
            "path": self.path,
            "line": self.position.line,
            "col": self.position.col,
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
        }


class Diagnostics:
    """Collects diagnostics with paths made relative to the workspace root."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self._items: list[Diagnostic] = []

    def rel(self, path: Path | str) -> str:
        p = Path(path)
        try:
            return p.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return p.as_posix()

    def add(self, path: Path | str, pos: Position | None, code: str, message: str) -> None:
        spec = CODES[code]
        self._items.append(
            Diagnostic(self.rel(path), pos or Position(), code, message, spec.severity)
        )

    def extend(self, items: Iterable[Diagnostic]) -> None:
        self._items.extend(items)

    @property
    def items(self) -> list[Diagnostic]:
        return sorted(set(self._items), key=Diagnostic.sort_key)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.WARNING]

    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self._items)

    def to_json(self) -> str:
        return json.dumps(
            {
                "errors": len(self.errors),
                "warnings": len(self.warnings),
                "diagnostics": [d.as_json() for d in self.items],
            },
            ensure_ascii=False,
            indent=2,
        )


class ConfigError(Exception):
    """Raised when a workspace cannot be compiled; carries the diagnostics that explain why."""

    def __init__(self, diagnostics: Diagnostics):
        self.diagnostics = diagnostics
        first = diagnostics.errors[0].format() if diagnostics.errors else "configuration error"
        super().__init__(first)
