"""Dependencies match the code: what pyproject.toml declares is used, what the code imports
is declared, and the hashed locks the Makefile installs from agree with pyproject.toml.

Imports are read with ast from the project's own .py files: the product's (everything
but tests/) for the runtime dependencies, the tests' for the dev group. A distribution
is mapped to the names it is imported by with importlib.metadata. Django also loads
modules by name from its settings (INSTALLED_APPS, MIDDLEWARE, backends): the dotted
names in config/settings.py count as imports. Extras (redis[hiredis], psycopg[binary])
are loaded by their parent package and need no import of their own.
"""

from __future__ import annotations

import ast
import os
import re
import sys
import tomllib
from functools import cache
from importlib.metadata import entry_points, packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_SOURCE = {".git", ".venv", "node_modules", "var", "static", "__pycache__"}

# Runtime dependencies no module imports: something else loads them by name.
LOADED_BY_NAME = {
    "psycopg": "Django's PostgreSQL backend imports it when DATABASE_URL is postgres://",
    "openpyxl": "pandas.read_excel(engine='openpyxl') reads .xlsx imports (dataquality/importer)",
}
# Dev dependencies no test imports: tools the Makefile or CI run as commands.
TOOLS = {
    "ruff": "lint and format (make lint, make test)",
    "uv": "installs and locks the virtualenv (Makefile)",
}
# Imported by a test but deliberately in no dependency list.
UNDECLARED_ON_PURPOSE = {
    "great_expectations": "tests/bench/bench_dq_scan.py installs it in a virtualenv of its "
    "own to compare against; never a product or test dependency",
}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec: str) -> str:
    return normalise(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec.strip()).group(0))


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def runtime_declared() -> set[str]:
    return {requirement_name(s) for s in pyproject()["project"]["dependencies"]}


def dev_declared() -> set[str]:
    return {requirement_name(s) for s in pyproject()["dependency-groups"]["dev"]}


@cache
def distributions_by_name() -> dict[str, list[str]]:
    return packages_distributions()


@cache
def python_files(tests: bool) -> list[Path]:
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in NOT_SOURCE]
        relative = Path(folder).relative_to(ROOT)
        in_tests = relative.parts[:1] == ("tests",)
        if in_tests == tests:
            found += [Path(folder) / f for f in files if f.endswith(".py")]
    return found


@cache
def imports_of(tests: bool) -> dict[str, set[str]]:
    return imported_names(python_files(tests))


def imported_names(paths: list[Path]) -> dict[str, set[str]]:
    """Top-level module name -> files importing it (absolute imports only)."""
    found: dict[str, set[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def names_in_settings() -> set[str]:
    """Top-level names of the dotted module paths Django loads from config/settings.py."""
    tree = ast.parse((ROOT / "config" / "settings.py").read_text())
    dotted = re.compile(r"^[a-z_][a-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\.?$")
    return {
        node.value.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and dotted.match(node.value)
    }


def own_modules() -> set[str]:
    return {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} | {
        p.stem for p in ROOT.glob("*.py")
    }


def third_party(names) -> set[str]:
    return {n for n in names if n not in sys.stdlib_module_names and n not in own_modules()}


def distributions_of(names) -> dict[str, set[str]]:
    """Import name -> the distributions providing it (empty when none is installed)."""
    mapping = distributions_by_name()
    return {name: {normalise(d) for d in mapping.get(name, [])} for name in names}


def import_names_of(distribution: str) -> set[str]:
    return {
        name
        for name, dists in distributions_by_name().items()
        if distribution in {normalise(d) for d in dists}
    }


def test_every_runtime_dependency_is_used_by_the_product():
    used = set(imports_of(tests=False)) | names_in_settings()
    unused = {
        dist
        for dist in runtime_declared() - set(LOADED_BY_NAME)
        if not import_names_of(dist) & used
    }
    assert unused == set(), f"declared in [project] dependencies but never imported: {unused}"


def test_the_loaded_by_name_list_holds_only_what_needs_it():
    imported = set(imports_of(tests=False)) | names_in_settings()
    for dist in LOADED_BY_NAME:
        assert dist in runtime_declared(), f"{dist} is listed as loaded by name but not declared"
        assert not import_names_of(dist) & imported, f"{dist} is imported: drop it from the list"


def test_everything_the_product_imports_is_declared():
    imported = imports_of(tests=False)
    declared = runtime_declared()
    undeclared = {
        name: sorted(imported[name])[:3]
        for name, dists in distributions_of(third_party(imported)).items()
        if not dists & declared
    }
    assert undeclared == {}, f"imported by the product, not in [project] dependencies: {undeclared}"


def test_every_dev_dependency_is_used_by_the_tests():
    used = set(imports_of(tests=True))
    plugins = {normalise(ep.dist.name) for ep in entry_points(group="pytest11") if ep.dist}
    makefile = (ROOT / "Makefile").read_text()
    unused = set()
    for dist in dev_declared():
        if dist in TOOLS:
            assert f"$(BIN)/{dist}" in makefile, f"{dist} is listed as a tool the Makefile runs"
        elif dist not in plugins and not import_names_of(dist) & used:
            unused.add(dist)
    assert unused == set(), f"in the dev group but never imported by a test: {unused}"


def test_everything_the_tests_import_is_declared():
    imported = imports_of(tests=True)
    declared = runtime_declared() | dev_declared()
    undeclared = {
        name: sorted(imported[name])[:3]
        for name, dists in distributions_of(third_party(imported)).items()
        if name not in UNDECLARED_ON_PURPOSE and not dists & declared
    }
    assert undeclared == {}, f"imported by tests, in no dependency list: {undeclared}"


def locked_from_pyproject(lock: str) -> set[str]:
    """Pins in a lock that uv compiled because pyproject.toml asks for them."""
    found, current = set(), None
    for line in (ROOT / lock).read_text().splitlines():
        pin = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==", line)
        if pin:
            current = normalise(pin.group(1))
        elif current and re.match(r"\s*#\s+(via\s+)?perfmon \(pyproject\.toml(:dev)?\)", line):
            found.add(current)
    return found


def test_the_locks_match_pyproject():
    # The Makefile installs requirements-dev.txt (make lock compiles both from pyproject.toml).
    assert locked_from_pyproject("requirements.txt") == runtime_declared()
    assert locked_from_pyproject("requirements-dev.txt") == runtime_declared() | dev_declared()
