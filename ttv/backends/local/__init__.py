"""Local diffusers backends: Wan 2.1/2.2, LTX-Video, HunyuanVideo, FramePack, text-to-image keyframes.

Every module here imports torch/diffusers/transformers inside functions only (see common.py).
"""
