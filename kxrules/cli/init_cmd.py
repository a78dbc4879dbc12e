"""`kxrules init DIR`: write a complete, valid workspace to start from."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from .common import fail


def init(
    directory: Annotated[Path, typer.Argument(help="Where to write the workspace (created if missing).")],
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty directory, replacing shipped files.")] = False,
) -> None:
    """Write the shipped workspace (rules/, sessions/, config/, reports/) into DIRECTORY."""
    from ..config.workspace import WORKSPACE_DIRS, bundled_workspace

    src = bundled_workspace()
    target = directory.resolve()
    if target.exists() and any(target.iterdir()) and not force:
        fail(f"{target} is not empty (use --force to write into it anyway)")
    for sub in WORKSPACE_DIRS:
        if not (src / sub).is_dir():
            fail(f"the installed package has no {sub}/ to copy from ({src})")
    target.mkdir(parents=True, exist_ok=True)
    for sub in WORKSPACE_DIRS:
        shutil.copytree(src / sub, target / sub, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    typer.echo(f"wrote a kxrules workspace to {target}")
    typer.echo(f"next: cd {target} && kxrules validate --profile pilot")
