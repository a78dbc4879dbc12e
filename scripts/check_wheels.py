#!/usr/bin/env python3
"""Can each install target be installed where it must run, from binary wheels only?

- gateway: the 32-bit OpenAPI+ control's process (CPython 3.11, win32): the base dependencies
  plus the [gateway] extra; duckdb, pyarrow and numba must NOT be among them.
- engine: the engine on 64-bit Windows (CPython 3.11, win_amd64): base plus [engine].

pip resolves each set with ``pip install --dry-run --report --only-binary=:all: --platform ...``.
pip evaluates environment markers against the interpreter running it, not the target, so this
script evaluates every marker itself (the target's environment below) and passes pip plain
requirements; the dependencies pip resolves are then re-checked the same way, and any that only
the target needs (``colorama; platform_system == 'Windows'``, say) are resolved in a further pass.

Exit 0: every target resolved (what resolved is printed). Exit 1: a target did not resolve (the
package without a wheel is named). Exit 0 with "SKIP: ..." when the package index is unreachable.
No pip configuration applies (PIP_CONFIG_FILE=/dev/null): the answer is the public index's.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

try:
    from packaging.markers import default_environment
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
except ImportError:     # pip always carries a copy
    from pip._vendor.packaging.markers import default_environment
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INDEX = "https://pypi.org/simple"
MAX_PASSES = 4


@dataclass(frozen=True)
class Target:
    name: str
    platform: str               # a wheel platform tag
    extras: tuple[str, ...]
    machine: str                # platform_machine as a Python there reports it
    forbidden: tuple[str, ...] = ()
    python: str = "3.11"

    def environment(self, extra: str = "") -> dict[str, str]:
        env = default_environment()
        env.update(sys_platform="win32", platform_system="Windows", os_name="nt",
                   platform_machine=self.machine, implementation_name="cpython",
                   platform_python_implementation="CPython", python_version=self.python,
                   python_full_version=self.python + ".0", implementation_version=self.python + ".0",
                   platform_release="10", platform_version="10.0.19045", extra=extra)
        return env


TARGETS = (
    # a 32-bit Python on 64-bit Windows still reports the OS's AMD64 (pypa/interoperability-peps#74)
    Target("gateway", "win32", ("gateway",), "AMD64", forbidden=("duckdb", "pyarrow", "numba")),
    Target("engine", "win_amd64", ("engine",), "AMD64"),
)


def project_requirements(pyproject: Path, target: Target) -> list[Requirement]:
    """The target's direct requirements, markers evaluated for the target; self-references to
    other extras (``kxrules[gateway]``) are followed."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    own = canonicalize_name(project["name"])
    extras_of = project.get("optional-dependencies", {})
    wanted: list[tuple[str, str]] = [("", r) for r in project.get("dependencies", [])]
    seen_extras: set[str] = set()
    todo = list(target.extras)
    while todo:
        extra = todo.pop()
        if extra in seen_extras:
            continue
        seen_extras.add(extra)
        wanted += [(extra, r) for r in extras_of.get(extra, [])]
    out: list[Requirement] = []
    for extra, text in wanted:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate(target.environment(extra)):
            continue
        if canonicalize_name(req.name) == own:
            todo = [e for e in req.extras if e not in seen_extras]
            if todo:
                sub = Target(target.name, target.platform, tuple(todo), target.machine)
                out += project_requirements(pyproject, sub)
            continue
        req.marker = None
        out.append(req)
    return out


def index_reachable(index: str, timeout: float = 8.0) -> str | None:
    """None when the index answers; otherwise why not."""
    if index.startswith("file:"):
        return None
    try:
        with urllib.request.urlopen(index.rstrip("/") + "/pip/", timeout=timeout) as resp:
            resp.read(64)
        return None
    except (urllib.error.URLError, OSError) as exc:
        return f"{index} unreachable ({getattr(exc, 'reason', exc)})"


_NO_MATCH = re.compile(r"(?:No matching distribution found for|"
                       r"Could not find a version that satisfies the requirement) ([^\s(]+)")


def pip_resolve(reqs: list[str], target: Target, index: str, workdir: Path) -> tuple[list[dict], str | None]:
    """(the report's install items, None) or ([], what failed)."""
    report = workdir / f"{target.name}.json"
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
           "--disable-pip-version-check", "--no-input", "--report", str(report),
           "--only-binary=:all:", "--platform", target.platform, "--python-version", target.python,
           "--implementation", "cp", "--target", str(workdir / "target"), "--index-url", index, *reqs]
    env = dict(os.environ, PIP_CONFIG_FILE=os.devnull)
    for key in ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONSTRAINT", "PIP_INDEX_URL", "PIP_NO_INDEX"):
        env.pop(key, None)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        missing = _NO_MATCH.findall(proc.stderr)
        if missing:
            return [], f"no {target.platform} wheel for {missing[-1]}"
        tail = " ".join(proc.stderr.strip().splitlines()[-3:])
        return [], f"pip could not resolve: {tail or proc.returncode}"
    return json.loads(report.read_text(encoding="utf-8"))["install"], None


def unmet_for_target(items: list[dict], target: Target) -> list[str]:
    """Dependencies of the resolved packages that the target needs but pip (evaluating markers
    for this machine) left out."""
    have = {canonicalize_name(i["metadata"]["name"]) for i in items}
    unmet: list[str] = []
    for item in items:
        extras = item.get("requested_extras") or [""]
        for text in item["metadata"].get("requires_dist") or []:
            req = Requirement(text)
            if canonicalize_name(req.name) in have:
                continue
            if req.marker is None or any(req.marker.evaluate(target.environment(e)) for e in extras):
                if req.marker is not None and "extra" in str(req.marker) and extras == [""]:
                    continue            # a dependency of an extra nobody asked for
                req.marker = None
                unmet.append(str(req))
    return sorted(set(unmet))


def check_target(target: Target, index: str, workdir: Path,
                 pyproject: Path = ROOT / "pyproject.toml") -> tuple[list[dict], str | None]:
    reqs = [str(r) for r in project_requirements(pyproject, target)]
    items: list[dict] = []
    for _ in range(MAX_PASSES):
        items, problem = pip_resolve(reqs, target, index, workdir)
        if problem:
            return items, problem
        more = unmet_for_target(items, target)
        if not more:
            break
        reqs += more
    names = {canonicalize_name(i["metadata"]["name"]) for i in items}
    pulled = sorted(names & set(target.forbidden))
    if pulled:
        return items, f"the {target.name} set pulls {', '.join(pulled)}, which must stay out of it"
    return items, None


def wheel_name(item: dict) -> str:
    return item["download_info"]["url"].rsplit("/", 1)[-1].split("#", 1)[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index-url", default=os.environ.get("KXRULES_CHECK_INDEX", DEFAULT_INDEX))
    ap.add_argument("--target", choices=[t.name for t in TARGETS], action="append",
                    help="check only this target (repeatable); default: all")
    ap.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml")
    args = ap.parse_args(argv)
    why = index_reachable(args.index_url)
    if why:
        print(f"SKIP: {why}; the wheel check needs the package index")
        return 0
    failed = False
    with tempfile.TemporaryDirectory(prefix="kx-wheels-") as tmp:
        for target in TARGETS:
            if args.target and target.name not in args.target:
                continue
            items, problem = check_target(target, args.index_url, Path(tmp), args.pyproject)
            head = f"{target.name} (cp{target.python.replace('.', '')}, {target.platform})"
            if problem:
                failed = True
                print(f"FAIL {head}: {problem}")
                continue
            print(f"OK   {head}: {len(items)} packages, binary wheels only")
            for item in sorted(items, key=lambda i: canonicalize_name(i["metadata"]["name"])):
                print(f"     {item['metadata']['name']}=={item['metadata']['version']}  {wheel_name(item)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
