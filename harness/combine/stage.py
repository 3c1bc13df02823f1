"""The combine stage of `nerbench run`: ensembles chosen on each dataset's dev
sample, evaluated in-domain and on every other dataset (the transfer matrix)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from nerbench.bases import Combiner, Dataset, JudgedCombiner, Judges
from nerbench.index.candidates import CandidateIndex, build_index
from nerbench.config.settings import BackendEntry, EnsembleSettings
from nerbench.data.sample import common
from nerbench.errors import NerbenchError
from nerbench.plan.matrix import Plan
from nerbench.plugin_system.factory import Where, make
from nerbench.plugin_system.manager import Registry
from nerbench.infer.runner import Caller, JobOutcome, Runner, SystemStats, one_model_at_a_time
from nerbench.score.details import details
from nerbench.score.strict import SPAN_SET, per_sentence
from nerbench.index.search import Choice, best_single, choose, ensemble_name, evaluate
from nerbench.records import Failure, Generation, Prediction, Prompt, Span


class RunJudges:
    """How LLM-judged combiners ask models (`nerbench.bases.Judges`): through
    the run's cache, concurrency limits and retries, each server asked one
    judge model after another."""

    def __init__(self, runner: Runner, backends: Sequence[BackendEntry]) -> None:
        self.runner = runner
        self.kinds = {b.name: b.kind for b in backends}
        #: backend → model name → model id, for judges named like systems
        self.models = {b.name: {ref.name: ref.id for ref in b.models} for b in backends}
        self.stats = SystemStats()

    def _judge(self, judge: str) -> tuple[str, str]:
        """(backend, model id) of "BACKEND/MODEL"; MODEL is a configured
        model's name, or any model id the backend serves."""
        backend, _, model = judge.partition("/")
        if backend not in self.kinds or not model:
            raise NerbenchError(f"judge {judge!r}: expected BACKEND/MODEL with a configured backend "
                                f"({', '.join(sorted(self.kinds))})")
        return backend, self.models.get(backend, {}).get(model, model)

    async def ask(self, judge: str, kit: str, version: str, prompt: Prompt) -> Generation | Failure:
        backend, model = self._judge(judge)
        await self.runner.describe(backend, model)
        caller = Caller(backend, self.kinds[backend], model, kit, version)
        return await self.runner.complete(caller, self.runner.request(model, prompt), self.stats)

    async def ask_all(self, kit: str, version: str,
                      questions: Sequence[tuple[str, Prompt]]) -> list[Generation | Failure]:
        """The answers to (judge, prompt) questions, in their order, each
        server asked one judge model after another (interleaved, a server that
        holds one model at a time would swap per question)."""
        answers: list[Generation | Failure] = [Failure("unasked", "")] * len(questions)
        # Sent in prefix order — each judge's questions sorted by their text — so that consecutive
        # questions share the longest prefix a server's prompt cache can reuse (sorting strings maximises
        # the common prefixes of neighbours); the answers come back in the questions' order.
        order = sorted(range(len(questions)), key=lambda i: (questions[i][0], prefix_key(questions[i][1])))
        keys = [(self.runner.backends[self._judge(questions[i][0])[0]].endpoint, questions[i][0]) for i in order]
        with tqdm(total=len(questions), unit="question", desc="nerbench judges",
                  disable=not self.runner.progress or not questions) as bar:

            async def answer(j: int) -> None:
                i = order[j]
                answers[i] = await self.ask(questions[i][0], kit, version, questions[i][1])
                bar.update(1)

            await one_model_at_a_time(keys, answer)
        return answers


def prefix_key(prompt: Prompt) -> tuple[str, ...]:
    """What a prompt sends, in order: role and content of each message."""
    return tuple(part for m in prompt.messages for part in (m.get("role", ""), m.get("content", "")))


async def judged(combiner: Combiner, index: CandidateIndex, dataset: Dataset, judges: Judges) -> None:
    """An LLM-judged combiner asks its questions about `index` (others ask none)."""
    if isinstance(combiner, JudgedCombiner):
        await combiner.judge(index, dataset, judges)


async def combine(combiner: Combiner, index: CandidateIndex, dataset: Dataset, judges: Judges, choice: Choice
                  ) -> tuple[dict[str, Any], dict[str, list[Span]]]:
    """`choice` (members and parameters) combined over `index`: the metrics
    against the index's gold and the combined spans per sentence id."""
    await judged(combiner, index, dataset, judges)
    return evaluate(combiner, index, choice)


@dataclass
class CombineOutput:
    """The combine stage's results: one entry per combiner × evaluated split
    (chosen on that dataset's dev sample), the transfer matrices (combiner →
    chosen-on dataset → evaluated-on dataset → F1 on its first evaluated
    split), the ensembles' predictions and what the judges were asked."""

    entries: list[dict[str, Any]]
    transfer: dict[str, dict[str, dict[str, float]]]
    predictions: list[Prediction]
    judging: dict[str, Any]


async def run_combiners(
    plan: Plan, outcomes: list[JobOutcome], registry: Registry, ensemble: EnsembleSettings, judges: RunJudges,
    rule: str = SPAN_SET,
) -> CombineOutput:
    """Choose each combiner's ensemble on every dataset's dev sample and
    evaluate it in-domain and on every other dataset; its best single system
    is scored under `rule`, as the systems are."""
    dev_split = ensemble.dev_split
    searches = ensemble.searches
    preds: dict[tuple[str, str], dict[str, dict[str, tuple[Span, ...]]]] = defaultdict(dict)
    for outcome in outcomes:
        job = outcome.job
        preds[(job.dataset, job.split)][job.system] = {p.sentence_id: p.spans for p in outcome.predictions}
    specs = ensemble.combiners
    retype = any(registry.get("combiners", spec.name).retypes for spec in specs)
    labels_of = {key: [label.name for label in plan.datasets[key[0]].labels] if retype else () for key in preds}
    indexes = {key: build_index(plan.sentences[key], systems, labels_of[key], key=f"{key[0]}:{key[1]}")
               for key, systems in preds.items()}
    # On a raced split an ensemble is evaluated on the sentences all of its members answered.
    counts = {(o.job.dataset, o.job.split, o.job.system): o.race["sentences"] for o in outcomes if o.race}
    prefixes: dict[tuple[str, str, int], CandidateIndex] = {}

    def evaluated_on(key: tuple[str, str], members: Sequence[str]) -> CandidateIndex:
        sentences = common(plan.sentences[key], (counts.get((*key, m)) for m in members))
        n = len(sentences)
        if n == len(plan.sentences[key]):
            return indexes[key]
        if (*key, n) not in prefixes:
            prefixes[(*key, n)] = build_index(sentences, preds[key], labels_of[key], key=f"{key[0]}:{key[1]}")
        return prefixes[(*key, n)]

    datasets = sorted(plan.datasets)
    evaluated = {d: sorted(s for (ds, s) in indexes if ds == d and s != dev_split) for d in datasets}
    entries: list[dict[str, Any]] = []
    transfer: dict[str, dict[str, dict[str, float]]] = {}
    predictions: list[Prediction] = []
    for spec, search in itertools.product(specs, searches):
        name, options = spec.name, dict(spec.options)
        label = f"{spec.label}@{search}" if len(searches) > 1 else spec.label
        matrix: dict[str, dict[str, float]] = {}
        for source in datasets:
            combiner = make(registry, "combiners", name, options, Where("config", spec.field))
            dev = indexes[(source, dev_split)]
            await judged(combiner, dev, plan.datasets[source], judges)
            choice = choose(combiner, dev, dev.systems, search)
            system = ensemble_name(label, choice.systems)
            matrix[source] = {}
            for target in datasets:
                for split in evaluated[target]:
                    if source != target and split != evaluated[target][0]:
                        continue
                    test = evaluated_on((target, split), choice.systems)
                    metrics, combined = await combine(combiner, test, plan.datasets[target], judges, choice)
                    if split == evaluated[target][0]:
                        matrix[source][target] = metrics["f1"]
                    if source != target:
                        continue
                    entries.append({
                        "system": system, "dataset": target, "split": split, "chosen_on": f"{source}:{dev_split}",
                        "combiner": label, "options": options, "search": search, "systems": list(choice.systems),
                        "params": choice.params, "dev_f1": choice.dev_f1, "dev_sentences": len(dev.sentences),
                        "sentences": len(test.sentences), "metrics": metrics,
                        "per_sentence": per_sentence(test.sentences, combined), "best_single": best_single(test, rule),
                        **details(test.sentences, combined),
                        **({"race": {"sentences": len(test.sentences), "why": "the sentences all its members answered"}}
                           if test is not indexes[(target, split)] else {}),
                    })
                    predictions += [Prediction(system, target, split, sid, tuple(spans))
                                    for sid, spans in combined.items()]
        transfer[label] = matrix
    return CombineOutput(entries, transfer, predictions, judges.stats.to_json())
