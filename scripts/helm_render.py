"""Render every scenario of the Tend chart with Helm's library, validate it, and check policy.

Run it with the interpreter of .venv-helm (Python >= 3.12, requirements-helm.lock):

    .venv-helm/bin/python scripts/helm_render.py [--chart DIR] [--out DIR] [--no-policy]

For each helm/tend/ci/*-values.yaml it:

1. renders the chart offline with Helm 4's own Go library (helm-python-sdk's
   `Chart.load(...).render(values)`, as `helm template` would: release "tend",
   namespace "tend", an install), hooks and the `helm test` pod included;
2. validates every object against Kubernetes' OpenAPI schemas (kubernetes-validate,
   strict: unknown fields are errors) for every Kubernetes version that the chart's
   `kubeVersion` admits and kubernetes-validate knows;
3. writes the manifests to OUT/<scenario>/<template path> (for the tests to read);

then runs checkov's Kubernetes checks over all rendered manifests and its Dockerfile
checks over ./Dockerfile, with the exceptions of scripts/checkov.yaml (each justified
there). Exits 1 if anything fails.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import kubernetes_validate.utils as kv_utils
import yaml

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CHART = REPO / "helm" / "tend"
CHECKOV_CONFIG = REPO / "scripts" / "checkov.yaml"
SCENARIO_GLOB = "ci/*-values.yaml"
RELEASE, NAMESPACE = "tend", "tend"
CONSTRAINT = re.compile(r"^(>=|>|<=|<|=)?\s*v?(\d+)\.(\d+)(?:\.(\d+))?(?:-[0-9A-Za-z.-]+)?$")


@dataclass
class ScenarioResult:
    name: str
    objects: int = 0
    errors: list[str] = field(default_factory=list)


def kube_versions(constraint: str, known: list[str]) -> list[str]:
    """The known Kubernetes versions (x.y.z) that a Chart.yaml `kubeVersion` such as ">=1.25.0-0" admits.

    Only comparisons joined by spaces or commas (an AND) are understood; anything
    else is refused rather than guessed.
    """
    terms = [term for term in re.split(r"[\s,]+", constraint.strip()) if term]
    if not terms:
        raise ValueError("Chart.yaml has no kubeVersion: the chart must say which Kubernetes it supports")
    bounds = []
    for term in terms:
        match = CONSTRAINT.match(term)
        if match is None:
            raise ValueError(f"kubeVersion term {term!r} is not a comparison this script understands")
        operator, major, minor = match.group(1) or "=", int(match.group(2)), int(match.group(3))
        bounds.append((operator, (major, minor)))

    def admitted(version: str) -> bool:
        major, minor = (int(part) for part in version.split(".")[:2])
        checks = {
            ">=": lambda b: (major, minor) >= b,
            ">": lambda b: (major, minor) > b,
            "<=": lambda b: (major, minor) <= b,
            "<": lambda b: (major, minor) < b,
            "=": lambda b: (major, minor) == b,
        }
        return all(checks[operator](bound) for operator, bound in bounds)

    return [version for version in known if admitted(version)]


def known_versions() -> list[str]:
    return sorted(set(kv_utils.all_versions()), key=lambda v: tuple(int(p) for p in v.split(".")))


def render(chart: helm_python.Chart, values: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Template path -> the Kubernetes objects it renders (NOTES.txt and empty templates left out)."""
    manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objects: dict[str, list[dict[str, Any]]] = {}
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        documents = [doc for doc in yaml.safe_load_all(text) if doc]
        if documents:
            objects[path] = documents
    return objects


def validate(objects: dict[str, list[dict[str, Any]]], versions: list[str]) -> list[str]:
    errors = []
    for path, documents in objects.items():
        for document in documents:
            what = f"{path}: {document.get('kind')}/{document.get('metadata', {}).get('name')}"
            for version in versions:
                try:
                    kubernetes_validate.validate(document, version, strict=True)
                except kubernetes_validate.ValidationError as error:
                    errors.append(f"{what} (Kubernetes {version}): {error.message} at {list(error.path)}")
                except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as error:
                    errors.append(f"{what} (Kubernetes {version}): {error}")
    return errors


def write(objects: dict[str, list[dict[str, Any]]], out: Path) -> None:
    for path, documents in objects.items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump_all(documents, sort_keys=False))


def check_scenario(chart: helm_python.Chart, values_file: Path, versions: list[str], out: Path) -> ScenarioResult:
    result = ScenarioResult(values_file.name)
    values = yaml.safe_load(values_file.read_text()) or {}
    try:
        objects = render(chart, values)
    except helm_python.HelmError as error:
        result.errors.append(f"render failed: {error}")
        return result
    result.objects = sum(len(documents) for documents in objects.values())
    result.errors += validate(objects, versions)
    write(objects, out / values_file.name.removesuffix("-values.yaml"))
    return result


def checkov(args: list[str]) -> tuple[bool, str]:
    command = [str(Path(sys.executable).with_name("checkov")), "--config-file", str(CHECKOV_CONFIG), *args]
    completed = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    return completed.returncode == 0, completed.stdout + completed.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chart", type=Path, default=DEFAULT_CHART)
    parser.add_argument("--out", type=Path, help="keep the rendered manifests here (default: a temporary directory)")
    parser.add_argument("--no-policy", action="store_true", help="skip the checkov policy checks")
    parser.add_argument("--only", metavar="SCENARIO", help="only ci/SCENARIO-values.yaml, e.g. production")
    args = parser.parse_args(argv)

    chart_dir = args.chart.resolve()
    chart = helm_python.Chart.load(chart_dir)
    versions = kube_versions(chart.metadata.get("kubeVersion", ""), known_versions())
    if not versions:
        print(f"FAIL  kubeVersion {chart.metadata.get('kubeVersion')!r} admits no version kubernetes-validate knows")
        return 1
    scenarios = sorted(chart_dir.glob(SCENARIO_GLOB if args.only is None else f"ci/{args.only}-values.yaml"))
    print(
        f"helm render of {chart_dir} (Helm {helm_python.helm_sdk_version()}, kubernetes-validate"
        f" {kubernetes_validate.__version__}, Kubernetes {versions[0]} to {versions[-1]}: {len(versions)} versions)"
    )
    if not scenarios:
        print(f"FAIL  no {SCENARIO_GLOB}: nothing rendered")
        return 1

    failed = False
    with tempfile.TemporaryDirectory(prefix="helm-render-") as scratch:
        out = args.out.resolve() if args.out else Path(scratch)
        for values_file in scenarios:
            result = check_scenario(chart, values_file, versions, out)
            failed |= bool(result.errors)
            print(f"{'FAIL' if result.errors else 'ok  '}  ci/{values_file.name}: {result.objects} objects")
            for error in result.errors[:20]:
                print(f"      {error}")
        if not args.no_policy:
            for label, checkov_args in (
                (
                    "policy (checkov kubernetes) of the rendered manifests",
                    ["--framework", "kubernetes", "-d", str(out)],
                ),
                (
                    "policy (checkov dockerfile) of Dockerfile",
                    ["--framework", "dockerfile", "-f", str(REPO / "Dockerfile")],
                ),
            ):
                passed, output = checkov(checkov_args)
                failed |= not passed
                print(f"{'ok  ' if passed else 'FAIL'}  {label}")
                if not passed:
                    print(output)
    print("helm render FAILED" if failed else f"helm render clean: {len(scenarios)} scenarios")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
