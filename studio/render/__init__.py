"""Rendering: the Backend protocol, shot plans and conditioning, and the backends."""
