"""Zones compiled from tz source text with zic, the tz database's own compiler (Debian's libc-bin).

Tests use them as modified copies of real zones: what a government's rule
change would look like in the next tzdata release.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ZIC = shutil.which("zic") or "/usr/sbin/zic"


def compile_zone(name: str, source: str) -> bytes:
    """The TZif data zic writes for zone ``name`` defined in ``source`` (Rule and Zone lines)."""
    if not os.access(ZIC, os.X_OK):
        if os.environ.get("CI"):
            raise RuntimeError("zic is missing (Debian: libc-bin)")
        pytest.skip("zic (Debian's libc-bin) is not installed")
    with tempfile.TemporaryDirectory() as directory:
        source_file = Path(directory, "zone.tz")
        source_file.write_text(source)
        subprocess.run([ZIC, "-d", directory, str(source_file)], check=True, capture_output=True)
        return Path(directory, name).read_bytes()
