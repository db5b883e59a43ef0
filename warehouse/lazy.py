"""Modules loaded on first use, so a one-shot command does not pay for libraries it never calls.

`model_registry = lazy("tools.model_registry")` at the top of a module gives a stand-in at once;
the real module (and its imports: scikit-learn, skops, scipy, ...) is imported the first time an
attribute is read, by the ordinary import machinery, so it is thread-safe (a page serving many
sessions) and the real module is what `sys.modules` and every other importer see. Use it for
module-level names only read inside functions; a name needed at import time (a base class, a
decorator, a default value) must be imported normally.

Tool modules are imported whenever the agent starts (tools/registry.py reads their signatures),
so they reach heavy libraries this way or inside the functions that use them;
tests/test_startup.py checks that an offline `assistant ask` loads none of them.
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType


class _Lazy(ModuleType):
    """Stands in for the module `name` until an attribute is first read."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__lazy_lock = threading.Lock()
        self.__lazy_module: ModuleType | None = None

    def __getattr__(self, attr: str):
        module = self.__lazy_module
        if module is None:
            with self.__lazy_lock:
                if self.__lazy_module is None:
                    self.__lazy_module = importlib.import_module(self.__name__)
                module = self.__lazy_module
        return getattr(module, attr)

    def __dir__(self) -> list[str]:
        return dir(importlib.import_module(self.__name__))


def lazy(name: str) -> ModuleType:
    """A stand-in for the module `name` that imports it on first attribute access."""
    return _Lazy(name)
