"""helm/tend/README.md's values tables match values.yaml's @param comments, and every value is documented."""

from __future__ import annotations

import re
import subprocess
import sys

import yaml

from tests.helm_tools import CHART, REPO

SCRIPT = REPO / "scripts" / "helm_values_table.py"


def leaves(node: object, prefix: str = "") -> set[str]:
    """Dotted names of values.yaml's documented units: mappings are walked, everything else is a leaf."""
    if isinstance(node, dict) and node:
        return {name for key, child in node.items() for name in leaves(child, f"{prefix}{key}.")}
    return {prefix.rstrip(".")}


def test_readme_values_tables_are_up_to_date() -> None:
    result = subprocess.run([sys.executable, SCRIPT, "--check"], capture_output=True, text=True)

    assert result.returncode == 0, result.stdout + result.stderr


def test_every_value_has_a_param_comment() -> None:
    text = (CHART / "values.yaml").read_text()
    documented = set(re.findall(r"^\s*## @param (\S+) ", text, re.M))
    values = yaml.safe_load(text)

    # A @param may document a whole mapping (e.g. web.resources); every leaf must be under one.
    undocumented = {
        leaf for leaf in leaves(values) if not any(leaf == name or leaf.startswith(name + ".") for name in documented)
    }
    assert undocumented == set()
