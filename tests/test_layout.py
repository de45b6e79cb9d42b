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


# Modules without a test file of their own name, and where they are tested. A new module must get
# tests/<package>/test_<module>*.py or a line here, so a missing test file shows in review.
TESTED_ELSEWHERE = {
    "core.exports": "tests/test_layout.py (every package's public surface resolves)",
    "core.errors": "tests/cli/test_errors.py (one-line errors, exit codes)",
    "core.progress": "the CLI tests (bars and counters on stderr)",
    "core.device": "tests/cli/test_errors.py (unknown or missing devices), tests/deploy/test_predict.py",
    "cli.ava": "tests/dataprep/test_ava.py and test_hara.py (the ava commands end to end)",
    "cli.options": "tests/deploy/test_archive.py (--ray flags)",
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
    "video.container": "tests/video/test_probe.py, tests/video/test_decode_real_files.py",
    "video.frame_dir": "tests/video/test_decode.py (frame folders read as videos)",
    "video.annotate": "tests/deploy/test_predict.py (--output-video)",
    "deploy.export_dir": "tests/deploy/test_export.py (folders read back, incomplete and foreign ones refused)",
    "deploy.calibrate": "tests/deploy/test_export.py (int8 calibration and the accuracy guard on a trained run)",
    "deploy.runtime_eval": "tests/deploy/test_backends.py, test_export.py (eval on each runtime and on an export)",
    "flow.storage": "tests/flow/test_extract.py, tests/data/test_flow_dataset.py",
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
