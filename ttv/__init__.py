"""ttv: turn one idea into a long video, step by step, resumable."""

__version__ = "0.1.0"
