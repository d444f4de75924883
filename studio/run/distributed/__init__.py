"""Rendering a film's shots on many workers: the scheduling policy (no Ray needed)."""
