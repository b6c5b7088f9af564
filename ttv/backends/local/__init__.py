"""Local diffusers backends: Wan 2.1/2.2, LTX-Video, HunyuanVideo, FramePack, text-to-image keyframes.

Every module here imports torch/diffusers/transformers inside functions only (see common.py), so
`ttv --help` and `ttv backends list` never pay for them.

Using them (`pip install 'ttv[local]'`):

    # ttv.toml
    backend = "wan"                 # or "ltx", "hunyuan", "framepack"; keyframes = "diffusers"
    [backends.wan]
    model = "Wan-AI/Wan2.1-FLF2V-14B-720P-Diffusers"   # hub id already in the HF cache, or a local folder
    offload = "group"               # none | model | sequential | group
    vae_tiling = true
    steps = 30

* Models are never downloaded implicitly. A model missing from the local Hugging Face cache is a
  `BackendError(code="MODEL_NOT_FOUND")` whose hint gives the approximate size and the exact
  `hf download ...` command (`ttv backends info wan` shows the same before a run).
* Modes come from the model: a `WanPipeline` model renders text-to-video; a `WanImageToVideoPipeline`
  model renders image-to-video from the first keyframe (chain mode: the previous clip's exact last
  frame) and first-last-frame when the model supports `last_image=` (Wan2.1 FLF2V, Wan 2.2 I2V).
  LTX: T2V + I2V (+ first-last-frame for 0.9.5+ condition models); HunyuanVideo: T2V (I2V with the I2V
  checkpoint); FramePack: I2V and first-last-frame, any length.
* Frame counts follow each model's rule at its native fps (Wan 4k+1 at 16 fps, LTX 8k+1 at 25,
  HunyuanVideo 4k+1 at 24, FramePack 36k+1 at 30); `duration` is snapped to the nearest valid count and
  the record says so (`info.notes`). Sizes must be multiples of 16 (LTX: 32); set `width`/`height` in
  `[backends.NAME]` to render at another size than the project's (stitch rescales).
* One worker per GPU (`gpus = "0,1"`, indices after CUDA_VISIBLE_DEVICES; `gpus_per_worker = 2` splits
  one pipeline over two GPUs with a balanced device map). Each worker loads its pipeline once, on its
  first segment, and renders every later segment with it.
* Memory, from cheapest to most drastic: `vae_tiling = true`; `offload = "group"` (near no-offload speed
  with CUDA streams); `offload = "model"`; `dtype = "bfloat16"` (the GPU default); fewer frames or a
  smaller size; `offload = "sequential"`. A CUDA out-of-memory error becomes
  `BackendError(code="OOM")` whose hint lists the ones not yet used. Speed: `compile = "regional"`,
  `attention = "_flash_3"` / `"sage"` where installed.
"""
