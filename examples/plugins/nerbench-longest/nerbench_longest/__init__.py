"""longest: k-of-n voting where the longer of two overlapping survivors wins."""

from __future__ import annotations

import numpy as np

from nerbench import api


class LongestCombiner(api.Combiner):
    def __init__(self, min_votes: int | None = None) -> None:
        self.min_votes = min_votes

    def settings(self, size):
        return [{"min_votes": min(self.min_votes, size)}] if self.min_votes else [
            {"min_votes": k} for k in range(1, size + 1)]

    def select(self, index, subsets, params):
        votes = index.votes.astype(np.int32) @ subsets.T.astype(np.int32)
        # length dominates; votes (< 1000 systems) only break ties between equal lengths
        priority = index.length[:, None] * 1000.0 + votes
        return votes >= params["min_votes"], priority


@api.hookimpl
def register_combiners(register):
    register("longest", LongestCombiner)
