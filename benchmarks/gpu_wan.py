"""Wan 2.1 T2V 1.3B on one GPU: seconds per step, total seconds and peak GPU memory per memory setting.

GPU machines here cannot download weights, and compute cost does not depend on the weights' values, so
this builds the REAL-SIZE architecture from the shipped configs (benchmarks/configs/, 1.42 B-parameter
transformer + Wan 2.1 VAE) with random weights and feeds precomputed random UMT5-width prompt embeddings
(1 x 512 x 4096) instead of running the text encoder. The memory switches are applied by the backend's own
code (`ttv.backends.local.common.apply_memory_options`), so this also checks that code on a real GPU.

One short command on a 1-GPU machine with the project installed (`pip install -e '.[local]'`), or on a
bare machine that has only PyTorch/transformers/accelerate: `bash benchmarks/gpu_wheels.sh` here fetches
the few wheels it lacks (diffusers, pydantic) into .whl/, and its header shows the command to run there.

    python benchmarks/gpu_wan.py --steps 20           # 480x832, 81 frames, all settings, projected to 50 steps
    python benchmarks/gpu_wan.py                      # the full 50 steps (may not fit --deadline 540 s)
    python benchmarks/gpu_wan.py --device cpu --tiny --height 64 --width 64 --frames 9 --steps 3 \
        --settings plain,model,group                  # CPU smoke test of the script itself (no GPU)

Settings (each in a fresh subprocess, so peak memory and hooks never leak between them):
    plain    pipe.to("cuda"), bf16 transformer, fp32 VAE
    model    enable_model_cpu_offload()
    group    enable_group_offload(block_level, 1 block per group, CUDA streams)
    compile  plain + regional torch.compile (compile_repeated_blocks); the first step includes compiling
    group_compile  group offload + regional compile (graph breaks at the offload hooks)
    parallel  --parallel N: plain on N GPUs at once, sequence parallel (diffusers ContextParallelConfig,
              ulysses_degree=N, what `parallel = "ulysses"` runs): N rank processes, rank 0's weights
              broadcast to all, the same seed everywhere, rank 0 decodes. Compare its s/step with plain's.

    python benchmarks/gpu_wan.py --steps 20 --settings plain,parallel --parallel 2   # on a 2+ GPU machine
    python benchmarks/gpu_wan.py --device cpu --tiny --height 64 --width 64 --frames 9 --steps 3 \
        --settings plain,parallel --parallel 2        # CPU smoke test of the parallel mode (gloo)

Published figures to compare with (the Wan authors' README and model cards):
    Wan2.1 T2V-1.3B 480p 81 frames, RTX 4090, offload + t5_cpu: 261.4 s total, 8.19 GB peak (Wan2.1 README)
    Wan 14B transformer, one forward 480x832x81 on an H100: 4.60 s, 3.77 s compiled (diffusers PR #11605);
    the 1.3B transformer does ~1/10 of the linear-layer FLOPs and ~0.3x of the attention FLOPs of 14B.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = Path(__file__).resolve().parent / "configs"
sys.path.insert(0, str(ROOT))

PUBLISHED_4090_TOTAL_S = 261.4  # Wan2.1 README, T2V-1.3B 480p, 50 steps, offload + t5_cpu
PUBLISHED_4090_PEAK_GB = 8.19
SETTINGS = ("plain", "model", "group", "compile", "group_compile", "parallel")


def _config(path: Path) -> dict[str, Any]:
    return {k: v for k, v in json.loads(path.read_text()).items() if not k.startswith("_")}


def run_one(args: argparse.Namespace) -> dict[str, Any]:
    if args.one == "parallel":
        return run_parallel(args)
    return run_rank(args, 0, 1)


def run_parallel(args: argparse.Namespace) -> dict[str, Any]:
    """`--parallel N` ranks (one per GPU, or gloo on the CPU), each running the same pipeline call."""
    import torch.multiprocessing as mp

    from ttv.backends.local.parallel import free_port

    n = args.parallel
    if n < 2:
        raise SystemExit("the parallel setting needs --parallel N with N >= 2")
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=_rank_entry, args=(args, rank, n, port, out)) for rank in range(n)]
    for p in procs:
        p.start()
    try:
        result = out.get(timeout=args.timeout)
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    if "error" in result:
        raise RuntimeError(result["error"])
    return dict(result)


def _rank_entry(args: argparse.Namespace, rank: int, world: int, port: int, out: Any) -> None:
    import traceback

    try:
        result = run_rank(args, rank, world, port)
        if rank == 0:
            out.put(result)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which prints the table
        out.put({"error": f"rank {rank}: {type(exc).__name__}: {exc}\n{traceback.format_exc()[-2000:]}"})


def run_rank(args: argparse.Namespace, rank: int, world: int, port: int = 0) -> dict[str, Any]:
    import torch
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel

    from ttv.backends.local.common import LocalOptions, apply_memory_options

    setting = args.one
    device = args.device
    cuda = device.startswith("cuda")
    if world > 1:
        import torch.distributed as dist

        if cuda:
            device = f"cuda:{rank}"
            torch.cuda.set_device(rank)
        else:  # CPU smoke test only: diffusers 0.42.1 divides by the accelerator count, 0 on CPU torch
            torch.accelerator.device_count = lambda: 1  # type: ignore[assignment]
        dist.init_process_group("nccl" if cuda else "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                                world_size=world)
    torch.manual_seed(0)
    build_on = device if cuda else "cpu"
    t_build = time.perf_counter()
    with torch.device(build_on):  # random init on the GPU is seconds; on CPU ~20 s
        tcfg, vcfg = _config(Path(args.transformer_config)), _config(Path(args.vae_config))
        if args.tiny:
            tcfg.update(num_attention_heads=2, attention_head_dim=12, ffn_dim=32, num_layers=2, text_dim=32)
            vcfg.update(base_dim=3, dim_mult=[1, 1, 1, 1], num_res_blocks=1)
        transformer = WanTransformer3DModel(**tcfg).to(torch.bfloat16).eval()
        # as from_pretrained does: the modules the model keeps in float32 (rope, time embedder, norms)
        keep = getattr(transformer, "_keep_in_fp32_modules", None) or []
        for name, param in transformer.named_parameters():
            if any(k in name.split(".") for k in keep):
                param.data = param.data.float()
        vae = AutoencoderKLWan(**vcfg).to(torch.float32).eval()
    if world > 1:  # every rank holds rank 0's (random) weights, as from one checkpoint
        import torch.distributed as dist

        with torch.no_grad():
            for module in (transformer, vae):
                for tensor in [*module.parameters(), *module.buffers()]:
                    dist.broadcast(tensor.data, src=0)
        from diffusers import ContextParallelConfig

        transformer.enable_parallelism(config=ContextParallelConfig(ulysses_degree=world))
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)
    pipe = WanPipeline(tokenizer=None, text_encoder=None, vae=vae, scheduler=scheduler, transformer=transformer)
    if setting in ("model", "group", "group_compile"):
        pipe.to("cpu")  # offload starts from weights in CPU memory, as after from_pretrained
    text_dim = transformer.config.text_dim
    gen = torch.Generator(device="cpu").manual_seed(0)
    prompt = torch.randn(1, 512, text_dim, generator=gen).to(torch.bfloat16)
    negative = torch.randn(1, 512, text_dim, generator=gen).to(torch.bfloat16)
    build_s = time.perf_counter() - t_build

    offload = {"plain": "none", "compile": "none", "model": "model", "group": "group", "group_compile": "group",
               "parallel": "none"}
    compile_ = "regional" if setting in ("compile", "group_compile") else "none"
    opts = LocalOptions(offload=offload[setting], compile=compile_)
    dev = torch.device(device)
    notes = apply_memory_options(pipe, opts, device, [dev.index or 0] if cuda else [])
    if cuda:
        torch.cuda.synchronize(dev)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(dev)

    stamps: list[float] = []

    def on_step(p: Any, i: int, t: Any, kw: dict[str, Any]) -> dict[str, Any]:
        if cuda:
            torch.cuda.synchronize(dev)
        stamps.append(time.perf_counter())
        return kw

    t0 = time.perf_counter()
    with torch.inference_mode():
        out = pipe(
            prompt_embeds=prompt.to(device),
            negative_prompt_embeds=negative.to(device),
            height=args.height,
            width=args.width,
            num_frames=args.frames,
            num_inference_steps=args.steps,
            guidance_scale=args.guidance,
            generator=gen,
            output_type="latent" if world > 1 else "np",
            callback_on_step_end=on_step,
        )
        if world > 1 and rank == 0:  # as ttv's ranks do: rank 0 alone decodes
            from ttv.backends.local.parallel import decode_latents

            frames = decode_latents(pipe, out.frames)
        elif world == 1:
            frames = out.frames
    if cuda:
        torch.cuda.synchronize(dev)
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
        if rank != 0:
            dist.destroy_process_group()
            return {}
    t_end = time.perf_counter()
    steps = [b - a for a, b in zip([t0, *stamps[:-1]], stamps, strict=True)]
    steady = steps[2:] if len(steps) > 4 else steps[1:] or steps
    per_step = statistics.median(steady)
    denoise = stamps[-1] - t0
    decode = t_end - stamps[-1]
    total = t_end - t0
    result: dict[str, Any] = {
        "setting": setting,
        "device": torch.cuda.get_device_name(dev) if cuda else "cpu",
        "steps": args.steps,
        "size": f"{args.width}x{args.height}x{args.frames}",
        "guidance": args.guidance,
        "s_per_step": round(per_step, 3),
        "first_step_s": round(steps[0], 3),
        "denoise_s": round(denoise, 2),
        "vae_decode_s": round(decode, 2),
        "total_s": round(total, 2),
        "total_50_steps_s": round(steps[0] + per_step * (50 - 1) + decode, 1),
        "peak_gb": round(torch.cuda.max_memory_allocated(dev) / 2**30, 2) if cuda else None,
        "peak_reserved_gb": round(torch.cuda.max_memory_reserved(dev) / 2**30, 2) if cuda else None,
        "build_s": round(build_s, 1),
        "frames_out": int(frames.shape[1]),
        "ranks": world,
        "notes": notes,
        "torch": torch.__version__,
    }
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description="Wan 2.1 1.3B real-size GPU benchmark (random weights)")
    ap.add_argument("--settings", default=",".join(SETTINGS), help="comma list of " + ", ".join(SETTINGS))
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--width", type=int, default=832)
    ap.add_argument("--frames", type=int, default=81)
    ap.add_argument("--guidance", type=float, default=5.0, help=">1 = classifier-free guidance (2 forwards/step)")
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--transformer-config", default=str(CONFIGS / "wan2.1_t2v_1.3b_transformer.json"))
    ap.add_argument("--vae-config", default=str(CONFIGS / "wan2.1_vae.json"))
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per setting")
    ap.add_argument("--deadline", type=float, default=540.0,
                    help="seconds for the whole run: settings that would start later are skipped and a running one "
                         "is stopped, so the table always prints (a lent GPU machine allows 600 s per command)")
    ap.add_argument("--json", default="", help="also write all results to this file")
    ap.add_argument("--tiny", action="store_true", help="shrink the model (CPU smoke test of this script only)")
    ap.add_argument("--parallel", type=int, default=0, help="GPUs of the `parallel` setting (ulysses degree)")
    ap.add_argument("--one", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.one:
        print("RESULT " + json.dumps(run_one(args)), flush=True)
        return

    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            sys.exit("no CUDA GPU visible: this benchmark needs one (--device cpu --tiny smoke-tests the script)")
    results: list[dict[str, Any]] = []
    env = {
        **os.environ,
        "PYTORCH_CUDA_ALLOC_CONF": os.environ.get("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True"),
    }
    chosen = [s.strip() for s in args.settings.split(",") if s.strip()]
    for setting in chosen:
        if setting not in SETTINGS:
            sys.exit(f"unknown setting {setting!r}; choose from {', '.join(SETTINGS)}")
    t_start = time.monotonic()
    for setting in chosen:
        left = args.deadline - (time.monotonic() - t_start)
        if left < 30:
            results.append({"setting": setting, "error": f"skipped: the {args.deadline:.0f} s deadline was reached"})
            continue
        limit = min(args.timeout, left)
        cmd = [sys.executable, __file__, "--one", setting, *_forward(args)]
        print(f"[{setting}] running (at most {limit:.0f} s) ...", file=sys.stderr, flush=True)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, env=env)
        except subprocess.TimeoutExpired:
            results.append({"setting": setting, "error": f"timed out after {limit:.0f} s"})
            continue
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            results.append({"setting": setting, "error": " | ".join(tail) or f"exit {proc.returncode}"})
        else:
            results.append(json.loads(line[len("RESULT ") :]))
        print(f"[{setting}] {json.dumps(results[-1])}", file=sys.stderr, flush=True)
    report(results, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


def _forward(args: argparse.Namespace) -> list[str]:
    return [
        "--steps",
        str(args.steps),
        "--height",
        str(args.height),
        "--width",
        str(args.width),
        "--frames",
        str(args.frames),
        "--guidance",
        str(args.guidance),
        "--device",
        args.device,
        "--transformer-config",
        args.transformer_config,
        "--vae-config",
        args.vae_config,
        *(["--tiny"] if args.tiny else []),
        "--parallel",
        str(args.parallel),
        "--timeout",
        str(args.timeout),
    ]


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    ok = [r for r in results if "error" not in r]
    device = ok[0]["device"] if ok else "?"
    print(
        f"Wan 2.1 T2V 1.3B (random weights, {'TINY smoke-test model' if args.tiny else 'real size'}), "
        f"{args.width}x{args.height}x{args.frames}, "
        f"{args.steps} steps, guidance {args.guidance}, on {device}"
    )
    print(
        f"{'setting':<13} {'s/step':>7} {'1st step':>8} {'denoise':>8} {'VAE':>6} {'total':>7} "
        f"{'50-step':>8} {'peak GB':>8} {'vs 4090 pub.':>12}"
    )
    for r in results:
        if "error" in r:
            print(f"{r['setting']:<13} ERROR: {r['error']}")
            continue
        peak = f"{r['peak_gb']:.2f}" if r["peak_gb"] is not None else "-"
        # a ratio to a GPU figure means nothing for a CPU run or the shrunken smoke-test model
        comparable = r["device"] != "cpu" and not args.tiny
        vs = f"{r['total_50_steps_s'] / PUBLISHED_4090_TOTAL_S:>11.2f}x" if comparable else f"{'-':>12}"
        print(
            f"{r['setting']:<13} {r['s_per_step']:>7.3f} {r['first_step_s']:>8.2f} {r['denoise_s']:>8.1f} "
            f"{r['vae_decode_s']:>6.1f} {r['total_s']:>7.1f} {r['total_50_steps_s']:>8.1f} {peak:>8} {vs}"
        )
    by = {r["setting"]: r for r in ok}
    if "plain" in by and "parallel" in by:
        ratio = by["plain"]["s_per_step"] / by["parallel"]["s_per_step"]
        print(f"parallel: {by['parallel']['ranks']} ranks (ulysses): s/step speed-up over plain {ratio:.2f}x "
              f"(ideal {by['parallel']['ranks']}x; a tiny CPU smoke test says nothing about GPUs; projection in "
              "benchmarks/RESULTS.md)")
    print(
        f"published: Wan2.1 README, T2V-1.3B 480p 81f on an RTX 4090 (offload + t5_cpu): "
        f"{PUBLISHED_4090_TOTAL_S} s total, {PUBLISHED_4090_PEAK_GB} GB peak; '50-step' projects this run to "
        "50 steps (first step + 49 x median step + VAE); the text encoder is not run here (precomputed "
        "embeddings), the published figure includes it on the CPU."
    )


if __name__ == "__main__":
    main()
