"""A viewer of the ops view for the benchmarks: reads the live stream until it ends and counts
the snapshots. ``python bench/_viewer.py PORT`` (the secret in ``KXRULES_OPS_SECRET``) runs it as
its own process, as a browser would be; it waits for the view to listen and prints the count."""
from __future__ import annotations

import http.client
import os
import sys
import time


def watch(port: int, secret: str, seen: list[int], *, connect_for_s: float = 60.0) -> None:
    deadline = time.monotonic() + connect_for_s
    while True:
        try:
            con = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            con.request("GET", "/api/stream", headers={"X-KX-Ops": secret})
            break
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    for line in con.getresponse():
        if line.startswith(b"data: "):
            seen[0] += 1


if __name__ == "__main__":
    count = [0]
    watch(int(sys.argv[1]), os.environ["KXRULES_OPS_SECRET"], count)
    print(count[0])
