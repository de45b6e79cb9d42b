"""The package layout: packages import only the layers below them, no module or package imports
another that imports it back, public surfaces resolve, and every module has its tests."""

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
    return find_cycles(module_imports(root))


def module_imports(root: Path = ROOT) -> dict[str, set[str]]:
    paths = {module_name(p, root): p for p in root.rglob("*.py")}
    return {name: imports_of(path, set(paths), root) for name, path in paths.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle a depth-first walk meets, each as [a, b, ..., a]."""
    cycles, done = [], set()

    def visit(node, stack):
        if node in stack:
            cycles.append(stack[stack.index(node):] + [node])
            return
        if node in done:
            return
        for target in sorted(graph.get(node, ())):
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


# Allowed package dependencies, one layer on another: a unit (a package under motionlens/, or a
# top-level module) may import itself and the units listed here, nothing else. Lazy imports inside
# functions and TYPE_CHECKING imports count: they are the same dependency, only deferred.
# `labels` (the shipped label sets) sits beside `core` at the bottom: it only imports core.errors.
ANY = None  # the entry points (CLI, demo, the package's own facade) may import every layer
BOTTOM = {"core", "labels"}
LAYERS: dict[str, set[str] | None] = {
    "core": set(),
    "labels": {"core"},
    "video": BOTTOM,
    "models": BOTTOM,
    "config": BOTTOM | {"models"},
    "report": BOTTOM | {"video"},
    "data": BOTTOM | {"video", "models", "config"},
    "dataprep": BOTTOM | {"video", "models", "config", "data"},
    "training": BOTTOM | {"video", "models", "config", "data", "report"},
    "deploy": BOTTOM | {"video", "models", "config", "data", "training"},
    "detect": BOTTOM | {"video", "models", "config", "data", "dataprep", "training"},
    "demo": ANY,
    "cli": ANY,
    "__main__": ANY,
    "__init__": ANY,
}

# Known violations, each to be removed with the import that needs it: (importing module, imported module).
# Imports allowed against the table for a while, each with its reason; a stale entry fails
# test_layers_are_respected. Empty: every import follows the table.
TEMPORARY_EXCEPTIONS: set[tuple[str, str]] = set()


def unit_of(module: str) -> str:
    """"motionlens.data.index" -> "data"; "motionlens.config" -> "config"; "motionlens" -> "__init__"."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layer_violations(root: Path = ROOT, layers: dict = LAYERS, exceptions: set = frozenset()) -> list[str]:
    """"importer -> imported (unit -> unit)" for every import the table does not allow."""
    found = []
    for module, imported in sorted(module_imports(root).items()):
        unit = unit_of(module)
        if unit not in layers:
            found.append(f"{module}: unit '{unit}' is not in the layer table")
            continue
        allowed = layers[unit]
        for target in sorted(imported):
            other = unit_of(target)
            if allowed is ANY or other == unit or other in allowed or (module, target) in exceptions:
                continue
            found.append(f"{module} -> {target} ({unit} may not import {other})")
    return found


def package_cycles(root: Path = ROOT, exceptions: set = frozenset()) -> list[list[str]]:
    """Cycles in the graph of units (an edge per import between two units)."""
    graph: dict[str, set[str]] = {}
    for module, imported in module_imports(root).items():
        edges = graph.setdefault(unit_of(module), set())
        edges.update(unit_of(t) for t in imported if (module, t) not in exceptions)
    for unit, edges in graph.items():
        edges.discard(unit)
    return find_cycles(graph)


def test_layers_are_respected():
    assert layer_violations(exceptions=TEMPORARY_EXCEPTIONS) == []
    graph = module_imports()
    stale = sorted(e for e in TEMPORARY_EXCEPTIONS if e[1] not in graph.get(e[0], set()))
    assert stale == [], f"these imports are gone: remove them from TEMPORARY_EXCEPTIONS: {stale}"


def test_no_package_cycles():
    assert package_cycles(exceptions=TEMPORARY_EXCEPTIONS) == []
    layered = {unit: deps for unit, deps in LAYERS.items() if deps is not ANY}
    assert find_cycles(layered) == []  # the table itself is a stack of layers


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root / "motionlens"


def test_the_layer_check_finds_an_upward_import(tmp_path):
    package = _tree(tmp_path, {
        "motionlens/__init__.py": "", "motionlens/core/__init__.py": "", "motionlens/video/__init__.py": "",
        "motionlens/core/paths.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                    "    from ..video.decode import Clip\n",
        "motionlens/video/decode.py": "from ..core import paths\n",  # downward: allowed
        "motionlens/extra.py": "",
    })
    assert layer_violations(package) == [
        "motionlens.core.paths -> motionlens.video.decode (core may not import video)",
        "motionlens.extra: unit 'extra' is not in the layer table",
    ]
    exempt = {("motionlens.core.paths", "motionlens.video.decode")}
    assert layer_violations(package, exceptions=exempt) == ["motionlens.extra: unit 'extra' is not in the layer table"]


def test_the_package_cycle_check_finds_a_cycle(tmp_path):
    package = _tree(tmp_path, {
        "motionlens/__init__.py": "", "motionlens/a/__init__.py": "", "motionlens/b/__init__.py": "",
        "motionlens/a/x.py": "def f():\n    from ..b.y import g\n",  # lazy: still a dependency
        "motionlens/b/y.py": "import motionlens.a.z\n",  # another module of `a`: no module cycle
        "motionlens/a/z.py": "",
    })
    assert import_cycles(package) == []
    assert package_cycles(package) == [["a", "b", "a"]]
    assert package_cycles(package, exceptions={("motionlens.b.y", "motionlens.a.z")}) == []


@pytest.mark.parametrize("package", ["motionlens.data", "motionlens.dataprep", "motionlens.training",
                                     "motionlens.deploy", "motionlens.video", "motionlens.models",
                                     "motionlens.detect"])
def test_public_surface_resolves(package):
    module = importlib.import_module(package)
    assert module.__all__
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'not_there'"):
        module.not_there  # noqa: B018


# Modules without a test file of their own name, and where they are tested. A new module must get
# tests/<package>/test_<module>*.py or a line here, so a missing test file shows in review.
TESTED_ELSEWHERE = {
    "core.exports": "tests/test_layout.py (every package's public surface resolves)",
    "core.errors": "tests/cli/test_errors.py (one-line errors, exit codes)",
    "core.progress": "the CLI tests (bars and counters on stderr)",
    "core.device": "tests/cli/test_errors.py (unknown or missing devices), tests/deploy/test_predict.py",
    "cli.ava": "tests/dataprep/test_ava.py and test_hara.py (the ava commands end to end)",
    "cli.ava_detect": "tests/detect/test_evaluate.py, test_train.py, test_predict.py (ava eval, train, predict)",
    "dataprep.ava_csv": "tests/dataprep/test_ava.py (ava build's rows), tests/detect/test_ava_files.py",
    "cli.synth": "tests/dataprep/test_synth.py (the synth command)",
    "cli.train": "tests/training/test_train.py, _learning.py (train, eval), tests/cli/test_data.py (lr-find)",
    "data.records": "tests/data/test_index.py, tests/data/test_layouts.py",
    "data.hara_json": "tests/dataprep/test_hara.py (written, then read back)",
    "data.resample": "tests/data/test_pipeline.py, tests/models/test_contracts.py",
    "dataprep.hara": "tests/dataprep/test_hara.py",
    "training.checkpoint": "tests/training/test_checkpoint_faults.py is test_checkpoint*; also test_runs.py",
    "training.distributed": "tests/training/test_train.py (2-process gloo run against a single process)",
    "training.evaluate": "tests/training/test_train.py, tests/training/test_train_learning.py",
    "models.base": "tests/models/test_all_models.py (the head interface on every model)",
    "models.cfg": "tests/models/test_contracts.py",
    "models.factory": "tests/models/test_registry.py, tests/models/test_weights.py",
    "video.container": "tests/video/test_probe.py, tests/video/test_reader_real_files.py",
    "video.annotate": "tests/deploy/test_predict.py (--output-video)",
    "deploy.export_dir": "tests/deploy/test_export.py (folders read back, incomplete and foreign ones refused)",
    "deploy.calibrate": "tests/deploy/test_export.py (int8 calibration and the accuracy guard on a trained run)",
    "deploy.runtime_eval": "tests/deploy/test_backends.py, test_export.py (eval on each runtime and on an export)",
}


def test_tests_mirror_the_package():
    tests = Path(__file__).parent
    missing = []
    for path in sorted(ROOT.rglob("*.py")):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        name = module_name(path).removeprefix("motionlens.")
        folder = tests.joinpath(*name.split(".")[:-1])
        if not list(folder.glob(f"test_{path.stem}.py")) + list(folder.glob(f"test_{path.stem}_*.py")) \
                and name not in TESTED_ELSEWHERE:
            missing.append(name)
    assert missing == [], f"modules with no tests/<package>/test_<module>*.py and no line in TESTED_ELSEWHERE: {missing}"
    assert sorted(n for n in TESTED_ELSEWHERE if not (ROOT / f"{n.replace('.', '/')}.py").exists()) == []
