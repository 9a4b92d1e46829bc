"""The image's HEALTHCHECK: web must answer GET /healthz; worker and clock have no port.

Docker and podman run this inside the container while its main process (`tend ...`,
PID 1) is up, so for the commands without a port being run at all is the check.
Kubernetes ignores HEALTHCHECK: the chart's liveness and readiness probes apply there.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path

SERVES_HTTP = {"web", "up"}


def main_command() -> list[str]:
    try:
        raw = Path("/proc/1/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def main() -> int:
    if not SERVES_HTTP.intersection(main_command()):
        return 0
    url = f"http://127.0.0.1:{os.environ.get('TEND_PORT', '8000')}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"{url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
