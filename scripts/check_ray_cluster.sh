#!/usr/bin/env bash
# The Ray recipe of docker/ray-cluster.yml, exercised with podman on a machine without GPUs: a Ray head and one
# CPU worker (containers on their own network), and a third container, holding the project folder, that renders
# an offline film through them with `ttv render --executor ray --address ray://ray-head:10001`. Checks that every
# clip was made in the worker's container (the records name the Ray node), then stitches the film.
# Then, when podman-compose is installed, the same with docker/ray-cluster.yml itself: `up -d ray-head ray-worker`
# and `run --rm ttv run -p FILM --executor ray --address ray://ray-head:10001` (podman-compose 1.0 ignores the
# file's GPU reservation, so the worker is a CPU worker here).
# Usage: bash scripts/check_ray_cluster.sh IMAGE [WORK]   (IMAGE: ttv with the ray extra; check_images.sh --ray
# builds one). Uses PODMAN_GLOBAL and RUN_LIMITS as check_images.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE="${1:?usage: check_ray_cluster.sh IMAGE [WORK]}"
WORK="${2:-$(mktemp -d /tmp/ttv-ray.XXXXXX)}"
if [ -z "${PODMAN_GLOBAL+x}" ]; then
  PODMAN_GLOBAL="--cgroup-manager=cgroupfs"
  [ -x /usr/sbin/runc ] && PODMAN_GLOBAL="--runtime /usr/sbin/runc $PODMAN_GLOBAL"
fi
RUN_LIMITS="${RUN_LIMITS:---ulimit nofile=1024:1024 --ulimit nproc=1024:1024}"
# shellcheck disable=SC2086
pm() { podman $PODMAN_GLOBAL "$@"; }
# shellcheck disable=SC2086
prun() { pm run --rm $RUN_LIMITS "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

ID="ttv-ray-$$"
NET="$ID"
HEAD="$ID-head"
WORKER="$ID-worker"
PC=(podman-compose --podman-args "$PODMAN_GLOBAL" --podman-run-args "$RUN_LIMITS" -p "$ID" -f docker/ray-cluster.yml)
cleanup() {
  pm rm -f -v -t 2 "$HEAD" "$WORKER" >/dev/null 2>&1 || true
  pm network rm -f "$NET" >/dev/null 2>&1 || true
  if [ -n "${COMPOSE_UP:-}" ]; then
    "${PC[@]}" down -v -t 2 >/dev/null 2>&1 || true
    pm network rm -f "${ID}_default" >/dev/null 2>&1 || true
    # podman-compose 1.0 leaves the anonymous volumes of the image's VOLUMEs behind: remove the unused new ones.
    for vol in $(pm volume ls -q); do
      case " $VOLUMES_BEFORE " in *" $vol "*) continue ;; esac
      [[ "$vol" =~ ^[0-9a-f]{64}$ ]] && pm volume rm "$vol" >/dev/null 2>&1 || true
    done
  fi
}
trap cleanup EXIT
start=$SECONDS

pm network create "$NET" >/dev/null 2>&1 || fail "podman network create $NET"
# Small shared memory and object store: the clips are a few MB. The head gets no CPUs for tasks, so the
# segment actor (one CPU, as the cluster has no GPU) can only run on the worker.
RAY_NODE_ARGS=(--shm-size 256m --network "$NET" --entrypoint ray)
# shellcheck disable=SC2086
pstart() { pm run -d $RUN_LIMITS "$@" >/dev/null; }  # no --rm: its logs stay until cleanup
running() { [ "$(pm inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }
pstart --name "$HEAD" --hostname ray-head --network-alias ray-head "${RAY_NODE_ARGS[@]}" "$IMAGE" \
  start --head --block --port=6379 --ray-client-server-port=10001 --num-cpus=0 --num-gpus=0 \
  --object-store-memory=100000000
for _ in $(seq 60); do
  running "$HEAD" || break
  pm exec "$HEAD" ray health-check --address localhost:6379 >/dev/null 2>&1 && break
  sleep 2
done
pm exec "$HEAD" ray health-check --address localhost:6379 || { pm logs "$HEAD" | tail -30 >&2; fail "the Ray head did not come up"; }
pstart --name "$WORKER" --hostname ray-worker "${RAY_NODE_ARGS[@]}" "$IMAGE" \
  start --address=ray-head:6379 --block --num-cpus=1 --num-gpus=0 --object-store-memory=100000000
worker_ip=$(pm inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$WORKER")
for _ in $(seq 60); do
  running "$WORKER" || break
  nodes=$(pm exec "$HEAD" python -c 'import ray; ray.init(address="auto", logging_level="ERROR"); print(sum(1 for n in ray.nodes() if n["Alive"]))' 2>/dev/null || true)
  [ "$nodes" = 2 ] && break
  sleep 2
done
[ "$nodes" = 2 ] || { pm logs "$WORKER" | tail -30 >&2; fail "the Ray worker did not join the head (alive nodes: ${nodes:-?})"; }
echo "ray cluster: head + 1 CPU worker ($worker_ip) up in $((SECONDS - start))s"

FILMS="$WORK/ray-films"
install -d -o 1000 -g 1000 "$FILMS"
P=(-v "$FILMS:/films")
prun "${P[@]}" "$IMAGE" init ray-film --mode keyframe --duration 8 --segments 2 --width 640 --height 360 --fps 24 \
  --idea "A lighthouse keeper finds a message in a bottle. At dawn she sails home." >/dev/null 2>&1 || fail "ttv init"
prun "${P[@]}" "$IMAGE" plan -p ray-film >/dev/null 2>&1 || fail "ttv plan"
prun "${P[@]}" "$IMAGE" keyframes -p ray-film >/dev/null 2>&1 || fail "ttv keyframes"
render_start=$SECONDS
render() { prun "${P[@]}" --network "$NET" "$IMAGE" render -p ray-film --executor ray --address ray://ray-head:10001; }
# One retry, said out loud: on a loaded machine the head's Ray Client server has once failed to start the
# per-client server for the first connection (its log empty); the render is resumable, so a rerun is safe.
render >"$WORK/ray-render.log" 2>&1 || {
  grep -q "Starting Ray client server failed" "$WORK/ray-render.log" && {
    echo "ray render: the Ray Client server failed to start for the first connection; retrying once"
    sleep 5; render >"$WORK/ray-render.log" 2>&1; }; } || {
    tail -30 "$WORK/ray-render.log" >&2
    echo "-- the head's Ray Client server logs:" >&2
    pm exec "$HEAD" sh -c 'tail -n 40 /tmp/ray/session_latest/logs/ray_client_server*' >&2 || true
    fail "ttv render --executor ray in the driver container"; }
render_s=$((SECONDS - render_start))
for clip in "$FILMS"/ray-film/clips/s*.toml; do
  grep -q "ray_node = \"$worker_ip\"" "$clip" || { cat "$clip" >&2; fail "$(basename "$clip"): not rendered on the worker ($worker_ip)"; }
done
prun "${P[@]}" "$IMAGE" stitch -p ray-film >/dev/null 2>&1 || fail "ttv stitch"
[ -s "$FILMS/ray-film/final.mp4" ] || fail "no final.mp4"
echo "ray render: $(ls "$FILMS"/ray-film/clips/s*.mp4 | wc -l) animatic clips rendered by a Ray actor on the worker ($worker_ip) through ray://ray-head:10001 in ${render_s}s; stitched: ray-film/final.mp4 $(du -k "$FILMS/ray-film/final.mp4" | cut -f1) KB"
rm -rf "$FILMS"

# ---- docker/ray-cluster.yml itself, with podman-compose ----------------------------------------------------
if ! command -v podman-compose >/dev/null; then
  echo "ray compose: skipped (podman-compose is not installed)"
  exit 0
fi
export TTV_IMAGE="$IMAGE" TTV_FILMS="$WORK/compose-films" HF_CACHE="$WORK/hf-cache" RAY_SHM=256m
install -d -o 1000 -g 1000 "$TTV_FILMS"
mkdir -p "$HF_CACHE"
start=$SECONDS
VOLUMES_BEFORE=$(pm volume ls -q | tr '\n' ' ')
COMPOSE_UP=1
"${PC[@]}" up -d ray-head ray-worker >"$WORK/compose-up.log" 2>&1 || { tail -20 "$WORK/compose-up.log" >&2; fail "podman-compose up"; }
CHEAD="${ID}_ray-head_1"; CWORKER="${ID}_ray-worker_1"
for _ in $(seq 60); do
  running "$CHEAD" && running "$CWORKER" || break
  nodes=$(pm exec "$CHEAD" python -c 'import ray; ray.init(address="auto", logging_level="ERROR"); print(sum(1 for n in ray.nodes() if n["Alive"]))' 2>/dev/null || true)
  [ "$nodes" = 2 ] && break
  sleep 2
done
[ "$nodes" = 2 ] || { pm logs "$CWORKER" 2>&1 | tail -20 >&2; fail "compose: the worker did not join the head (alive nodes: ${nodes:-?})"; }
worker_ip=$(pm inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$CWORKER")
"${PC[@]}" run --rm ttv init compose-film --duration 8 --segments 2 --width 640 --height 360 --fps 24 \
  --idea "A lighthouse keeper finds a message in a bottle. At dawn she sails home." >"$WORK/compose-run.log" 2>&1 \
  || { tail -20 "$WORK/compose-run.log" >&2; fail "compose: ttv init"; }
"${PC[@]}" run --rm ttv run -p compose-film --executor ray --address ray://ray-head:10001 >>"$WORK/compose-run.log" 2>&1 \
  || { tail -30 "$WORK/compose-run.log" >&2; fail "compose: ttv run --executor ray --address ray://ray-head:10001"; }
for clip in "$TTV_FILMS"/compose-film/clips/s*.toml; do
  grep -q "ray_node = \"$worker_ip\"" "$clip" || { cat "$clip" >&2; fail "compose: $(basename "$clip") not rendered on the worker ($worker_ip)"; }
done
[ -s "$TTV_FILMS/compose-film/final.mp4" ] || fail "compose: no final.mp4"
echo "ray compose: docker/ray-cluster.yml up (head + CPU worker $worker_ip), \`ttv run --executor ray --address ray://ray-head:10001\` in the ttv service: $(ls "$TTV_FILMS"/compose-film/clips/s*.mp4 | wc -l) clips on the worker, final.mp4 $(du -k "$TTV_FILMS/compose-film/final.mp4" | cut -f1) KB, in $((SECONDS - start))s"
rm -rf "$TTV_FILMS" "$HF_CACHE"
