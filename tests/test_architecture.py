"""The house rules, checked by the suite: layers import in one direction, and no caller branches on the subject type."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_the_import_contracts_hold():
    result = subprocess.run([str(LINT_IMPORTS)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_no_code_branches_on_ritual_or_promise_outside_the_subject_interface():
    branching = re.compile(r"isinstance\([^)]*,\s*\(?\s*(Ritual|Promise)\b")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in ("service", "workers", "calendars")
        for path in (ROOT / package).rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if branching.search(line)
    ]
    assert offenders == []
