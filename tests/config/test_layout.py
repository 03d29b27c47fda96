"""The shape of the code: who may import whom, read from every module's imports.

Every import counts, at module level or inside a function (a function-level
import is still a dependency; it only moves the failure to run time).

- an app never imports another app, except `<app>/alert_sources.py` -> `alerts`;
- the frame (config/) imports no app: it names apps by string only (INSTALLED_APPS,
  include("rum.urls"), task names), and apps plug into it (registries, signals);
- lib/ is pure: no Django, no app, no frame;
- product code never imports tests;
- no import circles between modules.
"""

from __future__ import annotations

import ast
import functools
from collections import deque
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("monitoring", "rum", "alerts", "dataquality", "security", "audit")
FRAME = "config"
LIB = "lib"
# What lib/ may not use: Django and what is built on it.
NOT_PURE = {"django", "rest_framework", "drf_spectacular", "celery", "django_celery_beat"}

# Imports of an app by the frame, each with why it cannot be a string. None today.
FRAME_EXCEPTIONS: dict[tuple[str, str], str] = {}

# Known circles, allowed until they are taken apart: a circle within one of these passes,
# one that reaches further does not.
KNOWN_CYCLES: dict[str, frozenset[str]] = {}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the project module imported
    path: str  # the importing file, relative to the root
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.target}"


def project_modules(root: Path) -> dict[str, Path]:
    """Every module of the product (not tests): dotted name -> file."""
    modules = {}
    for path in sorted(root.glob("*.py")):
        modules[path.stem] = path
    for package in sorted(p.parent for p in root.glob("*/__init__.py")):
        if package.name == "tests":
            continue
        for path in sorted(package.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _absolute(module: str | None, level: int, importer: str, is_package: bool) -> str:
    if not level:
        return module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _project_target(name: str, modules: dict[str, Path]) -> str | None:
    """The project module `name` lands in (a.b.attr -> a.b), or None for outside code."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imported_names(path: Path, module: str) -> list[tuple[str, int]]:
    """Every (dotted name, line) the file imports, wherever the import statement is."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, module, path.name == "__init__.py")
            # package.module when it is one (`from package import module`), else package.
            names += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
    return names


@functools.cache
def project_imports(root: Path) -> tuple[dict[str, Path], list[Import], list[tuple[str, str]]]:
    """The product's modules, its imports of its own modules, and every top-level name used."""
    modules = project_modules(root)
    imports, outside = set(), set()
    for module, path in modules.items():
        relative = path.relative_to(root).as_posix()
        for name, line in imported_names(path, module):
            target = _project_target(name, modules)
            if target is None:
                outside.add((module, name.split(".")[0]))
            elif target != module:
                imports.add(Import(module, target, relative, line))
    return modules, sorted(imports, key=lambda i: (i.path, i.line, i.target)), sorted(outside)


def top(module: str) -> str:
    return module.split(".")[0]


def cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """The groups of modules that all reach each other by imports (more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    counter = 0

    def visit(start: str) -> None:  # Tarjan's algorithm, iteratively
        nonlocal counter
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(edges.get(successor, ())))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(group)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def shortest_circle(group: set[str], edges: dict[str, set[str]]) -> list[str]:
    """From the group's first module back to itself, by the fewest imports within the group."""
    start = min(group)
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for successor in sorted(edges.get(node, set()) & group):
            if successor == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if successor not in came_from:
                came_from[successor] = node
                queue.append(successor)
    raise AssertionError(f"no circle through {start}")  # cannot happen in a strong group


def circle_text(circle: list[str], imports: list[Import]) -> str:
    lines = {(i.source, i.target): i.line for i in imports}
    steps = [f"{a} (line {lines[a, b]})" for a, b in zip(circle, circle[1:], strict=False)]
    return " -> ".join([*steps, circle[-1]])


def known(group: set[str]) -> bool:
    return any(group <= members for members in KNOWN_CYCLES.values())


def group_text(group: set[str], edges: dict[str, set[str]], imports: list[Import]) -> str:
    text = circle_text(shortest_circle(group, edges), imports)
    if len(group) > 2:
        text += f" (one circle among {', '.join(sorted(group))})"
    return text


# --- the product ------------------------------------------------------------------


def test_the_product_is_read_whole():
    modules, imports, _ = project_imports(ROOT)
    assert set(APPS) | {FRAME} <= {top(m) for m in modules}
    assert {top(m) for m in modules} <= {*APPS, FRAME, LIB, "manage"}, "a new top-level package"
    # Function-level imports are seen too (AppConfig.ready imports inside the method).
    seen = {(i.source, i.target) for i in imports}
    assert ("alerts.apps", "alerts.prometheus") in seen


def test_no_app_imports_another_app():
    _, imports, _ = project_imports(ROOT)
    crossing = [
        str(i)
        for i in imports
        if top(i.source) in APPS
        and top(i.target) in APPS
        and top(i.source) != top(i.target)
        and not (i.source.endswith(".alert_sources") and top(i.target) == "alerts")
    ]
    assert not crossing, "apps talk through config/ (registries, signals) or lib/:\n" + "\n".join(
        crossing
    )


def test_the_frame_names_apps_by_string_only():
    _, imports, _ = project_imports(ROOT)
    found = [
        i
        for i in imports
        if top(i.source) == FRAME
        and top(i.target) in APPS
        and (i.source, i.target) not in FRAME_EXCEPTIONS
    ]
    assert not found, "name the app by string instead:\n" + "\n".join(map(str, found))


def test_lib_is_pure():
    _, imports, outside = project_imports(ROOT)
    impure = [str(i) for i in imports if top(i.source) == LIB and top(i.target) != LIB]
    impure += [f"{m} imports {name}" for m, name in outside if top(m) == LIB and name in NOT_PURE]
    assert not impure, "lib/ is pure Python:\n" + "\n".join(impure)


def test_the_product_never_imports_tests():
    _, _, outside = project_imports(ROOT)
    assert [f"{m} imports tests" for m, name in outside if name == "tests"] == []


def test_no_import_circles():
    _, imports, _ = project_imports(ROOT)
    edges: dict[str, set[str]] = {}
    for i in imports:
        edges.setdefault(i.source, set()).add(i.target)
    found = [group_text(g, edges, imports) for g in cycles(edges) if not known(g)]
    assert not found, (
        "import circles (move what both need into a third module, or pass a callback):\n"
        + "\n".join(found)
    )


# --- the checks themselves, on a small made-up project ----------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_circle_through_a_function_level_import_is_found(tmp_path):
    _write(
        tmp_path,
        {
            "shop/__init__.py": "",
            "shop/orders.py": "from shop import tasks\n",
            "shop/tasks.py": "def run():\n    from shop.orders import place\n",
            "shop/views.py": "from . import orders\n",
        },
    )
    _, imports, _ = project_imports(tmp_path)
    edges: dict[str, set[str]] = {}
    for i in imports:
        edges.setdefault(i.source, set()).add(i.target)
    [group] = cycles(edges)
    assert group == {"shop.orders", "shop.tasks"}
    circle = shortest_circle(group, edges)
    assert circle == ["shop.orders", "shop.tasks", "shop.orders"]
    assert (
        circle_text(circle, imports) == "shop.orders (line 1) -> shop.tasks (line 2) -> shop.orders"
    )
    assert Import("shop.views", "shop.orders", "shop/views.py", 1) in imports  # relative


def test_imports_of_outside_code_are_told_apart(tmp_path):
    _write(
        tmp_path,
        {
            "lib/__init__.py": "",
            "lib/pure.py": "import math\nfrom django.db import models\nfrom lib import other\n",
            "lib/other.py": "",
        },
    )
    _, imports, outside = project_imports(tmp_path)
    assert [(i.source, i.target) for i in imports] == [("lib.pure", "lib.other")]
    assert ("lib.pure", "django") in outside and ("lib.pure", "math") in outside
