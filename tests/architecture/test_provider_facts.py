"""Each backend is the single source of its provider facts: the kernel (keys, prices), the estimate, doctor
and the registry name no built-in provider. A new video API is one module plus one entry-point line."""

from __future__ import annotations

import re
from pathlib import Path

from ttv.backends import registry
from ttv.core import keys, prices

ROOT = Path(__file__).resolve().parents[2]
NEUTRAL = ("ttv/core/keys.py", "ttv/core/prices.py", "ttv/core/catalog.py", "ttv/pipeline/estimate.py",
           "ttv/pipeline/doctor.py", "ttv/backends/registry.py", "ttv/backends/base.py", "ttv/backends/keycheck.py")


def provider_names() -> set[str]:
    """Names of the paid or local built-ins, their key providers and price columns (not "diffusers": it is
    also the library every local backend uses)."""
    names: set[str] = set(keys.providers()) | set(prices.providers())
    for cls in registry.load_all():
        if cls.__module__.startswith("ttv.") and (cls.key_provider is not None or cls.extra == "local"):
            names.add(cls.name)
    names.discard("diffusers")
    return names


def test_no_provider_name_outside_its_backend() -> None:
    names = provider_names()
    assert {"runway", "google", "fal", "minimax", "openai", "veo", "wan", "ltx", "hunyuan"} <= names
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(n) for n in sorted(names)) + r")(?![\w-])", re.I)
    found = []
    for rel in NEUTRAL:
        for no, line in enumerate((ROOT / rel).read_text(encoding="utf-8").splitlines(), 1):
            m = pattern.search(line)
            if m:
                found.append(f"{rel}:{no}: {m.group(0)!r} in {line.strip()[:100]}")
    assert found == []


def test_no_provider_module_imports_a_sibling_provider() -> None:
    """Shared helpers live in *_common.py modules (or common/planner_common), never in a provider."""
    remote = ROOT / "ttv" / "backends" / "remote"
    providers = {p.stem for p in remote.glob("*.py") if not p.stem.endswith("common") and p.stem != "__init__"}
    bad = []
    for path in remote.glob("*.py"):
        for m in re.finditer(r"from ttv\.backends\.remote\.(\w+) import|import ttv\.backends\.remote\.(\w+)",
                             path.read_text(encoding="utf-8")):
            target = m.group(1) or m.group(2)
            if target in providers and target != path.stem:
                bad.append(f"{path.name} imports {target}")
    assert bad == []
