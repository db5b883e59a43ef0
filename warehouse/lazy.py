"""Modules loaded on first use, so a one-shot command does not pay for libraries it never calls.

`lazy("tools.propensity")` returns the module object at once and runs the module (and its
imports: scikit-learn, skops, ...) only when an attribute is first read. It is the recipe of the
importlib documentation (`importlib.util.LazyLoader`). Use it for module-level names that are
only read inside functions; a name needed at import time (a base class, a decorator) must be
imported normally.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy(name: str) -> ModuleType:
    """The module `name`, executed on first attribute access (at once if already imported)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
