"""Combine: candidate index, combiners' stage, subset search, transfer."""
