"""The ttv library: project folder, manifests, staleness, scheduling, media.

Nothing in this package imports torch, diffusers, textual or a provider SDK.
"""
