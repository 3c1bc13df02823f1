"""The candidate index: every span many systems predicted, counted and searched in bulk (a library)."""
