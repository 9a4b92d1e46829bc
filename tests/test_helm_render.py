"""The chart as Kubernetes would get it: every scenario rendered by Helm's library, validated
against Kubernetes' schemas for every version the chart claims, policy-checked, and the
production scenario's manifests read back and asserted on.

scripts/helm_render.py runs in .venv-helm (Python 3.12); these tests drive it and read the
manifests it writes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import helm_tools
from tests.helm_tools import CHART, REPO

RENDER_SCRIPT = REPO / "scripts" / "helm_render.py"
TEND_CONTAINERS = {"web", "worker", "clock", "migrations"}
PRODUCTION_DIGEST = "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"


def run_render(helm_python: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm_python, RENDER_SCRIPT, *map(str, args)], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def helm_python() -> Path:
    return helm_tools.helm_python()


@pytest.fixture(scope="module")
def render(
    helm_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("rendered")
    return run_render(helm_python, "--out", out), out


def objects_of(out: Path, scenario: str) -> list[dict[str, Any]]:
    files = sorted((out / scenario).rglob("*.yaml"))
    assert files, f"nothing rendered for {scenario}"
    return [doc for path in files for doc in yaml.safe_load_all(path.read_text()) if doc]


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, (
        f"{kind}/{name}: {len(found)} found among {[(o['kind'], o['metadata']['name']) for o in objects]}"
    )
    return found[0]


def pod_specs(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every pod spec by object name: Deployments' and the Job's templates, and the test Pod."""
    specs = {}
    for o in objects:
        if o["kind"] in ("Deployment", "Job"):
            specs[o["metadata"]["name"]] = o["spec"]["template"]["spec"]
        elif o["kind"] == "Pod":
            specs[o["metadata"]["name"]] = o["spec"]
    return specs


def container(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (only,) = pod_specs([one(objects, kind, name)])[name]["containers"]
    return only


@pytest.fixture(scope="module")
def production(render: tuple[subprocess.CompletedProcess[str], Path]) -> list[dict[str, Any]]:
    result, out = render
    assert result.returncode == 0, result.stdout + result.stderr
    return objects_of(out, "production")


def test_every_scenario_renders_validates_for_each_kubernetes_version_and_passes_policy(render) -> None:
    result, out = render

    assert result.returncode == 0, result.stdout + result.stderr
    claimed = re.search(r'^kubeVersion: ">=1\.(\d+)\.0-0"$', (CHART / "Chart.yaml").read_text(), re.M)
    assert claimed is not None
    assert re.search(rf"Kubernetes 1\.{claimed.group(1)}\.0 to 1\.\d+\.0: \d+ versions", result.stdout)
    for scenario in sorted(CHART.glob("ci/*-values.yaml")):
        assert re.search(rf"^ok    ci/{scenario.name}: \d+ objects$", result.stdout, re.M), result.stdout
        assert (out / scenario.name.removesuffix("-values.yaml")).is_dir()
    assert "ok    policy (checkov kubernetes) of the rendered manifests" in result.stdout
    assert "ok    policy (checkov dockerfile) of Dockerfile" in result.stdout


def test_production_replicas_autoscaling_and_disruption_budget(production) -> None:
    assert "replicas" not in one(production, "Deployment", "tend-web")["spec"]  # the HPA owns it
    assert "replicas" not in one(production, "Deployment", "tend-worker")["spec"]
    assert one(production, "Deployment", "tend-clock")["spec"]["replicas"] == 2
    web_hpa = one(production, "HorizontalPodAutoscaler", "tend-web")["spec"]
    assert (web_hpa["minReplicas"], web_hpa["maxReplicas"]) == (3, 12)
    assert web_hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "tend-web"}
    assert one(production, "HorizontalPodAutoscaler", "tend-worker")["spec"]["maxReplicas"] == 6

    pdb = one(production, "PodDisruptionBudget", "tend-web")["spec"]
    web_pod_labels = one(production, "Deployment", "tend-web")["spec"]["template"]["metadata"]["labels"]
    assert pdb["maxUnavailable"] == 1
    assert pdb["selector"]["matchLabels"].items() <= web_pod_labels.items()


def test_default_replicas_and_a_disruption_budget_for_web(render) -> None:
    result, out = render
    assert result.returncode == 0, result.stdout
    default = objects_of(out, "default")

    replicas = {
        name: one(default, "Deployment", f"tend-{name}")["spec"]["replicas"] for name in ("web", "worker", "clock")
    }
    assert replicas == {"web": 2, "worker": 2, "clock": 1}
    assert one(default, "PodDisruptionBudget", "tend-web")["spec"]["minAvailable"] == 1


def test_web_probes_hit_healthz_and_readyz_on_the_http_port(production) -> None:
    web = container(production, "Deployment", "tend-web")

    assert web["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert web["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert web["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def test_every_pod_is_non_root_read_only_without_capabilities_and_with_resources(production) -> None:
    specs = pod_specs(production)
    assert set(specs) == {"tend-web", "tend-worker", "tend-clock", "tend-migrations", "tend-test-connection"}

    for name, spec in specs.items():
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] == 10001, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for c in spec["containers"]:
            security = c["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert {"cpu", "memory"} <= c["resources"]["requests"].keys(), name
            assert "memory" in c["resources"]["limits"], name
            if c["name"] in TEND_CONTAINERS:
                # Only /tmp is writable, and the image's entrypoint (tini) is kept.
                assert c["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}], name
                assert {"name": "tmp", "emptyDir": {}} in spec["volumes"], name
                assert "command" not in c, name


def test_every_tend_container_runs_the_image_pinned_by_digest(production) -> None:
    images = {
        c["image"]
        for spec in pod_specs(production).values()
        for c in spec["containers"]
        if c["name"] in TEND_CONTAINERS
    }

    assert images == {f"registry.example.com/tend/tend@{PRODUCTION_DIGEST}"}


def test_the_default_image_is_what_make_image_builds(render) -> None:
    result, out = render
    assert result.returncode == 0, result.stdout
    version = re.search(r'^version = "(.+)"$', (REPO / "pyproject.toml").read_text(), re.M).group(1)
    app_version = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
    makefile = (REPO / "Makefile").read_text()

    assert app_version == version
    assert re.search(r"^IMAGE \?= tend:\$\(shell sed .*pyproject\.toml\)$", makefile, re.M)
    web = container(objects_of(out, "default"), "Deployment", "tend-web")
    assert web["image"] == f"tend:{version}"


def test_migrations_run_as_a_pre_install_and_pre_upgrade_hook_before_their_settings_go(production) -> None:
    job = one(production, "Job", "tend-migrations")
    annotations = job["metadata"]["annotations"]
    migrations = container(production, "Job", "tend-migrations")

    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert migrations["args"] == ["db", "upgrade"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    # Its hook-scoped ConfigMap and Secret exist first (a lower weight) and are what it reads.
    for kind in ("ConfigMap", "Secret"):
        copy = one(production, kind, "tend-migrations")["metadata"]["annotations"]
        assert copy["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert int(copy["helm.sh/hook-weight"]) < int(annotations["helm.sh/hook-weight"])
    assert migrations["envFrom"] == [
        {"configMapRef": {"name": "tend-migrations"}},
        {"secretRef": {"name": "tend-migrations"}},
    ]


def test_the_sending_and_consent_settings_reach_every_container(production) -> None:
    for name in ("tend", "tend-migrations"):
        data = one(production, "ConfigMap", name)["data"]
        assert data["TEND_SMS_COUNTRIES"] == "US,CA,GB", name
        assert data["TEND_TWILIO_CONCURRENCY"] == "50", name
        assert data["TEND_DISPATCH_LEAD"] == "300", name
        assert data["TEND_SMS_MPS"] == "3", name
        assert data["TEND_PUBLIC_URL"] == "https://tend.example.com", name
    for workload in ("tend-web", "tend-worker", "tend-clock"):
        env_from = container(production, "Deployment", workload)["envFrom"]
        assert {"configMapRef": {"name": "tend"}} in env_from, workload


def test_long_running_pods_spread_over_zones_and_nodes(production) -> None:
    for workload in ("tend-web", "tend-worker", "tend-clock"):
        template = one(production, "Deployment", workload)["spec"]["template"]
        constraints = template["spec"]["topologySpreadConstraints"]
        assert [c["topologyKey"] for c in constraints] == ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
        for c in constraints:
            assert c["labelSelector"]["matchLabels"].items() <= template["metadata"]["labels"].items(), workload


def test_only_web_accepts_connections(production) -> None:
    deny = one(production, "NetworkPolicy", "tend-deny-ingress")["spec"]
    web = one(production, "NetworkPolicy", "tend-web")["spec"]

    assert deny["policyTypes"] == ["Ingress"] and "ingress" not in deny
    assert web["ingress"] == [{"ports": [{"port": "http", "protocol": "TCP"}]}]


@pytest.fixture
def chart_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(CHART, tmp_path / "tend"))


def test_a_manifest_kubernetes_would_reject_fails_the_render(helm_python: Path, chart_copy: Path) -> None:
    service = chart_copy / "templates" / "web" / "service.yaml"
    service.write_text(service.read_text().replace("targetPort: http", "targetPort: http\n      targetPorts: http"))

    result = run_render(helm_python, "--chart", chart_copy, "--only", "default", "--no-policy")

    assert result.returncode == 1, result.stdout
    assert "FAIL  ci/default-values.yaml" in result.stdout
    assert "targetPorts" in result.stdout


def test_a_writable_root_file_system_fails_the_policy_check(helm_python: Path, chart_copy: Path) -> None:
    scenario = chart_copy / "ci" / "writable-values.yaml"
    scenario.write_text(
        (chart_copy / "ci" / "default-values.yaml").read_text()
        + "worker:\n  containerSecurityContext:\n    readOnlyRootFilesystem: false\n"
        + "    allowPrivilegeEscalation: false\n    capabilities:\n      drop: [ALL]\n"
    )

    result = run_render(helm_python, "--chart", chart_copy, "--only", "writable")

    assert result.returncode == 1, result.stdout
    assert "ok    ci/writable-values.yaml" in result.stdout  # valid Kubernetes, but against policy
    assert "FAIL  policy (checkov kubernetes) of the rendered manifests" in result.stdout
    assert "CKV_K8S_22" in result.stdout
