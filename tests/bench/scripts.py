"""Loading a ``bench/`` script as a module in the tests (the scripts are not a package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load_bench(stem: str) -> ModuleType:
    """``bench/<stem>.py`` as the module ``bench_<stem>``, loaded once."""
    name = f"bench_{stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{stem}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    path = list(sys.path)
    try:
        spec.loader.exec_module(module)
    finally:  # it puts bench/ first on the path, for its own imports: not for the tests after it
        sys.path[:] = path
    return module
