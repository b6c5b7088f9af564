"""Wan 2.1 / 2.2 through diffusers: T2V (`WanPipeline`), I2V and first-last-frame
(`WanImageToVideoPipeline(image=, last_image=)`).

Rules: frame counts are 4k+1 (81 = 5 s at 16 fps is the trained length), width and height multiples of 16,
16 fps native; Wan2.2 TI2V-5B: 121 frames at 24 fps, sizes in multiples of 32. Which modes a model has is read from its model_index.json (local folder or HF cache):
`WanPipeline` -> t2v; `WanImageToVideoPipeline` -> i2v, plus flf2v when the transformer was trained with
two image embeddings (`pos_embed_seq_len`, Wan2.1 FLF2V) or the model has no CLIP encoder (Wan 2.2 I2V,
where diffusers `last_image` is the community route).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field

from ttv.backends.base import Options, VideoRequest
from ttv.backends.local.common import (
    LocalOptions,
    LocalVideoBackend,
    Mode,
    RenderPlan,
    diffusers_class,
    dtype_kwarg,
    guess_variant,
    known_model,
    load_component,
    load_image,
    pipeline_class_name,
    read_model_json,
    transformers_dtype_kwarg,
)
from ttv.backends.local.figures import Footprint, TimingRow, VramRow

WAN_T2V = "WanPipeline"
WAN_I2V = "WanImageToVideoPipeline"


class WanOptions(LocalOptions):
    model: str = Field("Wan-AI/Wan2.1-T2V-1.3B-Diffusers",
                       description="e.g. Wan-AI/Wan2.1-FLF2V-14B-720P-Diffusers for keyframe mode")
    flf: Literal["auto", "on", "off"] = Field("auto", description="use the last keyframe (last_image=)")
    guidance_2: float | None = Field(None, ge=0.0, le=50.0, description="Wan 2.2 A14B low-noise expert guidance")
    vae_fp32: bool = Field(True, description="keep the VAE in float32 (the Wan authors' setting)")


@dataclass(frozen=True)
class WanGeometry:
    """Frame and size rules of Wan 2.1 and the models built on it (VACE): 16 fps, 4k+1 frames, 81 trained."""

    native_fps: int = 16
    frame_multiple: int = 4
    min_frames: int = 5
    trained_frames: int = 81
    size_multiple: int = 16
    default_steps: int = 50
    default_guidance: float = 5.0


WAN_GEOMETRY = WanGeometry()


class WanBackend(LocalVideoBackend):
    name: ClassVar[str] = "wan"
    summary: ClassVar[str] = "Wan 2.1/2.2 (diffusers, local GPU): text/image/first-last-frame to video"
    OptionsModel: ClassVar[type[Options]] = WanOptions
    family: ClassVar[str] = "wan"
    known_models: ClassVar[dict[str, dict[str, Any]]] = {  # download sizes (GB) etc., checked 2026-11
        "Wan-AI/Wan2.1-T2V-1.3B-Diffusers": {"gb": 29, "pipeline": "WanPipeline"},
        "Wan-AI/Wan2.1-T2V-14B-Diffusers": {"gb": 80, "pipeline": "WanPipeline"},
        "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers": {"gb": 82, "pipeline": "WanImageToVideoPipeline"},
        "Wan-AI/Wan2.1-I2V-14B-720P-Diffusers": {"gb": 82, "pipeline": "WanImageToVideoPipeline"},
        "Wan-AI/Wan2.1-FLF2V-14B-720P-Diffusers": {"gb": 82, "pipeline": "WanImageToVideoPipeline", "flf": True},
        "Wan-AI/Wan2.2-T2V-A14B-Diffusers": {"gb": 126, "pipeline": "WanPipeline"},
        "Wan-AI/Wan2.2-I2V-A14B-Diffusers": {"gb": 126, "pipeline": "WanImageToVideoPipeline", "flf": True},
        "Wan-AI/Wan2.2-TI2V-5B-Diffusers": {"gb": 34, "pipeline": "WanPipeline"},
    }
    # Seconds per denoising step (estimate), published 2026-11.
    timings: ClassVar[tuple[TimingRow, ...]] = (
        TimingRow("1.3b", "RTX 4090", (832, 480, 81), 261.4 / 50,
                  "Wan2.1 README comp_effic: T2V-1.3B 480p 81f 4090 261.4 s / 50 steps (offload, t5_cpu)"),
        TimingRow("14b", "H100", (832, 480, 81), 2 * 4.60,
                  "diffusers PR #11605: Wan 14B forward 480x832x81 on H100 4.60 s, x2 for CFG"),
        TimingRow("14b", "H100", (1280, 720, 81), 1837.9 / 50,
                  "Wan2.1 README: T2V-14B 720p 1 GPU 1837.9 s / 50 steps"),
        TimingRow("a14b", "H100", (832, 480, 81), 326.9 / 40,
                  "Wan2.2 README: T2V-A14B 480p 326.9 s / 40 steps"),
        TimingRow("a14b", "H100", (1280, 720, 81), 1041.5 / 40,
                  "Wan2.2 README: T2V-A14B 720p 1041.5 s / 40 steps"),
        TimingRow("5b", "RTX 4090", (1280, 704, 121), 534.7 / 50,
                  "Wan2.2 README: TI2V-5B 720p 121f 4090 534.7 s"),
    )
    # Peak VRAM (doctor: does it fit?), checked 2026-11.
    peak_vram: ClassVar[tuple[VramRow, ...]] = (
        VramRow("1.3b", (832, 480), "model", 8.19, "Wan2.1 README: T2V-1.3B 480p, offload + t5_cpu, RTX 4090"),
        VramRow("14b", (832, 480), "model", 44.0, "ComfyUI #10602: Wan I2V 14B with model offload ~44 GB"),
        VramRow("14b", (1280, 720), "model", 76.7, "Wan2.1 README: I2V-14B 720p, 1 GPU, offload_model"),
        VramRow("14b", (1280, 720), "sequential", 8.0, "ComfyUI #10602: sequential offload ~8 GB"),
        VramRow("14b", (832, 480), "group", 10.0, "diffusers #10999: group offload + tiled VAE, 7-10 GB"),
        VramRow("a14b", (832, 480), "model", 41.3, "Wan2.2 README: T2V-A14B 480p, H100"),
        VramRow("a14b", (1280, 720), "model", 59.8, "Wan2.2 README: T2V-A14B 720p, H100"),
        VramRow("5b", (1280, 704), "model", 22.9, "Wan2.2 README: TI2V-5B 720p, RTX 4090"),
    )
    # Weights as loaded (GB): transformer bf16 = 2 x parameters (Wan READMEs: 1.3B, 14B, 2 x 14B, 5B); the
    # umT5-XXL encoder in bf16 (models_t5_umt5-xxl-enc-bf16.pth, 11.4 GB); VAE (Wan2.1_VAE.pth, 0.5 GB) and,
    # for 14B I2V/FLF2V, the CLIP ViT-H image encoder (~0.63B) in float32 (vae_fp32).
    footprints: ClassVar[tuple[Footprint, ...]] = (
        Footprint("1.3b", 2.6, 11.4, 0.5, "Wan2.1 README (1.3B) + umT5-XXL bf16 11.4 GB + VAE 0.5 GB"),
        Footprint("14b", 28.0, 11.4, 3.0, "Wan2.1 README (14B) + umT5-XXL 11.4 GB + VAE, CLIP ViT-H fp32 3 GB"),
        Footprint("a14b", 28.0, 11.4, 0.5, "Wan2.2 README: two 14B experts + umT5-XXL 11.4 GB + VAE", experts=2),
        Footprint("5b", 10.0, 11.4, 1.4, "Wan2.2 README (TI2V-5B) + umT5-XXL 11.4 GB + Wan2.2 VAE ~1.4 GB"),
    )
    # (spatial VAE factor, temporal VAE factor, patch): Wan2.1 VAE 8x8x4, patch 1x2x2 (Wan2.2 TI2V: 16x16x4 VAE)
    latent_geometry: ClassVar[tuple[int, int, int]] = (8, 4, 2)
    default_model: ClassVar[str] = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"
    # The 1.3B default is text-to-video only: keyframe mode takes the first-last-frame model, chaining an
    # image-to-video one (both 14B: Wan has no smaller model that takes an image).
    mode_models: ClassVar[dict[str, str]] = {"keyframe": "Wan-AI/Wan2.1-FLF2V-14B-720P-Diffusers",
                                             "chain": "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers"}
    native_fps: int = WAN_GEOMETRY.native_fps
    frame_multiple: ClassVar[int] = WAN_GEOMETRY.frame_multiple
    min_frames: ClassVar[int] = WAN_GEOMETRY.min_frames
    trained_frames: int = WAN_GEOMETRY.trained_frames
    size_multiple: int = WAN_GEOMETRY.size_multiple
    default_steps: ClassVar[int] = WAN_GEOMETRY.default_steps
    default_guidance: ClassVar[float] = WAN_GEOMETRY.default_guidance

    def __init__(self, options: Options | None = None, *, device: str | None = None,
                 gpu_group: list[int] | None = None) -> None:
        super().__init__(options, device=device, gpu_group=gpu_group)
        if self.variant() == "5b":
            # Wan2.2 TI2V-5B: 121 frames at 24 fps, and its 16x16 VAE with patch 2 needs sizes in multiples
            # of 32 (diffusers silently rounds 720 down to 704, which would make the record wrong).
            self.native_fps, self.trained_frames, self.size_multiple = 24, 121, 32

    @property
    def wopts(self) -> WanOptions:
        assert isinstance(self.options, WanOptions)
        return self.options

    def pipeline_name(self) -> str:
        name = pipeline_class_name(self.model_id(), self.opts.pipeline)
        if name:
            return name
        upper = self.model_id().upper()
        return WAN_I2V if ("I2V" in upper or "FLF2V" in upper) and "TI2V" not in upper else WAN_T2V

    def flf_capable(self) -> bool:
        if self.wopts.flf != "auto":
            return self.wopts.flf == "on"
        model = self.model_id()
        if known_model(model).get("flf"):
            return True
        config = read_model_json(model, "transformer/config.json")
        if config is not None and config.get("pos_embed_seq_len"):
            return True
        index = read_model_json(model)
        if index is not None and self.pipeline_name() == WAN_I2V:
            enc = index.get("image_encoder")
            if enc is None or (isinstance(enc, list) and enc[0] is None):
                return True  # Wan 2.2 style, no CLIP: last_image works without extra embeddings
        return "FLF2V" in model.upper()

    def supported_modes(self) -> list[Mode]:
        if self.pipeline_name() == WAN_I2V:
            return ["i2v", "flf2v"] if self.flf_capable() else ["i2v"]
        return ["t2v"]

    def variant(self) -> str:
        model = self.model_id()
        config = read_model_json(model, "transformer/config.json")
        if config is not None and not any(s in model.upper() for s in ("1.3B", "14B", "5B")):
            layers = int(config.get("num_layers") or 0)
            if read_model_json(model, "transformer_2/config.json") is not None:
                return "a14b"
            return {30: "1.3b", 40: "14b"}.get(layers, "5b" if config.get("in_channels") == 48 else "1.3b")
        return guess_variant(model, [("A14B", "a14b"), ("1.3B", "1.3b"), ("14B", "14b"), ("5B", "5b")], "1.3b")

    def model_defaults(self, mode: Mode) -> tuple[int, float]:
        # Wan authors: 2.1 T2V 50 steps / I2V 40, guide 5.0; 2.2 A14B 40 steps, high-noise guide 4.0 (t2v)
        # or 3.5 (i2v) (Wan2.1 and Wan2.2 READMEs / generate.py defaults).
        if self.variant() == "a14b":
            return 40, (4.0 if mode == "t2v" else 3.5)
        return (50 if mode == "t2v" else 40), 5.0

    def guidance_2(self, mode: Mode) -> float | None:
        """Low-noise expert guidance of Wan 2.2 A14B (3.0 t2v, 3.5 i2v) unless set."""
        if self.wopts.guidance_2 is not None:
            return self.wopts.guidance_2
        if self.variant() == "a14b":
            return 3.0 if mode == "t2v" else 3.5
        return None

    # -- one clip on a group of GPUs (ttv.backends.local.parallel) -------------------------------
    def parallel_refusal(self) -> str | None:
        return None  # WanTransformer3DModel has a _cp_plan (both experts of 2.2 A14B get it)

    def parallel_workers(self) -> list[Any]:
        # imported here: the rank machinery (torch.multiprocessing) is only for runs with `parallel` set
        from ttv.backends.local import parallel

        return parallel.parallel_workers(self)

    def attention_heads(self) -> int | None:
        config = read_model_json(self.model_id(), "transformer/config.json")
        if config is not None and config.get("num_attention_heads"):
            return int(config["num_attention_heads"])
        # the shipped configs: 1.3B 12 heads x 128, 14B / A14B 40 x 128, TI2V-5B 24 x 128
        return {"1.3b": 12, "14b": 40, "a14b": 40, "5b": 24}.get(self.variant())

    def token_count(self, plan: RenderPlan) -> tuple[int, str] | None:
        config = read_model_json(self.model_id(), "transformer/config.json") or {}
        vae = read_model_json(self.model_id(), "vae/config.json") or {}
        pt, ph, pw = (config.get("patch_size") or (1, 2, 2))[:3]
        spatial = int(vae.get("scale_factor_spatial") or (16 if self.variant() == "5b" else 8))
        temporal = int(vae.get("scale_factor_temporal") or 4)
        t = ((plan.frames - 1) // temporal + 1) // pt
        h, w = plan.height // spatial // ph, plan.width // spatial // pw
        return t * h * w, f"{plan.width}x{plan.height}, {plan.frames} frames -> {t}x{h}x{w} latent patches"

    def _load_pipeline(self, device: str, dtype: Any, device_map: dict[str, Any]) -> Any:
        import torch

        cls = diffusers_class(self.pipeline_name())
        extra: dict[str, Any] = {}
        # (with a multi-GPU device_map the VAE stays in the map, in the pipeline dtype)
        if self.wopts.vae_fp32 and dtype != torch.float32 and not device_map:
            extra["vae"] = load_component(diffusers_class("AutoencoderKLWan"), self.name, self.model_id(),
                                          subfolder="vae", **dtype_kwarg(torch.float32))
            encoder = self.image_encoder_class()
            if encoder is not None:  # the Wan authors run the CLIP image encoder in float32 too
                extra["image_encoder"] = load_component(encoder, self.name, self.model_id(),
                                                        subfolder="image_encoder",
                                                        **transformers_dtype_kwarg(torch.float32))
        extra.update({name: None for name in self.without})
        return load_component(cls, self.name, self.model_id(), **dtype_kwarg(dtype), **device_map, **extra)

    def image_encoder_class(self) -> Any:
        """The transformers class of the model's CLIP image encoder (Wan2.1 I2V/FLF2V), None when it has none."""
        if self.pipeline_name() != WAN_I2V:
            return None
        entry = (read_model_json(self.model_id()) or {}).get("image_encoder")
        if not (isinstance(entry, list) and len(entry) == 2 and entry[0] == "transformers" and entry[1]):
            return None
        import transformers

        return getattr(transformers, str(entry[1]), None)

    def pipeline_kwargs(self, pipe: Any, plan: RenderPlan, req: VideoRequest) -> tuple[Any, dict[str, Any]]:
        kwargs: dict[str, Any] = {"num_frames": plan.frames}
        if plan.mode in ("i2v", "flf2v"):
            assert req.first_image is not None
            kwargs["image"] = load_image(req.first_image, plan.width, plan.height)
            if plan.mode == "flf2v":
                assert req.last_image is not None
                kwargs["last_image"] = load_image(req.last_image, plan.width, plan.height)
            elif _needs_two_image_embeds(pipe):
                # A first-last-frame transformer (Wan2.1 FLF2V: pos_embed_seq_len = 2 images) needs two CLIP
                # embeddings, and diffusers refuses `image_embeds` together with `image`: the first image
                # stands in for the missing last one in the CLIP context only (the latent conditioning still
                # fixes frame 0 alone, so the end stays free).
                plan.notes.append("I2V on a first-last-frame model: first image reused as CLIP context")
                return _TwoImageEmbeds(pipe), kwargs
        g2 = self.guidance_2(plan.mode)
        if g2 is not None and getattr(pipe, "transformer_2", None) is not None:
            kwargs["guidance_scale_2"] = g2
            plan.extra["guidance_2"] = g2
        return pipe, kwargs


class _TwoImageEmbeds:
    """Calls the pipeline with `encode_image` encoding the single conditioning image twice."""

    def __init__(self, pipe: Any) -> None:
        self.pipe = pipe

    def __call__(self, **kwargs: Any) -> Any:
        pipe = self.pipe
        original = pipe.encode_image

        def encode_twice(image: Any, device: Any = None) -> Any:
            return original(image if isinstance(image, list) else [image, image], device)

        pipe.encode_image = encode_twice
        try:
            return pipe(**kwargs)
        finally:
            del pipe.encode_image  # back to the class method


def _needs_two_image_embeds(pipe: Any) -> bool:
    transformer = getattr(pipe, "transformer", None)
    config = getattr(transformer, "config", None)
    return bool(config is not None and getattr(config, "image_dim", None) is not None
                and getattr(config, "pos_embed_seq_len", None) and getattr(pipe, "image_encoder", None) is not None)
