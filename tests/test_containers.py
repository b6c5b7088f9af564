"""Static checks of the container files (docker/, .dockerignore, the check scripts). Building and running the
images is scripts/check_images.sh's job (podman, minutes); these only keep the files consistent with the project."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILES = [ROOT / "docker" / "Dockerfile.cpu", ROOT / "docker" / "Dockerfile.cuda"]


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", "\n".join(ln for ln in path.read_text().splitlines() if not ln.lstrip().startswith("#")))
    out = []
    for line in text.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def final_stage(path: Path) -> list[tuple[str, str]]:
    ins = instructions(path)
    last_from = max(i for i, (word, _) in enumerate(ins) if word == "FROM")
    return ins[last_from:]


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_shape(path: Path) -> None:
    ins = instructions(path)
    assert ins[0][0] == "ARG" and ins[0][1].startswith("BASE="), "the base image is a build argument"
    froms = [rest for word, rest in ins if word == "FROM"]
    assert froms == ["${BASE} AS build", "${BASE}"], "two stages on the same base: build, then a clean final stage"
    final = final_stage(path)
    words = [w for w, _ in final]
    assert ("USER", "1000:1000") in final, "non-root by default"
    assert ("ENTRYPOINT", '["ttv"]') in final
    assert any(w == "COPY" and r.startswith("--from=build /opt/venv") for w, r in final)
    assert "RUN" in words and not any(w == "RUN" and "pip" in r for w, r in final), "no pip run in the final stage"
    env = " ".join(r for w, r in final if w == "ENV")
    for setting in ("TTV_HOME=/config", "HF_HOME=/cache/huggingface", "PATH=/opt/venv/bin:$PATH"):
        assert setting in env
    volumes = [json.loads(r) for w, r in final if w == "VOLUME"]
    assert volumes == [["/config", "/cache"]], "keys file (TTV_HOME) and model cache on volumes"
    # pip's index settings are build arguments of the build stage only: never baked into the final image.
    build = ins[: ins.index(final[0])]
    assert ("ARG", "PIP_INDEX_URL") in build and not any(w == "ARG" and r.startswith("PIP_") for w, r in final)
    assert not any(w == "ENV" and "PIP_INDEX_URL" in r for w, r in ins)


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_version_label_defaults_to_the_project_version(path: Path) -> None:
    match = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert match
    version = match.group(1)
    final = final_stage(path)
    assert ("ARG", f"VERSION={version}") in final
    assert any(w == "LABEL" and 'org.opencontainers.image.version="${VERSION}"' in r for w, r in final)


def test_cuda_image_installs_pinned_torch_first_and_never_torchvision() -> None:
    path = ROOT / "docker" / "Dockerfile.cuda"
    ins = instructions(path)
    assert ("ARG", "TORCH=torch==2.13.0") in ins
    runs = [r for w, r in ins if w == "RUN"]
    torch_run = next(i for i, r in enumerate(runs) if '"$TORCH"' in r)
    project_run = next(i for i, r in enumerate(runs) if '".[${EXTRAS}]"' in r)
    assert torch_run < project_run
    assert "torchvision" not in path.read_text().replace("Never torchvision", "")
    extras = next(r for w, r in ins if w == "ARG" and r.startswith("EXTRAS="))
    assert {"local", "ray"} <= set(extras.split("=", 1)[1].split(","))


def test_cpu_image_has_no_torch() -> None:
    ins = instructions(ROOT / "docker" / "Dockerfile.cpu")
    extras = next(r for w, r in ins if w == "ARG" and r.startswith("EXTRAS="))
    assert "local" not in extras.split("=", 1)[1].split(",")
    assert "torch" not in " ".join(r for w, r in ins if w == "RUN")


def test_dockerignore_keeps_the_context_to_what_the_images_copy() -> None:
    lines = [ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines[0] == "*"
    allowed = {ln[1:].rstrip("/") for ln in lines if ln.startswith("!")}
    copied = set()
    for path in DOCKERFILES:
        for word, rest in instructions(path):
            if word == "COPY" and not rest.startswith("--from"):
                copied.update(rest.split()[:-1])
    assert copied == allowed == {"pyproject.toml", "README.md", "ttv"}


def test_ray_compose_recipe() -> None:
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((ROOT / "docker" / "ray-cluster.yml").read_text())
    services = compose["services"]
    assert set(services) == {"ray-head", "ray-worker", "ttv"}
    for svc in services.values():
        assert svc["image"] == "${TTV_IMAGE:-ttv:cuda}"
    head, worker, driver = services["ray-head"], services["ray-worker"], services["ttv"]
    assert head["entrypoint"] == ["ray"] and "--head" in head["command"]
    assert "--ray-client-server-port=10001" in head["command"] and "--port=6379" in head["command"]
    assert worker["command"][:2] == ["start", "--address=ray-head:6379"]
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]
    assert driver["entrypoint"] == ["ttv"]
    assert any(v.endswith(":/films") for v in driver["volumes"])
    # The documented driver command is the one the recipe's test runs (scripts/check_ray_cluster.sh).
    check = (ROOT / "scripts" / "check_ray_cluster.sh").read_text()
    assert "--executor ray --address ray://ray-head:10001" in check
    assert "--executor ray --address ray://ray-head:10001" in (ROOT / "docker" / "ray-cluster.yml").read_text()


@pytest.mark.parametrize("name", ["check_images.sh", "check_ray_cluster.sh"])
def test_check_scripts_parse(name: str) -> None:
    path = ROOT / "scripts" / name
    assert path.stat().st_mode & 0o111, f"{name} is executable"
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    subprocess.run([bash, "-n", str(path)], check=True)
