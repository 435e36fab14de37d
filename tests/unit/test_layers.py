"""One direction between a service's composition root and its parts: bootstrap.py builds the container
and imports the entrypoints; the entrypoints, handlers and every other module import the container
(container.py), never bootstrap. A cycle here made the import order matter and hid behind lazy imports
inside functions."""

import ast
from pathlib import Path

import pytest

from tests.deploy_support import REPO

SERVICES = ("intake", "routing", "mediation", "supervision", "notify")


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, inside a function) of every import of a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nested: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            nested.update(id(n) for n in ast.walk(node) if n is not node)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, id(node) in nested))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, id(node) in nested) for alias in node.names)
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_only_the_entry_point_imports_the_composition_root(service: str) -> None:
    package = REPO / "services" / service
    root = f"services.{service}.bootstrap"
    offenders = [
        str(path.relative_to(REPO))
        for path in sorted(package.rglob("*.py"))
        if path.name not in ("bootstrap.py", "__main__.py")
        and any(module == root for module, _ in _imports(path))
    ]
    assert offenders == [], f"{root} is imported by {offenders}: import services.{service}.container instead"


@pytest.mark.parametrize("service", SERVICES)
def test_the_composition_root_imports_its_entrypoints_at_the_top(service: str) -> None:
    lazy = [
        module
        for module, inside in _imports(REPO / "services" / service / "bootstrap.py")
        if inside and module.startswith(f"services.{service}.")
    ]
    assert lazy == [], f"bootstrap.py of {service} imports {lazy} inside a function: a sign of a cycle"
