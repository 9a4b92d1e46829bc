"""The house rules, checked by the suite: layers import in one direction, and no caller branches on the subject type."""

import ast
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


def imported_modules(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, module) for every import in the tree, inside functions too; relative imports are not used here."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def test_tests_import_no_conftest_no_test_module_and_nothing_of_bench():
    """Builders live in tests/builders.py (and folder helpers); fixtures come from conftest by pytest, not by import."""
    forbidden = re.compile(r"^bench(\.|$)|(^|\.)(conftest|test_\w+)$")
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if "vendor" not in path.parts
        for line, module in imported_modules(ast.parse(path.read_text(), filename=str(path)))
        if forbidden.search(module)
    ]
    assert offenders == []
