"""The Helm chart passes Helm's own lint, and that lint catches a broken chart.

scripts/helm_lint.py needs Python 3.12 and helm-sdkpy, so it runs in
.venv-helm, not in this interpreter; the fixture creates that venv if needed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests import helm_tools
from tests.helm_tools import CHART, REPO

LINT_SCRIPT = REPO / "scripts" / "helm_lint.py"


@pytest.fixture(scope="session")
def helm_python() -> Path:
    """The .venv-helm interpreter, with helm-sdkpy (Helm's Go library) installed."""
    return helm_tools.helm_python()


def run_lint(helm_python: Path, chart: Path = CHART) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm_python, LINT_SCRIPT, chart], capture_output=True, text=True, timeout=120)


@pytest.fixture
def chart_copy(tmp_path: Path) -> Path:
    """A throwaway copy of the chart to break."""
    return Path(shutil.copytree(CHART, tmp_path / "tend"))


def test_chart_lints_clean_with_its_defaults_and_every_ci_scenario(helm_python: Path) -> None:
    result = run_lint(helm_python)

    assert result.returncode == 0, result.stdout + result.stderr
    scenarios = sorted(CHART.glob("ci/*-values.yaml"))
    assert len(scenarios) >= 2
    for scenario in scenarios:
        assert f"ok    ci/{scenario.name}" in result.stdout


@pytest.mark.parametrize(
    ("template", "before", "after"),
    [
        # A template that no longer parses.
        ("web/service.yaml", "{{ .Values.web.service.type }}", "{{ .Values.web.service.type }"),
        # A template that renders something that is not YAML.
        ("web/service.yaml", "\nspec:\n", "\nspec: [\n"),
    ],
    ids=["template-syntax", "rendered-yaml"],
)
def test_lint_fails_on_a_corrupted_template(
    helm_python: Path, chart_copy: Path, template: str, before: str, after: str
) -> None:
    path = chart_copy / "templates" / template
    text = path.read_text()
    assert before in text
    path.write_text(text.replace(before, after, 1))

    result = run_lint(helm_python, chart_copy)

    assert result.returncode == 1, result.stdout
    assert "FAIL  chart defaults" in result.stdout


def test_lint_fails_on_a_scenario_value_the_schema_rejects(helm_python: Path, chart_copy: Path) -> None:
    scenario = chart_copy / "ci" / "default-values.yaml"
    scenario.write_text(scenario.read_text() + "webb:\n  replicaCount: 3\n")

    result = run_lint(helm_python, chart_copy)

    assert result.returncode == 1, result.stdout
    assert "FAIL  ci/default-values.yaml" in result.stdout
    assert "ok    ci/existing-secret-values.yaml" in result.stdout


def test_lint_fails_when_a_scenario_lacks_a_required_value(helm_python: Path, chart_copy: Path) -> None:
    scenario = chart_copy / "ci" / "default-values.yaml"
    lines = scenario.read_text().splitlines(keepends=True)
    scenario.write_text("".join(line for line in lines if "databaseUrl" not in line))

    result = run_lint(helm_python, chart_copy)

    assert result.returncode == 1, result.stdout
    assert "FAIL  ci/default-values.yaml" in result.stdout
    assert "secrets.databaseUrl is required" in result.stdout
