"""Packaging tells the truth: every declared dependency is used by ttv, and the Python floor matches
what the code needs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Distribution name -> the module ttv imports.
IMPORT_NAME = {"pillow": "PIL", "tomli-w": "tomli_w", "ffmpeg-python": "ffmpeg", "imageio-ffmpeg": "imageio_ffmpeg",
               "nvidia-ml-py": "pynvml", "google-genai": "google.genai", "fal-client": "fal_client"}
# Packages an extra installs for a library to use at run time, never imported by ttv itself.
RUNTIME_ONLY = {"accelerate", "transformers", "ftfy", "sentencepiece", "protobuf"}


def _requirements(group: list[str]) -> list[str]:
    return [re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0].lower() for req in group if not req.startswith("ttv[")]


def _sources() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "ttv").rglob("*.py"))


def _imported(module: str, text: str) -> bool:
    return re.search(rf"^\s*(import|from)\s+{re.escape(module)}(\s|\.|$)", text, re.M) is not None


def test_every_declared_dependency_is_imported() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    text = _sources()
    declared = _requirements(project["dependencies"])
    for extra in ("local", "remote", "openai", "tui", "ray"):
        declared += _requirements(project["optional-dependencies"][extra])
    unused = [name for name in declared if name not in RUNTIME_ONLY
              and not _imported(IMPORT_NAME.get(name, name.replace("-", "_")), text)]
    assert not unused, f"declared but never imported: {unused}"


def test_python_floor_matches_the_code() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"  # tomllib is imported unguarded
    assert _imported("tomllib", _sources())


def test_nothing_users_see_cites_files_they_do_not_have() -> None:
    # The steering folder (design document, reference notes) is not part of the product.
    cited = re.compile(r"\.\./shared|shared/reference|DESIGN\.md|providers\.md|models\.md|upstream-lessons|"
                       r"parallel-continuation\.md")
    places = [*(ROOT / "ttv").rglob("*.py"), ROOT / "README.md", *(ROOT / "docs").rglob("*.md"),
              *(ROOT / "benchmarks").rglob("*"), *(ROOT / "scripts").rglob("*"), *(ROOT / "docker").rglob("*")]
    found = [f"{p.relative_to(ROOT)}:{n}" for p in places if p.is_file() and p.suffix not in (".pyc",)
             for n, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
             if cited.search(line)]
    assert not found, found
