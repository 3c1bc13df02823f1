"""Interchange files: one module per file format, reading and writing together."""
