"""The import rules of ARCHITECTURE.md, checked by walking every import in rfp_portal/.

Imports inside functions count as much as those at the top: hiding an import in a function
hides a cycle from Python's start-up, not from the design.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "rfp_portal"
BLUEPRINTS = {
    "admin",
    "api",
    "auth",
    "claims",
    "comments",
    "events",
    "jams",
    "main",
    "plots",
    "rfps",
    "users",
}
# The layers below the web: none of them may import Flask views, forms or the web package.
BELOW_THE_WEB = (
    "rfp_portal.services",
    "rfp_portal.models",
    "rfp_portal.rendering",
    "rfp_portal.outbox.transports",  # services check webhook targets with it
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def runtime_nodes(tree: ast.AST):
    """Every node that runs, skipping ``if TYPE_CHECKING:`` blocks (annotations only)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *runtime_nodes(child)])
            continue
        yield node
        yield from runtime_nodes(node)


def imports_of(name: str) -> set[str]:
    """The portal's modules that ``name`` imports when it runs, anywhere in its body."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            # ``from package import module`` imports the module; ``from module import name``
            # imports the module that holds the name.
            targets = [f"{base}.{alias.name}" for alias in node.names]
            targets = [t if t in MODULES else base for t in targets]
        else:
            continue
        found.update(t for t in targets if t in MODULES and t != name)
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_walker_sees_imports_inside_functions_and_relative_ones():
    assert "rfp_portal.rfps.routes" in GRAPH["rfp_portal"]  # create_app imports it in its body
    assert "rfp_portal.web.views" in GRAPH["rfp_portal.rfps.routes"]
    assert "rfp_portal.db" in GRAPH["rfp_portal.models.rfp"]
    assert "rfp_portal.models.user" not in GRAPH["rfp_portal.models.rfp"]  # under TYPE_CHECKING
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_itself_back_in_a_cycle():
    assert cycles(GRAPH) == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_only_the_app_factory_imports_a_blueprints_routes(name):
    routes = {t for t in GRAPH[name] if t.endswith(".routes")}
    if name == "rfp_portal":
        assert routes == {f"rfp_portal.{bp}.routes" for bp in BLUEPRINTS}
    else:
        assert routes == set(), f"{name} imports {routes}; share through a module both import"


@pytest.mark.parametrize("name", [n for n in sorted(MODULES) if n.startswith(BELOW_THE_WEB)])
def test_services_models_and_rendering_know_nothing_of_the_web(name):
    path = MODULES[name]
    tree = ast.parse(path.read_text(), str(path))
    imported = {
        alias.name if isinstance(node, ast.Import) else node.module or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    # (flask_login's UserMixin is the User model's one tie to log-in, and imports no request.)
    assert not {m for m in imported if m.split(".")[0] in ("flask", "flask_wtf", "wtforms")}
    web = {t for t in GRAPH[name] if t.split(".")[1] in {*BLUEPRINTS, "web", "forms"}}
    assert web == set(), f"{name} imports {web}"


def test_architecture_document_states_the_rules_this_test_checks():
    text = (ROOT / "ARCHITECTURE.md").read_text()
    assert "tests/test_architecture.py" in text
    for blueprint in BLUEPRINTS:
        assert f"{blueprint}/" in text, f"ARCHITECTURE.md does not place the {blueprint} blueprint"
