"""The picture of imports: the domain never reaches up into Dagster, the wiring or the doubles."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "connect_pipeline"
FORBIDDEN = ("dagster", "dagster_", "assets", "resources", "connect_pipeline.cli", "connect_pipeline.testkit")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _domain_modules() -> list[Path]:
    return [
        p for p in PACKAGE.rglob("*.py")
        if not p.relative_to(PACKAGE).parts[0] in ("cli", "testkit")
    ]


def test_the_domain_imports_neither_dagster_nor_the_wiring_nor_the_test_doubles():
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            name for name in _imports(path)
            if any(name == f or name.startswith(f + ".") or (f.endswith("_") and name.startswith(f)) for f in FORBIDDEN)
        )
        for path in _domain_modules()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_scan_sees_a_forbidden_import(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("from assets.definitions import defs\nimport dagster\n")
    assert {"assets.definitions", "dagster"} <= _imports(planted)


def test_resources_never_import_the_assets_that_use_them():
    resources = PACKAGE.parent / "resources"
    upward = {
        p.name: sorted(n for n in _imports(p) if n == "assets" or n.startswith("assets."))
        for p in resources.glob("*.py")
    }
    assert {k: v for k, v in upward.items() if v} == {}
