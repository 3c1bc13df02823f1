"""The `spacy` student: a blank spaCy pipeline for the dataset's language
with the NER pipeline `spacy init config --pipeline ner --optimize
efficiency` writes (tok2vec: MultiHashEmbed over NORM, PREFIX, SUFFIX, SHAPE,
width 96, a 4-layer maxout CNN; ner: the transition-based parser, hidden
width 64; no vectors, no PyTorch) and that config's optimizer (Adam, learn
rate 0.001, L2 0.01, gradient clip 1.0). The config comes from spaCy's own
`init_config`, so it is what spaCy 3.8 would write, not a copy of it.

Language: the dataset's base language ("pt-BR" → "pt"); where spaCy has none,
the multi-language "xx" (the report says so under `language_note`).

Training is a loop of our own rather than `spacy train`, so early stopping
can use nerbench's strict span F1 on the gold dev sentences: epochs of
`nlp.update` over minibatches of `batch_size` sentences, shuffled by
`random.Random(seed)` after `spacy.util.fix_random_seed(seed)`; after each
epoch the dev F1; training stops after `patience` epochs without improvement
(or at `max_epochs`), and the best epoch's weights are the model. Without dev
sentences every epoch runs and the last is kept.

Options (`--option KEY=VALUE`):

- `max_epochs` (15): the most passes over the training sentences.
- `patience` (3): epochs without a better dev F1 before stopping.
- `batch_size` (16): sentences per update (spaCy's own batcher starts at 100
  words, ~3 sentences of LeNER-Br, and compounds to 1000; 16 is in between).
- `dropout` (0.1): the efficiency config's.

Documents are nerbench's tokens exactly: `Doc(words, spaces)` from the
token offsets, so `doc.text == sentence.text`; text between tokens other than
one space becomes tokens of its own, as spaCy's tokenizer would make them.

Missing labels: tokens an `api.Example` marks `missing` get spaCy's missing
NER value ("-" in BILUO tags: no loss at all), not "O"; whitespace tokens
spaCy needs between nerbench's tokens are missing when a neighbour is.
Tokens inside taught spans are always taught. Overlapping spans cannot be
tags: the earliest, then longest, is kept and the rest counted.

Continues (`--use pretrain`): `train` after `load` resumes from the loaded
weights (`nlp.resume_training`), labels it lacks added.

A model folder from a stranger: spaCy follows the paths its `config.cfg`
names (a component's `source` loads another pipeline; `[paths]` and any
other path value name files), resolved from the working directory. Each
must stay inside the model folder (`verify`), so a folder cannot make
nerbench read a pipeline or file from elsewhere. Its weights are msgpack and
its vectors NumPy arrays read without pickle.

CPU only: `spacy.require_cpu()` is called, so thinc's NumPy ops run
everything (its matrix products go through blis, single-threaded); the
efficiency config has no PyTorch layer. Determinism: the same seed, data and
options give the same model — within a process tests/test_students.py checks
it; two processes with different PYTHONHASHSEED gave identical losses too.

Measured (one core, seed 0, defaults): 1,000 LeNER-Br train sentences, 200
dev: stopped after 13 epochs (best 10, dev F1 0.558) in 79 s; strict F1 0.672
on the first 1,000 test sentences."""

from __future__ import annotations

import configparser
import importlib.util
import json
import random
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from nerbench import api

from .common import strict_f1, to_span, token_ranges

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc
    from spacy.training import Example as SpacyExample

MODEL = "model"
#: Parses the beam keeps for `SpacyStudent.doubt`.
BEAM_WIDTH = 16
RUNS = re.compile(r"\s+|\S+")
#: A config value spaCy would take as a path: a separator, a home or a parent in it.
PATHLIKE = re.compile(r"[/\\]|^~|^\.\.")


def config_value(raw: str) -> object:
    """A `config.cfg` value as spaCy reads it (JSON, else the bare string)."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def config_paths(config_file: Path) -> list[tuple[str, str]]:
    """(where, value) of every value in `config_file` that spaCy would follow
    as a path or a pipeline to load: `source`, `[paths]`, and any string
    that looks like a path (an `${...}` reference is resolved from these)."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(config_file.read_text(encoding="utf-8"), str(config_file))
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise api.NerbenchError(f"{config_file}: not a spaCy config ({type(exc).__name__})") from None
    found = []
    for section in parser.sections():
        for key, raw in parser.items(section, raw=True):
            value = config_value(raw)
            if not isinstance(value, str) or value.startswith("${"):
                continue
            if key == "source" or section == "paths" or PATHLIKE.search(value):
                found.append((f"[{section}] {key}", value))
    return found


class Layout:
    """A sentence as spaCy words: nerbench's tokens plus the text between them
    that is not a single space; `where[i]` is token i's position in `words`."""

    def __init__(self, sentence: api.Sentence) -> None:
        self.words: list[str] = []
        self.spaces: list[bool] = []
        self.where: list[int] = []
        pos = 0
        for token in sentence.tokens:
            self._between(sentence.text[pos:token.start])
            self.where.append(len(self.words))
            self._word(token.text)
            pos = token.end
        self._between(sentence.text[pos:])

    def _word(self, word: str) -> None:
        self.words.append(word)
        self.spaces.append(False)

    def _between(self, text: str) -> None:
        # spaCy's convention: one space after a word is its trailing space;
        # any other whitespace (or uncovered text) is a token of its own.
        for run in RUNS.findall(text):
            if run[0] == " " and self.words and not self.spaces[-1] and not self.words[-1].isspace():
                self.spaces[-1] = True
                run = run[1:]
            if run:
                self._word(run)

    def doc(self, vocab: Any) -> Doc:
        from spacy.tokens import Doc

        return Doc(vocab, words=self.words, spaces=self.spaces)

    def biluo(self, example: api.Example) -> tuple[list[str], int]:
        """BILUO tags of `example` on these words, "-" where it is missing,
        and how many of its spans overlapping ones left out."""
        tokens = len(example.sentence.tokens)
        missing = example.missing or (False,) * tokens
        tags = ["O"] * len(self.words)
        owner = {w: i for i, w in enumerate(self.where)}
        before = -1
        for j in range(len(self.words)):
            if j in owner:
                before = owner[j]
                tags[j] = "-" if missing[before] else "O"
            elif any(missing[k] for k in (before, before + 1) if 0 <= k < tokens):
                tags[j] = "-"
        ranges, dropped = token_ranges(example.sentence)
        for first, last, label in ranges:
            a, b = self.where[first], self.where[last - 1]
            if a == b:
                tags[a] = f"U-{label}"
                continue
            tags[a], tags[b] = f"B-{label}", f"L-{label}"
            for j in range(a + 1, b):
                tags[j] = f"I-{label}"
        return tags, dropped

    def spans(self, doc: Doc, sentence: api.Sentence) -> list[api.Span]:
        """`doc`'s entities as spans on the sentence's tokens (an entity of
        in-between text alone has no token and is left out)."""
        owner = {w: i for i, w in enumerate(self.where)}
        out = []
        for ent in doc.ents:
            inside = [owner[j] for j in range(ent.start, ent.end) if j in owner]
            if inside:
                out.append(to_span(sentence, inside[0], inside[-1] + 1, ent.label_))
        return out


def spacy_language(language: str) -> tuple[str, str | None]:
    """spaCy's language code for a dataset's, and a note when it falls back."""
    import spacy

    base = language.replace("_", "-").split("-")[0].lower()
    try:
        spacy.util.get_lang_class(base)
    except ImportError:
        return "xx", f"spaCy has no language {base!r} (dataset language {language!r}): multi-language 'xx' used"
    return base, None


def training_example(nlp: Language, example: api.Example) -> tuple[SpacyExample, int]:
    """`example` as spaCy's: missing tokens missing, the rest taught."""
    from spacy.training import Example as SpacyExample

    layout = Layout(example.sentence)
    tags, dropped = layout.biluo(example)
    return SpacyExample.from_dict(layout.doc(nlp.vocab), {"entities": tags}), dropped


def tag(nlp: Language, sentences: Sequence[api.Sentence]) -> list[list[api.Span]]:
    layouts = [Layout(s) for s in sentences]
    docs = nlp.pipe(layout.doc(nlp.vocab) for layout in layouts)
    return [layout.spans(doc, s) for layout, doc, s in zip(layouts, docs, sentences)]


class SpacyStudent(api.Student):
    """spaCy's efficiency NER pipeline (tok2vec + ner), trained in epochs
    with early stopping on nerbench's strict F1 on the gold dev sentences."""

    continues: ClassVar[bool] = True
    doubts: ClassVar[bool] = True
    # pt-distill: the silver then the gold beat the gold mixed into the silver (34.9-44.3 against 23.5-36.0 F1
    # for 50-200 gold), and `missing` left it tagging far too much (silver-union 11.0 against 22.4 with O)
    recipe: ClassVar[tuple[str, str]] = ("pretrain", "O")
    OPTIONS: ClassVar[dict[str, Any] | None] = {
        "max_epochs": {"type": "integer", "minimum": 1, "default": 15,
                       "description": "the most passes over the training sentences"},
        "patience": {"type": "integer", "minimum": 1, "default": 3,
                     "description": "epochs without a better dev F1 before stopping"},
        "batch_size": {"type": "integer", "minimum": 1, "default": 16, "description": "sentences per update"},
        "dropout": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.1,
                    "description": "dropout while training"},
    }

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._nlp: Language | None = None

    @classmethod
    def missing(cls) -> str | None:
        return "spacy" if importlib.util.find_spec("spacy") is None else None

    def _pipeline(self, language: str, seed: int) -> tuple[Language, str, str | None]:
        import spacy
        from spacy.cli.init_config import init_config

        used, note = spacy_language(language)
        config = init_config(lang=used, pipeline=["ner"], optimize="efficiency")
        # Recorded in the model's config.cfg, so the folder says its seed.
        config["system"]["seed"] = seed
        return spacy.util.load_model_from_config(config, auto_fill=True), used, note

    def train(self, examples: Sequence[api.Example], dev: Sequence[api.Sentence], labels: Sequence[str],
              language: str, out_dir: Path, seed: int) -> dict[str, Any]:
        import spacy
        from spacy.pipeline import EntityRecognizer

        if not examples:
            raise api.NerbenchError("the spacy student has no sentences to train on")
        started = time.perf_counter()
        spacy.require_cpu()
        spacy.util.fix_random_seed(seed)
        continued = self._nlp is not None
        if self._nlp is not None:
            nlp, used, note = self._nlp, self._nlp.lang, None
        else:
            nlp, used, note = self._pipeline(language, seed)
        ner = nlp.get_pipe("ner")
        if not isinstance(ner, EntityRecognizer):
            raise api.NerbenchError(f"the spacy student's pipeline has no entity recognizer: {nlp.pipe_names}")
        # All the dataset's labels, so one absent from this data is still an output.
        for label in labels:
            ner.add_label(label)
        pairs = [training_example(nlp, e) for e in examples]
        train = [p[0] for p in pairs]
        optimizer = nlp.resume_training() if continued else nlp.initialize(lambda: train)
        rng = random.Random(seed)
        order = list(train)
        history: list[float] = []
        losses_per_epoch: list[float] = []
        best_f1, best_epoch, best_bytes, stale = -1.0, 0, b"", 0
        for epoch in range(1, int(self.options["max_epochs"]) + 1):
            rng.shuffle(order)
            losses: dict[str, float] = {}
            for batch in spacy.util.minibatch(order, size=int(self.options["batch_size"])):
                nlp.update(batch, drop=float(self.options["dropout"]), sgd=optimizer, losses=losses)
            self.progress(epoch, int(self.options["max_epochs"]))
            losses_per_epoch.append(round(float(losses.get("ner", 0.0)), 3))
            f1 = strict_f1(tag(nlp, dev), dev) if dev else 0.0
            history.append(f1)
            if not dev or f1 > best_f1:
                best_f1, best_epoch, best_bytes, stale = f1, epoch, nlp.to_bytes(), 0
                continue
            stale += 1
            if stale >= int(self.options["patience"]):
                break
        nlp.from_bytes(best_bytes)
        nlp.to_disk(out_dir / MODEL)
        self._nlp = nlp
        report: dict[str, Any] = {
            "epochs": len(history), "best_epoch": best_epoch, "dev_f1": history if dev else [],
            "best_dev_f1": best_f1 if dev else None, "loss": losses_per_epoch,
            "train_s": round(time.perf_counter() - started, 3), "config": "efficiency ner",
            "language": used, "options": dict(self.options), "continued": continued,
            "sentences": len(train),
            "missing_tokens": sum(sum(e.missing) for e in examples),
            "overlapping_spans_left_out": sum(p[1] for p in pairs),
            "missing": "tokens marked missing carry spaCy's missing NER value (no loss), not O",
            "spacy_version": spacy.__version__,
        }
        if note:
            report["language_note"] = note
        if not dev:
            report["dev_note"] = "no dev sentences: every epoch ran and the last is the model"
        return report

    @classmethod
    def verify(cls, model_dir: Path) -> None:
        config_file = api.contained(model_dir, f"{MODEL}/config.cfg", f"{model_dir}: {MODEL}/config.cfg")
        if not config_file.is_file():
            raise api.NerbenchError(f"{config_file}: missing (a spacy model folder holds {MODEL}/config.cfg)")
        root = (model_dir / MODEL).resolve()
        for where, value in config_paths(config_file):
            # spaCy resolves a relative path from the working directory, not from the model
            target = (Path.cwd() / Path(value).expanduser()).resolve()
            if target != root and root not in target.parents:
                raise api.NerbenchError(f"{config_file}: {where} = {value!r} leads out of the model folder "
                                        f"({model_dir}); not loaded")

    def load(self, model_dir: Path) -> None:
        import spacy

        spacy.require_cpu()
        self._nlp = spacy.load(model_dir / MODEL)

    def predict(self, sentences: Sequence[api.Sentence]) -> list[list[api.Span]]:
        if self._nlp is None:
            raise api.NerbenchError("the spacy student has no model: train or load one first")
        return tag(self._nlp, sentences)

    def doubt(self, sentences: Sequence[api.Sentence]) -> list[float]:
        """1 − the probability of the best of the `BEAM_WIDTH` parses a beam
        search over the trained (greedy) recognizer's own action scores
        keeps, normalised over those parses: the CRF's doubt, with the beam
        standing in for every tagging. Greedy decoding alone gives no
        probability of the sentence's parse."""
        if self._nlp is None:
            raise api.NerbenchError("the spacy student has no model: train or load one first")
        from spacy.pipeline import EntityRecognizer

        nlp = self._nlp
        # every component but the recognizer: what it listens to (tok2vec) sets the docs' tensors
        docs = list(nlp.pipe((Layout(s).doc(nlp.vocab) for s in sentences), disable=["ner"]))
        ner = nlp.get_pipe("ner")
        if not isinstance(ner, EntityRecognizer):
            raise api.NerbenchError(f"the spacy student's pipeline has no entity recognizer: {nlp.pipe_names}")
        worded = [d for d in docs if len(d)]
        beams = iter(ner.beam_parse(worded, beam_width=BEAM_WIDTH) if worded else [])
        return [1.0 - max(p for p, _ in ner.moves.get_beam_parses(next(beams))) if len(d) else 0.0 for d in docs]

    def to_spacy(self, out_dir: Path, language: str) -> tuple[list[Path], list[str]]:
        """The trained pipeline itself: spaCy's own components, no code to ship."""
        if self._nlp is None:
            raise api.NerbenchError("the spacy student has no model to ship: load one first")
        self._nlp.to_disk(out_dir)
        return [], []
