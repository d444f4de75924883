"""consistency stage."""
