"""Silver data: what a teacher annotated, with, per span, how many of its
members proposed it and, per sentence, how much they disagreed — written as
sentence JSONL (`silver.jsonl`, nerbench's own reader reads it back) and
exported for training: CoNLL BIO, span JSONL (Prodigy and doccano) and spaCy's
DocBin.

Token-level exports cannot hold a span that does not fall on token
boundaries, nor two overlapping spans: such spans stay in `silver.jsonl` and
are counted (`misaligned`, `overlapping`), never dropped in silence. Nor can
they hold every sentence: one that an export would not give back as it is
(no tokens; for CoNLL a line break, whitespace at an edge of its text, id or
a token, a tab in a token, a first token starting with "#" that nerbench's
CoNLL reader takes for a comment, or text between tokens; for DocBin a gap
between tokens other than one space) is left out of that export and counted
by reason (`sentences_without_tokens`, `conll_...`, `docbin_...`).

`silver.jsonl` is read back by one validating reader (`checked_silver`), as
predictions are: a silver file may come from a stranger, and a partial
annotation's unanswered sentences look like sentences without entities."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from nerbench.data.readers import sentence_lines
from nerbench.errors import NerbenchError
from nerbench.files.atomic import atomic_write
from nerbench.files.predictions import read_predictions
from nerbench.files.text import read_json
from nerbench.parse.alignment import TokenIndex, spans_to_tags, tags_to_token_spans
from nerbench.score.prf import prf
from nerbench.records import STATUS_ERROR, Sentence, Span

#: What `nerbench annotate` writes beside `silver.jsonl`: its own record of the annotation.
ANNOTATION = "annotation.json"


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


@dataclass(frozen=True)
class SilverFile:
    """A checked `silver.jsonl`: its sentences in order, whether its
    annotation says it is partial, and the ids of sentences some member of
    the teacher never answered (their spans are no answer, not "no entity")."""

    sentences: list[SilverSentence]
    partial: bool
    unanswered: frozenset[str]


def _count(obj: dict[str, Any], key: str, default: int, where: str) -> int:
    value = obj.get(key, default)
    if type(value) is not int or value < 1:
        raise NerbenchError(f"{where}: field {key}: {value!r} is not a count (an integer from 1)")
    return value


def _silver_line(where: str, obj: dict[str, Any], sentence: Sentence, labels: set[str], source: str
                 ) -> SilverSentence:
    members = _count(obj, "members", 1, where)
    votes = []
    for i, (span, raw) in enumerate(zip(sentence.spans, obj.get("spans", []))):
        if span.label not in labels:
            raise NerbenchError(f"{where}: field spans[{i}].label: {span.label!r} is not a label of {source} "
                                f"({', '.join(sorted(labels))})")
        votes.append(_count(raw, "votes", 1, f"{where}: spans[{i}]"))
        if votes[-1] > members:
            raise NerbenchError(f"{where}: field spans[{i}].votes: {votes[-1]} votes of {members} members")
    if len(set(sentence.spans)) < len(sentence.spans):
        raise NerbenchError(f"{where}: field spans: a span is given twice")
    dis = obj.get("disagreement")
    if dis is not None and (type(dis) not in (int, float) or not 0 <= dis <= 1):
        raise NerbenchError(f"{where}: field disagreement: {dis!r} is not a number from 0 to 1")
    return SilverSentence(sentence, tuple(votes), members, None if dis is None else float(dis))


def _annotation(path: Path) -> dict[str, Any] | None:
    """The annotation.json beside `path`, its fields checked, or None."""
    at = path.parent / ANNOTATION
    if not at.is_file():
        return None
    record = read_json(at, "annotation")
    if not isinstance(record, dict):
        raise NerbenchError(f"{at}: not an annotation (expected a JSON object)")
    for key, kind in (("sentence_ids", list), ("labels", list), ("partial", bool)):
        if not isinstance(record.get(key), kind):
            raise NerbenchError(f"{at}: field {key}: missing or not a {kind.__name__}")
    if not all(isinstance(x, str) for x in [*record["sentence_ids"], *record["labels"]]):
        raise NerbenchError(f"{at}: field sentence_ids or labels: not a list of strings")
    return record


def _unanswered(path: Path, record: dict[str, Any]) -> frozenset[str] | None:
    """Ids of sentences some member of the recorded teacher did not answer
    (an error, or no row) in the predictions.jsonl beside `path`; None when
    there is none to tell."""
    rows_path = path.parent / "predictions.jsonl"
    members = (record.get("teacher") or {}).get("members") if isinstance(record.get("teacher"), dict) else None
    if not rows_path.is_file() or not isinstance(members, list):
        return None
    answered: dict[str, set[str]] = {m: set() for m in members if isinstance(m, str)}
    for row in read_predictions(rows_path):
        if row.system in answered and row.status != STATUS_ERROR:
            answered[row.system].add(row.sentence_id)
    return frozenset(sid for sid in record["sentence_ids"] if not all(sid in ids for ids in answered.values()))


def checked_silver(path: Path, labels: Sequence[str] | None = None) -> SilverFile:
    """`silver.jsonl` read by its one validating reader: each line checked as
    sentence JSONL is (offsets on the text, spans on tokens), its labels the
    dataset's (`labels`, else those its annotation.json records), one line
    per sentence id, votes between 1 and its members; and, where
    annotation.json lies beside it, that record agreeing with it (the same
    sentences, in order) and saying whether it is partial and which
    sentences a member never answered (from predictions.jsonl beside it)."""
    record = _annotation(path)
    at = path.parent / ANNOTATION
    if labels is None and record is None:
        raise NerbenchError(f"{path}: no {ANNOTATION} beside it to say its labels; give the dataset (--gold)")
    known = set(labels if labels is not None else record["labels"])  # type: ignore[index]
    if record is not None and not set(record["labels"]) <= known:
        raise NerbenchError(f"{at}: field labels: {sorted(set(record['labels']) - known)} are not labels of the "
                            f"dataset ({', '.join(sorted(known))})")
    source = "the dataset" if labels is not None else str(at)
    out: list[SilverSentence] = []
    lines: dict[str, str] = {}
    for where, obj, sentence in sentence_lines(path, "silver"):
        if sentence.id in lines:
            raise NerbenchError(f"{where}: sentence id {sentence.id!r} again (first at {lines[sentence.id]}); one "
                                "line per sentence")
        lines[sentence.id] = where
        out.append(_silver_line(where, obj, sentence, known, source))
    if not out:
        raise NerbenchError(f"{path}: no silver sentences")
    if record is None:
        return SilverFile(out, False, frozenset())
    ids = [s.sentence.id for s in out]
    if record["sentence_ids"] != ids:
        first = next((i for i, (a, b) in enumerate(zip(record["sentence_ids"], ids)) if a != b),
                     min(len(ids), len(record["sentence_ids"])))
        raise NerbenchError(f"{at}: field sentence_ids: not the sentences of {path} (they differ at the "
                            f"{first + 1}th: {len(record['sentence_ids'])} recorded, {len(ids)} in the file)")
    unanswered = _unanswered(path, record)
    if record["partial"] and not unanswered:
        # partial, but which sentences lack an answer cannot be told: none of them can be trusted as silence
        raise NerbenchError(f"{at}: field partial: the annotation is partial and predictions.jsonl beside it "
                            "does not say which sentences got no answer; run `nerbench annotate` again to "
                            "complete it")
    return SilverFile(out, bool(record["partial"]), unanswered or frozenset())


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


def conll_problem(sentence: Sentence) -> str | None:
    """Why nerbench's CoNLL reader would not give `sentence` back as it is
    (its id, text, tokens and spans), or None."""
    tokens, text = sentence.tokens, sentence.text
    if not tokens:
        return "sentences_without_tokens"
    if "\n" in text or "\n" in sentence.id:
        return "conll_line_break"
    if text != text.strip() or not sentence.id.strip() or sentence.id != sentence.id.strip():
        return "conll_whitespace_at_an_edge"
    if any("\t" in t.text or t.text != t.text.strip() for t in tokens):
        return "conll_whitespace_in_a_token"
    if tokens[0].text.startswith("#"):
        return "conll_first_token_is_a_comment"
    gaps = [text[a.end:b.start] for a, b in zip(tokens, tokens[1:])]
    if text[:tokens[0].start] or text[tokens[-1].end:] or any(gap.strip() for gap in gaps):
        return "conll_text_between_tokens"
    return None


def docbin_problem(sentence: Sentence) -> str | None:
    """Why a spaCy Doc of `sentence`'s tokens would not have its text, or None."""
    tokens = sentence.tokens
    if not tokens:
        return "sentences_without_tokens"
    rebuilt = "".join(t.text + (" " if nxt.start > t.end else "") for t, nxt in zip(tokens, tokens[1:]))
    if sentence.text != rebuilt + tokens[-1].text:
        return "docbin_text_is_not_tokens_and_single_spaces"
    return None


def write_silver_jsonl(path: Path, silver: Sequence[SilverSentence | Sentence]) -> None:
    """Sentence JSONL: silver sentences with their votes, or plain (reviewed) ones."""
    with atomic_write(path) as out:
        for s in silver:
            out.write(json.dumps(s.to_json(), ensure_ascii=False) + "\n")


def write_conll(path: Path, silver: Sequence[SilverSentence]) -> Counter[str]:
    """One token and its IOB2 tag a line, a blank line after each sentence,
    `# sent_id` and `# text` comments first (nerbench's CoNLL reader uses
    them); a sentence it would not give back is left out and counted."""
    lost: Counter[str] = Counter()
    with atomic_write(path) as out:
        for s in silver:
            problem = conll_problem(s.sentence)
            if problem is not None:
                lost[problem] += 1
                continue
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
    sentence on its own tokens, the spans as its entities, its id in
    `user_data`; a sentence whose Doc would not have its text is left out,
    and the count of those by reason returned (spans a token export cannot
    hold are `write_conll`'s to count). None, writing nothing, when spaCy is
    not installed (`pip install 'nerbench[train]'`)."""
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
        problem = docbin_problem(s.sentence)
        if problem is not None:
            lost[problem] += 1
            continue
        tokens = s.sentence.tokens
        spaces = [bool(s.sentence.text[t.end:nxt.start]) for t, nxt in zip(tokens, tokens[1:])] + [False]
        doc = Doc(vocab, words=[t.text for t in tokens], spaces=spaces)
        kept, _ = token_spans(s.sentence)
        doc.set_ents([SpacySpan(doc, a, b, label=label) for a, b, label in kept])
        doc.user_data["id"] = s.sentence.id
        docs.add(doc)
    with atomic_write(path, binary=True) as out:
        out.write(docs.to_bytes())
    return lost
