"""Imported once by the forkserver of the `parallel` CPU tests, so each rank process forks with torch,
diffusers and the Wan pipelines already imported (a fresh interpreter per rank spends ~10 s importing them
on the test machine's two shared cores)."""

import diffusers.pipelines.wan.pipeline_wan  # noqa: F401
import diffusers.pipelines.wan.pipeline_wan_i2v  # noqa: F401
import torch  # noqa: F401
import transformers  # noqa: F401
from diffusers import AutoencoderKLWan, WanTransformer3DModel  # noqa: F401
from transformers import CLIPVisionModel, UMT5EncoderModel  # noqa: F401

import parallel_harness  # noqa: F401
import ttv.backends.local.parallel  # noqa: F401
import ttv.backends.local.wan  # noqa: F401
