"""studio: an open, local, reproducible film composition studio.

Write a screenplay in YAML; studio plans its shots, keeps its characters consistent,
renders every shot, voices and scores it, and assembles the cut.
"""

__version__ = "0.1.0"
