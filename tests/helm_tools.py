"""The chart-checking interpreter: .venv-helm (Python >= 3.12) with requirements-helm.lock.

Helm's Go library (helm-sdkpy, helm-python-sdk), kubernetes-validate and checkov
run there, not in this interpreter; tests drive them through scripts/. Without
Python 3.12 the chart tests are skipped outside CI and fail under CI=true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHART = REPO / "helm" / "tend"
HELM_VENV = REPO / ".venv-helm"
HELM_PYTHON = HELM_VENV / "bin" / "python"
HELM_LOCK = REPO / "requirements-helm.lock"
PYENV_VERSION = "3.12.1"
PROBE = "import helm_sdkpy, helm_python, kubernetes_validate, checkov"


def _tools_importable() -> bool:
    if not HELM_PYTHON.exists():
        return False
    return subprocess.run([HELM_PYTHON, "-c", PROBE], capture_output=True).returncode == 0


def _run_or_fail(command: list[str | Path], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        shown = " ".join(map(str, command))
        pytest.fail(f"creating .venv-helm failed: {shown}\n{result.stdout}{result.stderr}")


def helm_python() -> Path:
    """The .venv-helm interpreter with the locked chart tools, made if needed; skip without Python 3.12."""
    if _tools_importable():
        return HELM_PYTHON
    env = {**os.environ, "PYENV_VERSION": PYENV_VERSION}
    python312 = shutil.which("python3.12", path=env.get("PATH"))
    usable = (
        python312 is not None and subprocess.run([python312, "--version"], env=env, capture_output=True).returncode == 0
    )
    if not usable:
        message = (
            "the chart checks need Python 3.12 (Helm's Go library requires >=3.12):"
            f" install it (e.g. `pyenv install {PYENV_VERSION}`) and run `make helm-venv`"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    _run_or_fail([python312, "-m", "venv", HELM_VENV], env)
    _run_or_fail([HELM_PYTHON, "-m", "pip", "install", "--quiet", "--require-hashes", "-r", HELM_LOCK], env)
    return HELM_PYTHON
