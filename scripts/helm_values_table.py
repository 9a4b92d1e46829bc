"""The values tables of helm/tend/README.md, generated from values.yaml's `## @section` and `## @param` comments.

    python scripts/helm_values_table.py          rewrite the README between its markers
    python scripts/helm_values_table.py --check  exit 1 if the README is out of date

`## @param dotted.name Description` documents a value; its default is read from the
YAML itself. `## @section Title` starts a new table.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parent.parent / "helm" / "tend"
START, END = "<!-- values-table:start (scripts/helm_values_table.py) -->", "<!-- values-table:end -->"
SECTION = re.compile(r"^\s*## @section (.+)$")
PARAM = re.compile(r"^\s*## @param (\S+) (.+)$")


def lookup(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            raise KeyError(f"@param {dotted}: no such value in values.yaml")
        node = node[key]
    return node


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def table(values_yaml: str) -> str:
    values = yaml.safe_load(values_yaml)
    out: list[str] = []
    for line in values_yaml.splitlines():
        if section := SECTION.match(line):
            out += ["", f"### {section.group(1)}", "", "| Name | Description | Default |", "| --- | --- | --- |"]
        elif param := PARAM.match(line):
            name, description = param.groups()
            default = json.dumps(lookup(values, name), ensure_ascii=False)
            out.append(f"| `{name}` | {cell(description)} | `{cell(default)}` |")
    return "\n".join(out).strip() + "\n"


def updated(readme: str, values_yaml: str) -> str:
    if START not in readme or END not in readme:
        raise SystemExit(f"README lacks the markers {START} ... {END}")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table(values_yaml)}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    readme_path = CHART / "README.md"
    readme = readme_path.read_text()
    new = updated(readme, (CHART / "values.yaml").read_text())
    if args.check:
        if new != readme:
            print("helm/tend/README.md's values tables are out of date: run scripts/helm_values_table.py")
            return 1
        return 0
    readme_path.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
