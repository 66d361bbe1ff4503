"""The layout: imports between Podium's rooms flow one way, and no modules import each other in
a circle. Read from the source with `ast`, so an import inside a function counts too."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Each room and its floor, lowest first: a module may import its own room and the floors below.
FLOORS = {
    "registry.errors": 0,
    "registry.config": 0,
    "registry.store": 1,
    "registry.search": 2,
    "registry.artifacts": 2,
    "hooks": 3,
    "registry.schemas": 4,
    "registry.services": 4,
    "registry.auth": 4.5,  # the request's caller and the routes' rules, over the services
    "registry.api": 5,
    "registry.ui": 5,
    "registry": 6,  # create_app, which wires the rooms together
    "registry.server": 7,
    "registry.cli": 8,
}


def room(module: str) -> str:
    """The longest room name that `module` is, or lies in."""
    parts = module.split(".")
    for length in range(len(parts), 0, -1):
        name = ".".join(parts[:length])
        if name in FLOORS:
            return name
    raise AssertionError(f"{module} lies in no room of FLOORS: add it there")


def module_names() -> dict[str, Path]:
    names = {}
    for package in ("registry", "hooks"):
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def import_graph() -> dict[str, set[str]]:
    """Each Podium module and the Podium modules it imports (a name imported from a package
    that is itself a module counts as that module)."""
    names = module_names()
    graph = {}
    for module, path in names.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, up level - 1
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    imported.add(full if full in names else base)
        graph[module] = {name for name in imported if name in names and name != module}
    return graph


def upward_arrows(graph: dict[str, set[str]]) -> list[str]:
    """Imports into another room that is not on a lower floor."""
    wrong = []
    for module, imported in sorted(graph.items()):
        for target in sorted(imported):
            source_room, target_room = room(module), room(target)
            if source_room != target_room and FLOORS[target_room] >= FLOORS[source_room]:
                wrong.append(
                    f"{module} (floor {FLOORS[source_room]}) imports {target} "
                    f"(floor {FLOORS[target_room]})"
                )
    return wrong


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle through each module that lies on one (depth-first search)."""
    found, state = [], {}  # state: 1 = on the current path, 2 = done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                found.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


def test_every_module_lies_in_a_room():
    for module in import_graph():
        room(module)


def test_imports_run_down_the_floors():
    assert upward_arrows(import_graph()) == []


def test_no_modules_import_each_other_in_a_circle():
    assert [" -> ".join(circle) for circle in cycles(import_graph())] == []


def test_hooks_never_import_the_api():
    graph = import_graph()
    assert [
        (module, target)
        for module, imported in graph.items()
        if room(module) == "hooks"
        for target in imported
        if room(target) == "registry.api"
    ] == []


def test_the_checks_name_a_circle_and_an_upward_arrow():
    graph = {
        "registry.store.db": {"registry.services.runs"},
        "registry.services.runs": {"registry.store.db"},
        "registry.search.grammar": {"registry.artifacts.store"},
        "registry.artifacts.store": set(),
    }
    assert upward_arrows(graph) == [
        "registry.search.grammar (floor 2) imports registry.artifacts.store (floor 2)",
        "registry.store.db (floor 1) imports registry.services.runs (floor 4)",
    ]
    assert cycles(graph) == [
        ["registry.services.runs", "registry.store.db", "registry.services.runs"]
    ]
