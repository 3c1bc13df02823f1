"""Data: datasets described by manifests, and the corpus readers."""
