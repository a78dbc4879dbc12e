"""``python -m tests.report.screenshot REPORT.html OUT.png``: the full page in headless Chromium
(how docs/report.png is made)."""
from __future__ import annotations

import sys
from pathlib import Path

from ..browser import CHROMIUM, chromium


def main(argv: list[str]) -> int:
    if CHROMIUM is None:
        print("no chromium on PATH", file=sys.stderr)
        return 2
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(Path(argv[0]).resolve().as_uri(), wait_until="load")
        page.screenshot(path=argv[1], full_page=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
