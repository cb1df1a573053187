"""The package's shape: every import of service/ read from the source, so
that a circle or a stage reaching into the HTTP layer fails here, not in a
newcomer's head."""

from __future__ import annotations

import ast
from pathlib import Path

import service

PACKAGE = Path(service.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.startswith("service"):
                    for alias in node.names:
                        child = f"{node.module}.{alias.name}"
                        found.add(child if child in modules else node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("service"))
        # A package's own __init__ is not a dependency worth a cycle.
        graph[name] = {m for m in found if m in modules and m != name and m != "service"}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_circles() -> None:
    assert _cycle(_imports()) is None


def test_the_cycle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_stages_below_http_never_import_it() -> None:
    """The domain stages know nothing of HTTP: only the app factory, the
    server and the command line stand above the HTTP layer."""
    above = {"service.main", "service.serve", "service.cli", "service.__main__"}
    offenders = {
        (module, target)
        for module, targets in _imports().items()
        if not module.startswith("service.http") and module not in above
        for target in targets
        if target.startswith("service.http")
    }
    assert offenders == set()


def test_the_package_is_grouped_by_stage() -> None:
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    stages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    assert stages == [
        "captcha",
        "http",
        "identity",
        "mail",
        "migration",
        "moderation",
        "process",
        "screening",
        "store",
        "submission",
        "text",
    ]
    assert len(loose) <= 14, loose


def _stage(module: str) -> str:
    """The sub-package a module belongs to, or the module itself at the top."""
    parts = module.split(".")
    return ".".join(parts[:2])


def test_no_circles_between_stages() -> None:
    """Stages stand in layers: the store never reaches back into the
    captcha, the screening or the moderation that use it."""
    stages: dict[str, set[str]] = {}
    for module, targets in _imports().items():
        edges = stages.setdefault(_stage(module), set())
        edges.update(_stage(t) for t in targets if _stage(t) != _stage(module))
    assert _cycle(stages) is None
