"""Distil: teachers annotate silver data; students train on it and are scored as systems."""
