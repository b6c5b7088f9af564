#!/usr/bin/env bash
# Build and run the container images, in one command, on a Linux machine with no container registry:
#   1. a Debian base image made with mmdebstrap from this machine's Debian archive, imported with podman;
#   2. docker/Dockerfile.cpu built on it (host network; this machine's pip index settings passed in);
#   3. the README's offline film made inside that image, the project folder a volume owned by uid 1000;
#   4. `ttv doctor` inside it;
#   5. docker/Dockerfile.cuda's Python layer built on the same base with the CPU torch wheel instead of the
#      CUDA one, and `ttv doctor` inside it (it must say: no GPU);
#   6. with --ray: a Ray head and one CPU worker from a CPU image with the ray extra, rendering an offline
#      film through `ttv render --executor ray --address ray://...` from a third container; then the same
#      through docker/ray-cluster.yml with podman-compose (scripts/check_ray_cluster.sh).
# Usage: sudo bash scripts/check_images.sh [--ray] [--no-cuda] [--keep]   (needs root: podman, mmdebstrap)
# Installs podman, runc, mmdebstrap and buildah (and podman-compose for --ray) with apt-get when missing. Not part of the test suite.
# Environment: SUITE (bookworm), WORK (scratch folder, default a new temp dir), PODMAN_GLOBAL (podman's global
# options, default: runc and cgroupfs when /usr/sbin/runc exists), RUN_LIMITS (ulimits for `podman run`),
# TORCH_CPU (the CPU torch requirement for step 5, default torch==2.13.0+cpu).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

RAY=0; CUDA=1; KEEP=0
for arg in "$@"; do
  case "$arg" in
    --ray) RAY=1 ;;
    --no-cuda) CUDA=0 ;;
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/!p}' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

SUITE="${SUITE:-bookworm}"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)"
BASE_IMAGE="localhost/ttv-base:$SUITE"
CPU_IMAGE="localhost/ttv:$VERSION-cpu"
CUDA_IMAGE="localhost/ttv:$VERSION-cuda-cputorch"
RAY_IMAGE="localhost/ttv:$VERSION-cpu-ray"
TORCH_CPU="${TORCH_CPU:-torch==2.13.0+cpu}"
WORK="${WORK:-$(mktemp -d /tmp/ttv-images.XXXXXX)}"
mkdir -p "$WORK"
RESULTS="$WORK/results.txt"; : > "$RESULTS"

say() { printf '\n== %s\n' "$*" >&2; }
fail() { echo "FAIL: $*" >&2; exit 1; }
record() { printf '%s\n' "$*" | tee -a "$RESULTS" >&2; }

[ "$(id -u)" = 0 ] || fail "run as root (podman and mmdebstrap need it here)"

# ---- tools -------------------------------------------------------------------------------------------
need=()
for tool in podman mmdebstrap buildah; do command -v "$tool" >/dev/null || need+=("$tool"); done
[ -x /usr/sbin/runc ] || need+=(runc)
[ "$RAY" = 1 ] && ! command -v podman-compose >/dev/null && need+=(podman-compose)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]} (apt-get)"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc busybox-static mmdebstrap buildah \
    $([ "$RAY" = 1 ] && echo podman-compose) >/dev/null
fi
# crun fails on hybrid cgroup hierarchies (and raising rlimits may not be permitted): runc + cgroupfs, fixed ulimits.
if [ -z "${PODMAN_GLOBAL+x}" ]; then
  PODMAN_GLOBAL="--cgroup-manager=cgroupfs"
  [ -x /usr/sbin/runc ] && PODMAN_GLOBAL="--runtime /usr/sbin/runc $PODMAN_GLOBAL"
fi
RUN_LIMITS="${RUN_LIMITS:---ulimit nofile=1024:1024 --ulimit nproc=1024:1024}"
# shellcheck disable=SC2086
pm() { podman $PODMAN_GLOBAL "$@"; }
# shellcheck disable=SC2086
prun() { pm run --rm $RUN_LIMITS "$@"; }
size_of() { pm image inspect --format '{{.Size}}' "$1" | awk '{printf "%.0f MB", $1/1e6}'; }

# ---- this machine's pip settings, for the builds ----------------------------------------------------------
# `pip config list` (every config file) and PIP_* variables, as --build-arg; every local path they name (a
# find-links folder, a file:// index, a constraints file, a CA bundle) is mounted read-only into the build.
PIP_BUILD_ARGS=()
mapfile -t PIP_BUILD_ARGS < <(python3 - <<'PY'
import os, subprocess
keys = {"index-url": "PIP_INDEX_URL", "extra-index-url": "PIP_EXTRA_INDEX_URL", "find-links": "PIP_FIND_LINKS",
        "trusted-host": "PIP_TRUSTED_HOST", "constraint": "PIP_CONSTRAINT", "cert": "PIP_CERT",
        "default-timeout": "PIP_DEFAULT_TIMEOUT"}
found = {}
try:
    out = subprocess.run(["python3", "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
except OSError:
    out = ""
for line in out.splitlines():
    name, _, value = line.partition("=")
    key = name.rpartition(".")[2]
    if key in keys:  # later scopes (user, then env) override earlier ones
        found[keys[key]] = value.strip().strip("'\"")
for var in keys.values():
    if os.environ.get(var):
        found[var] = os.environ[var]
mounts = set()
for var, value in found.items():
    print("--build-arg"); print(f"{var}={value}")
    for item in value.split():
        path = item[len("file://"):] if item.startswith("file://") else item
        if not path.startswith("/") or not os.path.exists(path):
            continue
        if os.path.isdir(path) and os.path.basename(path.rstrip("/")) == "simple":
            path = os.path.dirname(path.rstrip("/"))  # a PEP 503 index links to ../files next to simple/
        mounts.add(path)
for path in sorted(mounts):
    print("--volume"); print(f"{path}:{path}:ro")
PY
)

build() {  # build NAME DOCKERFILE TAG [extra podman build args]
  local name="$1" file="$2" tag="$3"; shift 3
  local start=$SECONDS
  say "building $tag from $file"
  pm build --network host $RUN_LIMITS --layers --force-rm -f "$file" -t "$tag" \
    --build-arg "BASE=$BASE_IMAGE" --build-arg "VERSION=$VERSION" "${PIP_BUILD_ARGS[@]}" "$@" . \
    >"$WORK/build-$name.log" 2>&1 || { tail -40 "$WORK/build-$name.log" >&2; fail "podman build of $file (log: $WORK/build-$name.log)"; }
  record "$(printf '%-34s %8s  built in %ss' "$tag" "$(size_of "$tag")" "$((SECONDS - start))")"
}

# ---- 1. the Debian base ------------------------------------------------------------------------------
start=$SECONDS
if pm image exists "$BASE_IMAGE"; then
  say "$BASE_IMAGE exists (remove it with 'podman rmi $BASE_IMAGE' to rebuild it)"
else
  say "making $BASE_IMAGE with mmdebstrap ($SUITE, minbase + python3, python3-venv, ca-certificates)"
  sources=()
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    [ -s "$f" ] && grep -qv '^\s*#' "$f" && { sources=("$f"); break; }
  done
  mmdebstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    "$SUITE" "$WORK/base.tar" "${sources[@]}" >"$WORK/mmdebstrap.log" 2>&1 \
    || { tail -20 "$WORK/mmdebstrap.log" >&2; fail "mmdebstrap (log: $WORK/mmdebstrap.log)"; }
  pm import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/sh"]' "$WORK/base.tar" "$BASE_IMAGE" >/dev/null
  rm -f "$WORK/base.tar"
fi
record "$(printf '%-34s %8s  made in %ss' "$BASE_IMAGE" "$(size_of "$BASE_IMAGE")" "$((SECONDS - start))")"

# ---- 2. the CPU image ----------------------------------------------------------------------------------
build cpu docker/Dockerfile.cpu "$CPU_IMAGE"
[ "$(pm image inspect --format '{{index .Config.Labels "org.opencontainers.image.version"}}' "$CPU_IMAGE")" = "$VERSION" ] \
  || fail "$CPU_IMAGE: label org.opencontainers.image.version is not $VERSION"
[ "$(pm image inspect --format '{{.Config.User}}' "$CPU_IMAGE")" = "1000:1000" ] || fail "$CPU_IMAGE does not run as uid 1000"
prun --entrypoint sh "$CPU_IMAGE" -c 'for t in gcc cc make pip pip3; do command -v $t && exit 1; done; exit 0' \
  || fail "$CPU_IMAGE has a compiler or pip in it"
[ "$(prun --entrypoint id "$CPU_IMAGE" -u)" = 1000 ] || fail "$CPU_IMAGE does not run as uid 1000"

# ---- 3. the README's offline film inside it, the project folder a volume owned by uid 1000 ---------------
FILMS="$WORK/films"
install -d -o 1000 -g 1000 "$FILMS"
install -d -o 1000 -g 1000 -m 0700 "$WORK/config"
IDEA="A lighthouse keeper finds a message in a bottle. She follows its map across a stormy sea. On a tiny island she finds the writer, her lost brother. At dawn they sail home together."
say "making the README's offline film inside $CPU_IMAGE (project folder: $FILMS/demo-film)"
start=$SECONDS
prun -v "$FILMS:/films" -v "$WORK/config:/config" "$CPU_IMAGE" init demo-film --mode keyframe --duration 30 --segments 6 \
  --width 1280 --height 720 --fps 24 --idea "$IDEA" >/dev/null 2>"$WORK/film.log" || { cat "$WORK/film.log" >&2; fail "ttv init in the container"; }
prun -v "$FILMS:/films" -v "$WORK/config:/config" "$CPU_IMAGE" run -p demo-film >>"$WORK/film.log" 2>&1 \
  || { tail -30 "$WORK/film.log" >&2; fail "ttv run in the container"; }
film_s=$((SECONDS - start))
[ -s "$FILMS/demo-film/final.mp4" ] || fail "no final.mp4 in the project volume"
[ "$(stat -c %u "$FILMS/demo-film/final.mp4")" = 1000 ] || fail "final.mp4 is not owned by uid 1000"
probe=$(prun -v "$FILMS:/films:ro" --entrypoint python "$CPU_IMAGE" -c '
import av
with av.open("demo-film/final.mp4") as c:
    s = c.streams.video[0]
    print(f"{s.codec_context.width}x{s.codec_context.height} {float(s.average_rate):g} fps {sum(1 for _ in c.decode(s))} frames")')
[ "$probe" = "1280x720 24 fps 720 frames" ] || fail "final.mp4 is $probe, expected 1280x720 24 fps 720 frames"
again=$(prun -v "$FILMS:/films" -v "$WORK/config:/config" "$CPU_IMAGE" estimate -p demo-film -q >/dev/null 2>&1 && echo "nothing to do" || echo "work left")
[ "$again" = "nothing to do" ] || fail "after the run, ttv estimate -q says work remains"
record "offline film in $CPU_IMAGE: demo-film/final.mp4 $probe, $(du -k "$FILMS/demo-film/final.mp4" | cut -f1) KB, owned by uid 1000, made in ${film_s}s; re-run: nothing to do"

# ---- 4. ttv doctor inside ------------------------------------------------------------------------------
say "ttv doctor in $CPU_IMAGE"
prun "$CPU_IMAGE" doctor >"$WORK/doctor-cpu.txt" 2>&1 || { cat "$WORK/doctor-cpu.txt" >&2; fail "ttv doctor in $CPU_IMAGE"; }
cat "$WORK/doctor-cpu.txt" >&2
record "ttv doctor in $CPU_IMAGE: $(tail -1 "$WORK/doctor-cpu.txt")"

gpu_check() {  # gpu_check IMAGE: doctor --json, print the gpu and torch checks; fail unless gpu says no GPU
  prun "$1" doctor --json >"$WORK/doctor.json" 2>/dev/null || true
  python3 - "$WORK/doctor.json" <<'PY'
import json, sys
checks = {c["name"]: c for c in json.load(open(sys.argv[1]))["checks"]}
gpu = checks["gpu"]
for name in ("gpu", "torch"):
    if name in checks:
        print(f"{name}: {checks[name]['status']}: {checks[name]['detail']}")
sys.exit(0 if gpu["status"] != "ok" and "no NVIDIA GPU" in gpu["detail"] else 1)
PY
}
gpu_check "$CPU_IMAGE" >/dev/null || fail "doctor in $CPU_IMAGE does not say 'no NVIDIA GPU'"

# ---- 5. the CUDA Dockerfile's Python layer, with the CPU torch wheel -------------------------------------
if [ "$CUDA" = 1 ]; then
  build cuda docker/Dockerfile.cuda "$CUDA_IMAGE" --build-arg "TORCH=$TORCH_CPU"
  say "ttv doctor in $CUDA_IMAGE (no GPU here: it must say so)"
  prun "$CUDA_IMAGE" doctor >"$WORK/doctor-cuda.txt" 2>&1 || true
  cat "$WORK/doctor-cuda.txt" >&2
  out=$(gpu_check "$CUDA_IMAGE") || { echo "$out" >&2; fail "doctor in $CUDA_IMAGE does not report the missing GPU"; }
  prun --entrypoint python "$CUDA_IMAGE" -c 'import torch, diffusers, ray; assert not torch.cuda.is_available()' \
    || fail "torch/diffusers/ray do not import in $CUDA_IMAGE"
  record "ttv doctor in $CUDA_IMAGE: $(echo "$out" | tr '\n' ';' | sed 's/;$//')"
  # In a project whose video backend is a local model, doctor imports torch and must fail on the missing GPU.
  prun -v "$FILMS:/films" "$CUDA_IMAGE" init wan-film --backend wan --idea "$IDEA" >/dev/null 2>&1 || fail "ttv init --backend wan"
  if prun -v "$FILMS:/films" "$CUDA_IMAGE" doctor -p wan-film --json >"$WORK/doctor.json" 2>/dev/null; then
    fail "ttv doctor in a wan project passed in $CUDA_IMAGE, with no GPU"
  fi
  out=$(python3 - "$WORK/doctor.json" <<'PY'
import json, sys
checks = {c["name"]: c for c in json.load(open(sys.argv[1]))["checks"]}
gpu, torch = checks["gpu"], checks["torch"]
print(f"gpu: {gpu['status']}: {gpu['detail']}; torch: {torch['status']}: {torch['detail']}")
sys.exit(0 if gpu["status"] == "fail" and "no NVIDIA GPU" in gpu["detail"] and "CPU build" in torch["detail"] else 1)
PY
) || { echo "$out" >&2; fail "doctor in a wan project in $CUDA_IMAGE does not report the missing GPU and the CPU torch"; }
  record "ttv doctor -p wan-film (backend wan) in $CUDA_IMAGE: exit 1, $out"
fi

# ---- 6. Ray: a head and one CPU worker, the film rendered through --executor ray -------------------------
if [ "$RAY" = 1 ]; then
  build ray docker/Dockerfile.cpu "$RAY_IMAGE" --build-arg EXTRAS=remote,openai,tui,ray
  bash scripts/check_ray_cluster.sh "$RAY_IMAGE" "$WORK" | tee -a "$RESULTS" >&2 || fail "the Ray cluster check"
fi

say "results (also in $RESULTS)"
cat "$RESULTS"
if [ "$KEEP" = 0 ]; then
  # The project folder belongs to uid 1000; the images stay (podman rmi to remove them).
  rm -rf "$FILMS" "$WORK/config"
fi
echo "check_images: all checks passed"
