"""Lint the Tend Helm chart with Helm's own Go library, as `helm lint --strict` would.

Run it with the interpreter of .venv-helm (Python 3.12 with helm-sdkpy, which
bundles Helm's library; there is no helm binary here):

    .venv-helm/bin/python scripts/helm_lint.py [CHART_DIR]

It lints the chart with its own defaults, then once per ci/*-values.yaml
scenario, and exits 1 if Helm reports any warning or error. helm-sdkpy's Lint
takes neither values files nor --strict, and hands back each finding's severity
and path without its text, so:

- a scenario is linted the way Helm lints a parent chart: the chart is copied
  under charts/ of a throwaway parent whose values.yaml nests the scenario under
  the chart's name; Helm merges it over the defaults, validates the result
  against values.schema.json and renders every template with it. (Helm's
  per-file checks of rendered YAML, such as object names, only run on the
  chart's own defaults: Helm applies them to a parent's templates alone);
- a warning fails the run, as with --strict;
- Helm's log is captured, since that is where `required` and `fail` speak in
  lint mode: any line of it fails a scenario (a scenario must be installable),
  while the defaults are expected to lack the required values.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import helm_sdkpy

CHART_NAME = "tend"
DEFAULT_CHART_DIR = Path(__file__).resolve().parent.parent / "helm" / CHART_NAME
SCENARIO_GLOB = "ci/*-values.yaml"
SEVERITY_NAMES = {0: "UNKNOWN", 1: "INFO", 2: "WARNING", 3: "ERROR"}
HARMLESS_SEVERITIES = {"INFO"}  # with --strict, Helm fails on everything else
GO_LOG_TIMESTAMP = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} ")


@dataclass
class LintOutcome:
    """What Helm said about one lint target (the defaults, or one scenario)."""

    target: str
    findings: list[tuple[str, str]] = field(default_factory=list)  # (severity, path)
    helm_log: list[str] = field(default_factory=list)
    log_is_failure: bool = True
    error: str = ""

    @property
    def failed(self) -> bool:
        serious = any(severity not in HARMLESS_SEVERITIES for severity, _ in self.findings)
        return bool(self.error) or serious or (self.log_is_failure and bool(self.helm_log))


@contextmanager
def captured_helm_log() -> Iterator[list[str]]:
    """Collect what Helm's Go logger writes to file descriptor 2 (no Python hook reaches it)."""
    lines: list[str] = []
    sys.stderr.flush()
    saved_fd = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            sink.seek(0)
            text = sink.read().decode("utf-8", errors="replace")
            # Each `required` fires once per template that includes it: keep one of each.
            stripped = (GO_LOG_TIMESTAMP.sub("", line) for line in text.splitlines())
            lines.extend(dict.fromkeys(line for line in stripped if line.strip()))


def lint(chart_dir: Path, target: str, *, log_is_failure: bool) -> LintOutcome:
    """Run Helm's lint action on one chart directory."""
    outcome = LintOutcome(target=target, log_is_failure=log_is_failure)
    with captured_helm_log() as helm_log:
        try:
            result = asyncio.run(helm_sdkpy.Lint(helm_sdkpy.Configuration()).run(str(chart_dir)))
        except helm_sdkpy.HelmError as error:
            outcome.error = str(error)
            result = {}
    outcome.helm_log = helm_log
    outcome.findings = [
        (SEVERITY_NAMES.get(message["Severity"], "UNKNOWN"), message["Path"])
        for message in result.get("Messages") or []
    ]
    return outcome


def scenario_parent_chart(chart_dir: Path, values_file: Path, workdir: Path) -> Path:
    """Build a parent chart that feeds `values_file` to the chart, as `helm lint -f` would."""
    parent = workdir / f"{CHART_NAME}-{values_file.stem}"
    shutil.copytree(chart_dir, parent / "charts" / CHART_NAME)
    # Without a templates/ directory Helm skips rendering altogether.
    (parent / "templates").mkdir()
    (parent / "Chart.yaml").write_text(
        f"apiVersion: v2\nname: {parent.name}\nversion: 0.0.0\ndependencies:\n  - name: {CHART_NAME}\n"
    )
    # Nesting by indentation keeps the scenario's own YAML; Helm does the merging.
    nested = textwrap.indent(values_file.read_text(), "  ")
    (parent / "values.yaml").write_text(f"{CHART_NAME}:\n{nested}")
    return parent


def lint_chart(chart_dir: Path) -> list[LintOutcome]:
    """Lint the defaults, then every scenario of `chart_dir`."""
    outcomes = [lint(chart_dir, "chart defaults", log_is_failure=False)]
    scenarios = sorted(chart_dir.glob(SCENARIO_GLOB))
    if not scenarios:
        nothing = LintOutcome(target=SCENARIO_GLOB, error="no scenario: nothing linted with values")
        outcomes.append(nothing)
    with tempfile.TemporaryDirectory(prefix="helm-lint-") as workdir:
        for values_file in scenarios:
            parent = scenario_parent_chart(chart_dir, values_file, Path(workdir))
            target = str(values_file.relative_to(chart_dir))
            outcomes.append(lint(parent, target, log_is_failure=True))
    return outcomes


def report(outcome: LintOutcome) -> str:
    """Human-readable lines for one outcome."""
    lines = [f"{'FAIL' if outcome.failed else 'ok  '}  {outcome.target}"]
    if outcome.error:
        lines.append(f"      error: {outcome.error}")
    lines += [f"      {severity:<7} {path}" for severity, path in outcome.findings]
    log_label = "helm log" if outcome.log_is_failure else "helm log (expected, not a failure)"
    lines += [f"      {log_label}: {line}" for line in outcome.helm_log]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Lint the Tend chart with Helm's own library.")
    parser.add_argument("chart_dir", nargs="?", type=Path, default=DEFAULT_CHART_DIR)
    chart_dir = parser.parse_args(argv).chart_dir.resolve()

    outcomes = lint_chart(chart_dir)
    print(f"helm lint of {chart_dir} (helm-sdkpy {version('helm-sdkpy')}, warnings are failures)")
    for outcome in outcomes:
        print(report(outcome))
    failed = [outcome.target for outcome in outcomes if outcome.failed]
    if failed:
        print(
            "helm-sdkpy returns findings without Helm's message text; the path and the"
            " helm log lines above locate them (a helm binary's `helm lint --strict -f"
            " <scenario>` prints the full text)."
        )
        print(f"helm lint FAILED for: {', '.join(failed)}")
        return 1
    print(f"helm lint clean: {len(outcomes)} targets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
