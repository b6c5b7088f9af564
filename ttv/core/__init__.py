"""The kernel: errors, files, hashing, TOML, events, keys, prices, schemas, user config, GPU probe, media, colour.

It imports no other ttv package and nothing heavy (torch, diffusers, textual, provider SDKs).
"""
