"""Imported once by the forkserver of the `parallel` CPU tests, so each rank process forks with what a rank
imports already imported (a fresh interpreter per rank spends 20-40 s importing torch.distributed, dynamo,
diffusers and transformers on the test machine's two shared cores)."""

import accelerate  # noqa: F401
import diffusers.hooks.context_parallel  # noqa: F401
import diffusers.models.attention_dispatch  # noqa: F401
import diffusers.models.modeling_utils  # noqa: F401
import diffusers.pipelines.pipeline_utils  # noqa: F401
import diffusers.pipelines.wan.pipeline_wan  # noqa: F401
import diffusers.pipelines.wan.pipeline_wan_i2v  # noqa: F401
import torch  # noqa: F401
import torch._dynamo  # noqa: F401
import torch.distributed  # noqa: F401
import torch.distributed.device_mesh  # noqa: F401
import transformers.modeling_utils  # noqa: F401
import transformers.models.clip.modeling_clip  # noqa: F401
import transformers.models.umt5.modeling_umt5  # noqa: F401
import transformers.tokenization_utils_fast  # noqa: F401
from diffusers import AutoencoderKLWan, ContextParallelConfig, WanTransformer3DModel  # noqa: F401

import ttv.backends.local.parallel  # noqa: F401
import ttv.backends.local.wan  # noqa: F401
