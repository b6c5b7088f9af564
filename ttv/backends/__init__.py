"""Backends: video generators, keyframe image providers and planners, behind one interface."""
