"""Which sentences a set of predictions is scored on: a predictions file that
answers a sample of a split is scored on that sample, not on the rest as if
every system had predicted nothing there — and the output says which."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nerbench.records import Sentence


@dataclass(frozen=True)
class Coverage:
    #: the sentences to score, in the split's order
    sentences: list[Sentence]
    #: how many of the split's sentences (after any --limit) some system answered
    answered: int
    #: the split's sentences (after any --limit)
    total: int

    def note(self, ref: str, everything: bool) -> str | None:
        """What to tell the user when not every sentence was answered."""
        if self.answered == self.total:
            return None
        if everything:
            return (f"scored on all {self.total} sentences of {ref}: {self.total - self.answered} no system "
                    "answered count as predicting nothing")
        return (f"scored on {self.answered} of {self.total} sentences of {ref} (those the predictions answer; "
                "--all scores the rest as predicting nothing)")


def covered(sentences: Sequence[Sentence], systems: Mapping[str, Mapping[str, Any]], everything: bool = False
            ) -> Coverage:
    """The sentences some system answered (all of them when `everything`),
    with the counts for `Coverage.note`. `systems`: system → sentence id → spans."""
    answered = {sid for preds in systems.values() for sid in preds}
    subset = [s for s in sentences if s.id in answered]
    return Coverage(list(sentences) if everything else subset, len(subset), len(sentences))
