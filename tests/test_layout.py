"""The layout stays readable: no import cycle between the project's modules, small files and functions.

The import graph is read with ``ast`` from every ``import`` statement (module level and inside functions,
since a lazy import is still a dependency). An edge goes to the most specific project module an import
names; importing a submodule does not add an edge to its parent package's ``__init__``.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "survey_db", "pages")
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60
REASON = "Long because"  # a longer function says why in its docstring or first comment


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_files(root: Path) -> dict[str, Path]:
    """Module name -> file, for every Python file of the checked packages (migrations excluded)."""
    files = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" not in path.parts:
                files[module_name(path, root)] = path
    return files


def _target(name: str, modules: set[str]) -> str | None:
    """The longest prefix of a dotted name that is a project module."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in modules:
            return candidate
    return None


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the project modules it imports."""
    files = project_files(root)
    modules = set(files)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                names = [f"{base}.{a.name}" for a in node.names] + [base]
            for name in names:
                target = _target(name, modules)
                if target and target != module:
                    graph[module].add(target)
                    break  # ``from a.b import c``: the submodule a.b.c if it exists, else a.b
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_no_import_cycle_between_project_modules():
    graph = import_graph(ROOT)
    assert len(graph) > 80  # every package was read
    assert "core.generation.abc_compose" in graph["core.generation.compose"]
    assert find_cycles(graph) == []


def test_the_check_fails_when_a_cycle_is_introduced(tmp_path):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    assert find_cycles(import_graph(tmp_path)) == []
    abc = tmp_path / "core" / "data" / "abc.py"  # compose -> abc_compose -> abc; now abc -> compose too
    abc.write_text(abc.read_text() + "\n\ndef _late():\n    from core.generation.compose import compose\n")
    cycles = find_cycles(import_graph(tmp_path))
    assert len(cycles) == 1
    assert {"core.data.abc", "core.generation.compose", "core.generation.abc_compose"} <= set(cycles[0])


def test_relative_imports_and_two_module_cycles_are_found(tmp_path):
    pkg = tmp_path / "core" / "x"
    pkg.mkdir(parents=True)
    (tmp_path / "core" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("import core.x.a\n")
    (pkg / "c.py").write_text("from .a import thing\n")
    graph = import_graph(tmp_path)
    assert graph["core.x.a"] == {"core.x.b"} and graph["core.x.c"] == {"core.x.a"}
    assert find_cycles(graph) == [["core.x.a", "core.x.b"]]


def test_core_reads_as_the_flow():
    top = sorted(p.name for p in (ROOT / "core").glob("*.py"))
    assert len(top) <= 12, top
    for stage in ("data", "tokenizers", "models", "training", "generation", "audio", "evaluation", "survey", "cli"):
        assert (ROOT / "core" / stage / "__init__.py").is_file(), stage


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function without its docstring."""
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:] or body
    return node.end_lineno - body[0].lineno + 1 + (body[0].lineno - node.lineno > 0)


def test_files_and_functions_stay_small_or_say_why():
    long_files, long_functions = [], []
    for path in list(project_files(ROOT).values()) + [ROOT / "app.py"]:
        src = path.read_text()
        if len(src.splitlines()) > MAX_FILE_LINES and REASON not in "\n".join(src.splitlines()[:15]):
            long_files.append(f"{path.relative_to(ROOT)}: {len(src.splitlines())} lines")
        lines = src.splitlines()
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _code_lines(node) > MAX_FUNCTION_LINES:
                top = "\n".join(lines[node.lineno - 1 : node.lineno + 12])
                if REASON not in top:
                    long_functions.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert long_files == [] and long_functions == []


def test_no_streamlit_in_core_and_no_sql_in_pages():
    core = "\n".join(p.read_text() for p in (ROOT / "core").rglob("*.py"))
    assert "import streamlit" not in core and "from streamlit" not in core
    pages = "\n".join(p.read_text() for p in (ROOT / "pages").rglob("*.py")) + (ROOT / "app.py").read_text()
    assert "sqlalchemy" not in pages and "sqlite3" not in pages
