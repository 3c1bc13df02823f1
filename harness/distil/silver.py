"""Silver data: what a teacher annotated, with, per span, how many of its
members proposed it and, per sentence, how much they disagreed — written as
sentence JSONL (`silver.jsonl`, nerbench's own reader reads it back) and
exported for training: CoNLL BIO, span JSONL (Prodigy and doccano) and spaCy's
DocBin.

Token-level exports cannot hold a span that does not fall on token
boundaries, nor two overlapping spans: such spans stay in `silver.jsonl` and
are counted (`misaligned`, `overlapping`), never dropped in silence."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from nerbench.files.atomic import atomic_write
from nerbench.parse.alignment import TokenIndex, spans_to_tags, tags_to_token_spans
from nerbench.score.prf import prf
from nerbench.records import Sentence, Span


def pair_f1(a: Iterable[Span], b: Iterable[Span]) -> float:
    """Span-level F1 between two systems' answers for one sentence (both
    silent: they agree, 1.0)."""
    sa, sb = set(a), set(b)
    if not sa and not sb:
        return 1.0
    return float(prf(len(sa & sb), len(sa), len(sb))[2])


def disagreement(answers: Sequence[Iterable[Span]]) -> float | None:
    """1 − the mean pairwise span F1 among members' answers (None for one member)."""
    answers = [list(a) for a in answers]
    if len(answers) < 2:
        return None
    pairs = list(combinations(answers, 2))
    return 1.0 - sum(pair_f1(a, b) for a, b in pairs) / len(pairs)


@dataclass(frozen=True)
class SilverSentence:
    """One annotated sentence: its spans, each with the members that proposed it."""

    sentence: Sentence
    votes: tuple[int, ...]  # per span of sentence.spans
    members: int
    disagreement: float | None

    def to_json(self) -> dict[str, Any]:
        data = self.sentence.to_json()
        for span, votes in zip(data["spans"], self.votes):
            span["votes"] = votes
        data["members"] = self.members
        data["disagreement"] = None if self.disagreement is None else round(self.disagreement, 6)
        return data


def silver_sentences(sentences: Sequence[Sentence], spans: Mapping[str, Sequence[Span]],
                     members: Mapping[str, Mapping[str, Iterable[Span]]]) -> list[SilverSentence]:
    out = []
    names = sorted(members)
    for sentence in sentences:
        answers = [set(members[m].get(sentence.id, ())) for m in names]
        chosen = tuple(sorted(set(spans.get(sentence.id, ()))))
        votes = tuple(sum(span in a for a in answers) for span in chosen)
        out.append(SilverSentence(Sentence(sentence.id, sentence.text, sentence.tokens, chosen), votes, len(names),
                                  disagreement(answers)))
    return out


def token_spans(sentence: Sentence) -> tuple[list[tuple[int, int, str]], Counter[str]]:
    """The spans a token-level format can hold, as (first, last+1, label)
    token ranges (overlaps resolved as IOB2 does: longest first), and what
    could not be held, by reason."""
    index = TokenIndex(sentence.tokens)
    lost: Counter[str] = Counter()
    aligned = []
    for span in sentence.spans:
        if index.is_aligned(span.start, span.end):
            aligned.append(span)
        else:
            lost["misaligned"] += 1
    kept = tags_to_token_spans(spans_to_tags(aligned, index))
    lost["overlapping"] += len(aligned) - len(kept)
    return kept, +lost


def write_silver_jsonl(path: Path, silver: Sequence[SilverSentence | Sentence]) -> None:
    """Sentence JSONL: silver sentences with their votes, or plain (reviewed) ones."""
    with atomic_write(path) as out:
        for s in silver:
            out.write(json.dumps(s.to_json(), ensure_ascii=False) + "\n")


def write_conll(path: Path, silver: Sequence[SilverSentence]) -> Counter[str]:
    """One token and its IOB2 tag a line, a blank line after each sentence,
    `# sent_id` and `# text` comments first (nerbench's CoNLL reader uses them)."""
    lost: Counter[str] = Counter()
    with atomic_write(path) as out:
        for s in silver:
            kept, why = token_spans(s.sentence)
            lost.update(why)
            tags = ["O"] * len(s.sentence.tokens)
            for first, last, label in kept:
                tags[first] = f"B-{label}"
                for k in range(first + 1, last):
                    tags[k] = f"I-{label}"
            out.write(f"# sent_id = {s.sentence.id}\n# text = {s.sentence.text}\n")
            for token, tag in zip(s.sentence.tokens, tags):
                out.write(f"{token.text}\t{tag}\n")
            out.write("\n")
    return lost


def write_span_jsonl(path: Path, silver: Sequence[SilverSentence]) -> None:
    """Prodigy's shape (`text`, `tokens`, `spans` with token_start/token_end)
    with doccano's `label` ([[start, end, label]]) beside it; `meta` carries
    the id, votes and disagreement."""
    with atomic_write(path) as out:
        for s in silver:
            index = TokenIndex(s.sentence.tokens)
            spans = []
            for span, votes in zip(s.sentence.spans, s.votes):
                item: dict[str, Any] = {"start": span.start, "end": span.end, "label": span.label, "votes": votes}
                rng = index.token_range(span.start, span.end) if index.is_aligned(span.start, span.end) else None
                if rng is not None:
                    item["token_start"], item["token_end"] = rng[0], rng[1] - 1
                spans.append(item)
            out.write(json.dumps({
                "text": s.sentence.text,
                "tokens": [{"text": t.text, "start": t.start, "end": t.end, "id": i}
                           for i, t in enumerate(s.sentence.tokens)],
                "spans": spans,
                "label": [[sp.start, sp.end, sp.label] for sp in s.sentence.spans],
                "meta": {"id": s.sentence.id, "members": s.members, "disagreement": s.disagreement},
            }, ensure_ascii=False) + "\n")


def write_docbin(path: Path, silver: Sequence[SilverSentence], language: str) -> Counter[str] | None:
    """spaCy's DocBin (`.spacy`, what `spacy train` reads): one Doc per
    sentence on its own tokens (a gap between tokens becomes one space), the
    spans as its entities, its id in `user_data`. None, writing
    nothing, when spaCy is not installed (`pip install 'nerbench[train]'`)."""
    try:
        import spacy
        from spacy.tokens import Doc, DocBin, Span as SpacySpan
    except ImportError:
        return None
    base = language.split("-")[0]
    try:
        vocab = spacy.blank(base).vocab
    except ImportError:  # no such language in spaCy: its multi-language class
        vocab = spacy.blank("xx").vocab
    lost: Counter[str] = Counter()
    docs = DocBin(store_user_data=True)
    for s in silver:
        tokens = s.sentence.tokens
        spaces = [bool(s.sentence.text[t.end:nxt.start]) for t, nxt in zip(tokens, tokens[1:])] + [False]
        doc = Doc(vocab, words=[t.text for t in tokens], spaces=spaces)
        kept, why = token_spans(s.sentence)
        lost.update(why)
        doc.set_ents([SpacySpan(doc, a, b, label=label) for a, b, label in kept])
        doc.user_data["id"] = s.sentence.id
        docs.add(doc)
    with atomic_write(path, binary=True) as out:
        out.write(docs.to_bytes())
    return lost
