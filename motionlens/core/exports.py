"""Lazy package exports (PEP 562): a package names its public surface without importing every module
(so `import motionlens.data` stays light and package imports cannot form cycles)."""

from __future__ import annotations

import importlib
from typing import Callable


def lazy_exports(package: str, table: dict[str, list[str]]) -> tuple[Callable, Callable, list[str]]:
    """`(__getattr__, __dir__, __all__)` for `package`, from {module: [public names]}."""
    where = {name: module for module, names in table.items() for name in names}

    def __getattr__(name: str):
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__, sorted(where)
