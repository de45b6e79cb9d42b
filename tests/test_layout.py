"""The package layout: public surfaces resolve, and no module imports another that imports it back."""

import ast
import importlib
from pathlib import Path

import pytest

import motionlens

ROOT = Path(motionlens.__file__).parent


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = ["motionlens", *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str], root: Path = ROOT) -> set[str]:
    """Every motionlens module `path` imports, lazy imports inside functions included."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names)
    return {m for m in found if m in modules and m != name}


def import_cycles(root: Path = ROOT) -> list[list[str]]:
    paths = {module_name(p, root): p for p in root.rglob("*.py")}
    graph = {name: imports_of(path, set(paths), root) for name, path in paths.items()}
    cycles, done = [], set()

    def visit(node, stack):
        if node in stack:
            cycles.append(stack[stack.index(node):] + [node])
            return
        if node in done:
            return
        for target in sorted(graph[node]):
            visit(target, stack + [node])
        done.add(node)

    for name in sorted(graph):
        visit(name, [])
    return cycles


def test_no_import_cycles():
    assert import_cycles() == []


def test_the_cycle_check_finds_a_cycle(tmp_path):
    package = tmp_path / "motionlens"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from .b import g\n")  # lazy: still a cycle
    (package / "b.py").write_text("from motionlens.a import f\n")
    assert import_cycles(package) == [["motionlens.a", "motionlens.b", "motionlens.a"]]


@pytest.mark.parametrize("package", ["motionlens.data", "motionlens.dataprep", "motionlens.training",
                                     "motionlens.deploy", "motionlens.video", "motionlens.models", "motionlens.flow"])
def test_public_surface_resolves(package):
    module = importlib.import_module(package)
    assert module.__all__
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'not_there'"):
        module.not_there  # noqa: B018
