"""Backends: video generators, keyframe image providers and planners, behind one interface.

Importing this package tells the kernel how to see every installed backend (ttv/core/catalog.py): the
registry's `load_all` imports each entry-point class once, which registers its key provider and price
rows. Nothing is imported until the kernel needs the full list.
"""

from __future__ import annotations

from ttv.core import catalog


def _load_all_backends() -> None:
    from ttv.backends import registry

    registry.load_all()


catalog.add_loader(_load_all_backends)
