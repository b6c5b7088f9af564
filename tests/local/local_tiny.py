"""Tiny random-weight diffusers pipelines, saved with `save_pretrained` so backends load them through the
real `from_pretrained` path. Every pipeline has a real (tiny) text encoder and an offline WordLevel
tokenizer, so the backends pass prompt strings exactly as they do with real models.

Shared by tests/local and benchmarks/local_load.py. Sizes follow ../shared/reference/environment.md §3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

WORDS = ["<pad>", "</s>", "<unk>", "<s>", "a", "cat", "dog", "running", "on", "the", "beach", "sunset",
         "lighthouse", "at", "dusk", "waves", "sea", "bottle", "message", "keeper"]
TEXT_DIM = 32


def _tokenizer(model_max_length: int = 512) -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(vocab={w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   bos_token="<s>", model_max_length=model_max_length)


def _t5(kind: str = "umt5", d_model: int = TEXT_DIM) -> Any:
    from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

    args: dict[str, Any] = dict(vocab_size=len(WORDS), d_model=d_model, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                                relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1,
                                decoder_start_token_id=0)
    if kind == "umt5":
        return UMT5EncoderModel(UMT5Config(**args)).eval()
    return T5EncoderModel(T5Config(**args)).eval()


def _seed() -> None:
    import torch

    torch.manual_seed(0)


def _wan_transformer(in_channels: int = 16, image_dim: int | None = None, **kw: Any) -> Any:
    from diffusers import WanTransformer3DModel

    return WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12,
                                 in_channels=in_channels, out_channels=16, text_dim=TEXT_DIM, freq_dim=256, ffn_dim=32,
                                 num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
                                 rope_max_seq_len=32, image_dim=image_dim, **kw).eval()


def _wan_vae() -> Any:
    from diffusers import AutoencoderKLWan

    return AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                            temperal_downsample=[False, True, True]).eval()


def wan_t2v(path: Path) -> Path:
    from diffusers import FlowMatchEulerDiscreteScheduler, WanPipeline

    _seed()
    pipe = WanPipeline(tokenizer=_tokenizer(), text_encoder=_t5(), vae=_wan_vae(),
                       scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0), transformer=_wan_transformer())
    pipe.save_pretrained(path)
    return path


def wan_flf(path: Path) -> Path:
    """Wan 2.1 FLF2V-style I2V pipeline: CLIP image encoder + pos_embed_seq_len, so `last_image=` works."""
    from diffusers import FlowMatchEulerDiscreteScheduler, WanImageToVideoPipeline
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    _seed()
    pipe = WanImageToVideoPipeline(
        tokenizer=_tokenizer(), text_encoder=_t5(), vae=_wan_vae(),
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        image_processor=CLIPImageProcessor(crop_size=4, size=4),
        image_encoder=CLIPVisionModel(CLIPVisionConfig(hidden_size=4, projection_dim=4, num_hidden_layers=2,
                                                       num_attention_heads=2, image_size=4, intermediate_size=16,
                                                       patch_size=1)).eval(),
        transformer=_wan_transformer(in_channels=36, image_dim=4, pos_embed_seq_len=2 * (4 * 4 + 1)))
    pipe.save_pretrained(path)
    return path


def wan_i2v(path: Path) -> Path:
    """Wan 2.1 I2V-style pipeline (CLIP, no pos_embed_seq_len): first frame only, no last_image."""
    from diffusers import FlowMatchEulerDiscreteScheduler, WanImageToVideoPipeline
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    _seed()
    pipe = WanImageToVideoPipeline(
        tokenizer=_tokenizer(), text_encoder=_t5(), vae=_wan_vae(),
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        image_processor=CLIPImageProcessor(crop_size=32, size=32),
        image_encoder=CLIPVisionModel(CLIPVisionConfig(hidden_size=4, projection_dim=4, num_hidden_layers=2,
                                                       num_attention_heads=2, image_size=32, intermediate_size=16,
                                                       patch_size=1)).eval(),
        transformer=_wan_transformer(in_channels=36, image_dim=4))
    pipe.save_pretrained(path)
    return path


def wan_vace(path: Path) -> Path:
    """Wan 2.1 VACE layout: the Wan transformer plus VACE blocks (96 control channels = 2 x 16 latent + 64 mask)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, WanVACEPipeline, WanVACETransformer3DModel

    _seed()
    transformer = WanVACETransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12,
                                            in_channels=16, out_channels=16, text_dim=TEXT_DIM, freq_dim=256,
                                            ffn_dim=32, num_layers=2, cross_attn_norm=True,
                                            qk_norm="rms_norm_across_heads", rope_max_seq_len=32, vace_layers=[0],
                                            vace_in_channels=96).eval()
    WanVACEPipeline(tokenizer=_tokenizer(), text_encoder=_t5(), vae=_wan_vae(),
                    scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0), transformer=transformer).save_pretrained(path)
    return path


def skyreels_df(path: Path) -> Path:
    """SkyReels-V2 Diffusion Forcing layout (Wan-based), saved as the video-to-video pipeline."""
    from diffusers import (
        SkyReelsV2DiffusionForcingVideoToVideoPipeline,
        SkyReelsV2Transformer3DModel,
        UniPCMultistepScheduler,
    )

    _seed()
    transformer = SkyReelsV2Transformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12,
                                               in_channels=16, out_channels=16, text_dim=TEXT_DIM, freq_dim=256,
                                               ffn_dim=32, num_layers=2, cross_attn_norm=True,
                                               qk_norm="rms_norm_across_heads", rope_max_seq_len=32).eval()
    SkyReelsV2DiffusionForcingVideoToVideoPipeline(
        tokenizer=_tokenizer(), text_encoder=_t5(), vae=_wan_vae(), transformer=transformer,
        scheduler=UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=8.0),
    ).save_pretrained(path)
    return path


def _ltx_parts() -> dict[str, Any]:
    from diffusers import AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXVideoTransformer3DModel

    _seed()
    transformer = LTXVideoTransformer3DModel(in_channels=8, out_channels=8, patch_size=1, patch_size_t=1,
                                             num_attention_heads=4, attention_head_dim=8, cross_attention_dim=32,
                                             num_layers=1, caption_channels=TEXT_DIM).eval()
    vae = AutoencoderKLLTXVideo(
        in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8,) * 4,
        decoder_block_out_channels=(8,) * 4, layers_per_block=(1,) * 5, decoder_layers_per_block=(1,) * 5,
        spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False), decoder_inject_noise=(False,) * 5,
        upsample_residual=(False,) * 4, upsample_factor=(1,) * 4, timestep_conditioning=False, patch_size=1,
        patch_size_t=1, encoder_causal=True, decoder_causal=False).eval()
    vae.use_framewise_encoding = False
    vae.use_framewise_decoding = False
    return dict(scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, text_encoder=_t5("t5"),
                tokenizer=_tokenizer(), transformer=transformer)


def ltx_t2v(path: Path) -> Path:
    from diffusers import LTXPipeline

    LTXPipeline(**_ltx_parts()).save_pretrained(path)
    return path


def ltx_i2v(path: Path) -> Path:
    from diffusers import LTXImageToVideoPipeline

    LTXImageToVideoPipeline(**_ltx_parts()).save_pretrained(path)
    return path


def ltx_condition(path: Path) -> Path:
    """LTX 0.9.5+ layout: model_index names LTXConditionPipeline (first/last frame, video conditions)."""
    from diffusers import LTXConditionPipeline

    LTXConditionPipeline(**_ltx_parts()).save_pretrained(path)
    return path


def _hunyuan_text() -> dict[str, Any]:
    from transformers import CLIPTextConfig, CLIPTextModel, LlamaConfig, LlamaModel

    llama = LlamaModel(LlamaConfig(vocab_size=len(WORDS), hidden_size=16, intermediate_size=32, num_hidden_layers=3,
                                   num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512,
                                   pad_token_id=0, bos_token_id=3, eos_token_id=1)).eval()
    clip = CLIPTextModel(CLIPTextConfig(vocab_size=len(WORDS), hidden_size=8, intermediate_size=16,
                                        num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=77,
                                        projection_dim=8, pad_token_id=0, bos_token_id=3, eos_token_id=1)).eval()
    return dict(text_encoder=llama, tokenizer=_tokenizer(), text_encoder_2=clip, tokenizer_2=_tokenizer(77))


def _hunyuan_vae() -> Any:
    from diffusers import AutoencoderKLHunyuanVideo

    return AutoencoderKLHunyuanVideo(
        in_channels=3, out_channels=3, latent_channels=4, down_block_types=("HunyuanVideoDownBlock3D",) * 4,
        up_block_types=("HunyuanVideoUpBlock3D",) * 4, block_out_channels=(8, 8, 8, 8), layers_per_block=1,
        act_fn="silu", norm_num_groups=4, scaling_factor=0.476986, spatial_compression_ratio=8,
        temporal_compression_ratio=4, mid_block_add_attention=True).eval()


def hunyuan_t2v(path: Path) -> Path:
    from diffusers import FlowMatchEulerDiscreteScheduler, HunyuanVideoPipeline, HunyuanVideoTransformer3DModel

    _seed()
    transformer = HunyuanVideoTransformer3DModel(
        in_channels=4, out_channels=4, num_attention_heads=2, attention_head_dim=10, num_layers=1,
        num_single_layers=1, num_refiner_layers=1, patch_size=1, patch_size_t=1, guidance_embeds=True,
        text_embed_dim=16, pooled_projection_dim=8, rope_axes_dim=(2, 4, 4)).eval()
    HunyuanVideoPipeline(transformer=transformer, vae=_hunyuan_vae(),
                         scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0), **_hunyuan_text()).save_pretrained(path)
    return path


# Llama-3's pre-tokenizer regex: over a word-level vocabulary it splits HunyuanVideo-I2V's prompt template
# into exactly as many tokens as Llama-3's BPE does (103 before the prompt, `<image>` at index 5), so the
# pipeline's fixed DEFAULT_PROMPT_TEMPLATE offsets (crop_start, image_emb_start/end) hold as with the real model.
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                r"\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_SPECIAL = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<image>"]


def _llama3_tokenizer() -> tuple[Any, dict[str, int]]:
    """A Llama-3-like tokenizer (BOS prepended, header/eot/<image> special tokens) and its vocabulary."""
    from tokenizers import AddedToken, Regex, Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(WORDS)}
    vocab.update({" " + w: len(WORDS) + i for i, w in enumerate(WORDS[4:])})  # Llama-3 words carry their space
    vocab.update({s: len(vocab) + i for i, s in enumerate(LLAMA3_SPECIAL)})
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated")
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in LLAMA3_SPECIAL])
    bos = LLAMA3_SPECIAL[0]
    tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", special_tokens=[(bos, vocab[bos])])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<|eot_id|>",
                                   unk_token="<unk>", bos_token=bos, model_max_length=1024), vocab


def hunyuan_i2v(path: Path) -> Path:
    """HunyuanVideo-I2V layout (latent_concat): a tiny Llava (Llama + a CLIP vision tower of 24x24 = 576
    patches, the template's image_emb_len) as text encoder, CLIP text encoder_2, CLIP image processor."""
    from diffusers import (
        FlowMatchEulerDiscreteScheduler,
        HunyuanVideoImageToVideoPipeline,
        HunyuanVideoTransformer3DModel,
    )
    from transformers import (
        CLIPImageProcessor,
        CLIPTextConfig,
        CLIPTextModel,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
    )

    _seed()
    tokenizer, vocab = _llama3_tokenizer()
    llava = LlavaForConditionalGeneration(LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=8, intermediate_size=16, num_hidden_layers=2,
                                       num_attention_heads=2, image_size=24, patch_size=1),
        text_config=LlamaConfig(vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=3,
                                num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=1024,
                                pad_token_id=0, bos_token_id=vocab["<|begin_of_text|>"],
                                eos_token_id=vocab["<|eot_id|>"]),
        image_token_index=vocab["<image>"], image_seq_length=576, pad_token_id=0)).eval()
    clip = CLIPTextModel(CLIPTextConfig(vocab_size=len(WORDS), hidden_size=8, intermediate_size=16,
                                        num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=77,
                                        projection_dim=8, pad_token_id=0, bos_token_id=3, eos_token_id=1)).eval()
    transformer = HunyuanVideoTransformer3DModel(
        in_channels=2 * 4 + 1, out_channels=4, num_attention_heads=2, attention_head_dim=10, num_layers=1,
        num_single_layers=1, num_refiner_layers=1, patch_size=1, patch_size_t=1, guidance_embeds=False,
        text_embed_dim=16, pooled_projection_dim=8, rope_axes_dim=(2, 4, 4), image_condition_type="latent_concat",
    ).eval()
    HunyuanVideoImageToVideoPipeline(
        transformer=transformer, vae=_hunyuan_vae(), scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        text_encoder=llava, tokenizer=tokenizer, text_encoder_2=clip, tokenizer_2=_tokenizer(77),
        image_processor=CLIPImageProcessor(size=24, crop_size=24)).save_pretrained(path)
    return path


def framepack(path: Path) -> dict[str, Path]:
    """FramePack is assembled from three repos, like the real one (HunyuanVideo base + FramePackI2V_HY
    transformer + flux_redux_bfl SigLIP image encoder); returns the three local dirs."""
    from diffusers import (
        FlowMatchEulerDiscreteScheduler,
        HunyuanVideoFramepackTransformer3DModel,
        HunyuanVideoPipeline,
        HunyuanVideoTransformer3DModel,
    )
    from transformers import SiglipImageProcessor, SiglipVisionConfig, SiglipVisionModel

    _seed()
    base = path / "base"
    # the base repo holds a plain HunyuanVideo transformer that FramePack replaces
    dummy = HunyuanVideoTransformer3DModel(
        in_channels=4, out_channels=4, num_attention_heads=2, attention_head_dim=10, num_layers=1,
        num_single_layers=1, num_refiner_layers=1, patch_size=1, patch_size_t=1, guidance_embeds=True,
        text_embed_dim=16, pooled_projection_dim=8, rope_axes_dim=(2, 4, 4)).eval()
    HunyuanVideoPipeline(transformer=dummy, vae=_hunyuan_vae(), scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
                         **_hunyuan_text()).save_pretrained(base)
    transformer = HunyuanVideoFramepackTransformer3DModel(
        in_channels=4, out_channels=4, num_attention_heads=2, attention_head_dim=10, num_layers=1,
        num_single_layers=1, num_refiner_layers=1, patch_size=2, patch_size_t=1, guidance_embeds=True,
        text_embed_dim=16, pooled_projection_dim=8, rope_axes_dim=(2, 4, 4), image_condition_type=None,
        has_image_proj=True, image_proj_dim=8, has_clean_x_embedder=True).eval()
    tdir = path / "transformer"
    transformer.save_pretrained(tdir)
    redux = path / "redux"
    SiglipVisionModel(SiglipVisionConfig(hidden_size=8, intermediate_size=16, num_hidden_layers=1,
                                         num_attention_heads=2, image_size=32, patch_size=8)).eval().save_pretrained(
        redux / "image_encoder")
    SiglipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(redux / "feature_extractor")
    return {"base": base, "transformer": tdir, "image_encoder": redux}


def sd_text2image(path: Path) -> Path:
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    _seed()
    unet = UNet2DConditionModel(block_out_channels=(8, 16), layers_per_block=1, sample_size=16, in_channels=4,
                                out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=16,
                                norm_num_groups=4, attention_head_dim=2).eval()
    vae = AutoencoderKL(block_out_channels=(8, 8), in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                        norm_num_groups=4).eval()
    text = CLIPTextModel(CLIPTextConfig(vocab_size=len(WORDS), hidden_size=16, intermediate_size=32,
                                        num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=77,
                                        pad_token_id=0, bos_token_id=3, eos_token_id=1)).eval()
    StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=_tokenizer(77), unet=unet,
                            scheduler=DDIMScheduler(), safety_checker=None, feature_extractor=None,
                            requires_safety_checker=False).save_pretrained(path)
    return path


def wan22_i2v_moe(path: Path) -> Path:
    """Wan 2.2 I2V-A14B layout: two experts (transformer, transformer_2, boundary_ratio), no CLIP encoder;
    first-last-frame through `last_image=` (the community route for Wan 2.2)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, WanImageToVideoPipeline

    _seed()
    pipe = WanImageToVideoPipeline(
        tokenizer=_tokenizer(), text_encoder=_t5(), vae=_wan_vae(),
        scheduler=FlowMatchEulerDiscreteScheduler(shift=5.0), image_processor=None, image_encoder=None,
        transformer=_wan_transformer(in_channels=36), transformer_2=_wan_transformer(in_channels=36),
        boundary_ratio=0.9)
    pipe.save_pretrained(path)
    return path


def wan22_ti2v(path: Path) -> Path:
    """Wan 2.2 TI2V-5B style text-to-video: per-token timesteps (`expand_timesteps=True`), which the
    transformer's context-parallel plan splits with the tokens."""
    from diffusers import FlowMatchEulerDiscreteScheduler, WanPipeline

    _seed()
    pipe = WanPipeline(tokenizer=_tokenizer(), text_encoder=_t5(), vae=_wan_vae(),
                       scheduler=FlowMatchEulerDiscreteScheduler(shift=5.0), transformer=_wan_transformer(),
                       expand_timesteps=True)
    pipe.save_pretrained(path)
    return path
