"""How the kernel learns what the installed backends declare, without importing them.

The kernel (`keys`, `prices`) keeps registers that backend classes fill when they are defined
(`ttv.backends.base.Backend.__init_subclass__` registers a class's key provider and price rows). A
question about *everything* installed (an unknown provider name, `ttv keys list`, the provider
column of `[prices]`, redacting every environment key) first calls `load_everything()`, which runs
the loaders given to `add_loader` once per process. The backend registry installs the one loader
that matters: it imports every backend class named by the `ttv.backends` entry points, built-ins and
plugins alike. So the arrow stays kernel <- backends, and nothing is imported before it is needed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

_loaders: list[Callable[[], None]] = []
_loaded = False
_loading: int | None = None  # the thread running the loaders
_lock = threading.RLock()


def add_loader(loader: Callable[[], None]) -> None:
    """Register a function that defines (imports) every backend class it knows; run at the next need."""
    global _loaded
    with _lock:
        if loader not in _loaders:
            _loaders.append(loader)
            _loaded = False


def load_everything() -> None:
    """Run the loaders once per process (other threads wait until they are done)."""
    global _loaded, _loading
    if _loaded:
        return
    with _lock:
        if _loaded or _loading == threading.get_ident():
            return  # done, or a loader looking something up while it runs: no recursion
        _loading = threading.get_ident()
        try:
            for loader in list(_loaders):
                loader()
        finally:
            _loaded, _loading = True, None
