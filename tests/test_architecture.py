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


def test_no_code_compares_subject_kinds_outside_the_models():
    """Rituals and promises differ only through the Subject interface (service/domain/models.py): nothing that
    handles the models (domain, web, entry points, workers) compares a kind (`kind == "promise"`,
    `SubjectKind.RITUAL !=`, `== Ritual.kind`, `key.startswith("ritual")`), asks which id is set, or even names
    one kind (`SubjectKind.PROMISE`, `Ritual.kind`): a kind comes from the subject (`subject.kind`), the rest
    from the interface (`expects`, `involves`, `involved()`, `people_loaded()`, `start_field`). The pure
    renderers (service/core's SMS texts, calendars' VEVENTs) take the kind as data and word it; they hold no rule."""
    comparison = re.compile(
        r"\bkind\s*[!=]=\s*([\"'](ritual|promise)s?[\"']|SubjectKind\.|(Ritual|Promise)\.kind\b)"
        r"|(SubjectKind\.\w+|[\"'](ritual|promise)s?[\"']|(Ritual|Promise)\.kind)\s*[!=]=\s*\w*kind\b"
        r"|\b(ritual|promise)_id\s+is\s+(not\s+)?None"
        r"|\bSubjectKind\.(RITUAL|PROMISE)\b|\b(Ritual|Promise)\.kind\b|startswith\(\s*(SubjectKind\.|[\"'](ritual|promise))"
    )
    offenders = [
        place
        for place, line in lines_of(("service", "workers"), skip={"service/domain/models.py"})
        if comparison.search(line) and not place.startswith("service/core/")
    ]
    assert offenders == []


def lines_of(packages=("service", "workers", "calendars"), skip=()):
    """(place, line) of every source line of the packages, but migrations and the files in `skip`."""
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            if "migrations" in path.parts or relative in skip:
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                yield f"{relative}:{number}", line


def test_only_the_outbox_moves_an_sms_between_states():
    """Every OutboundSms state transition is a function of service/domain/outbox.py."""
    writes = re.compile(r"\.state\s*(,[^=\n]*)?=[^=]|\bstate=SmsState\.|\.values\(.*\bstate=")
    assert [place for place, line in lines_of(skip={"service/domain/outbox.py"}) if writes.search(line)] == []


def test_sms_states_are_named_by_smsstate_not_spelled():
    """Outside the model (its check constraint and partial indexes), a state is `SmsState.X`, never a string."""
    literal = re.compile(
        r"[\"'](queued|sending|undelivered|cancelled)[\"'](?!\s*:)|\bstate\W{1,8}[\"'](sent|delivered|failed)[\"']"
    )
    assert [place for place, line in lines_of(skip={"service/domain/models.py"}) if literal.search(line)] == []


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
