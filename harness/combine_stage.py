"""The combine stage of `nerbench run`: ensembles chosen on each dataset's dev
sample, evaluated in-domain and on every other dataset (the transfer matrix)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .ensemble import CandidateIndex, build_index
from .ensembling import make_combiner
from .errors import NerbenchError
from .plan import Plan
from .registry import Registry
from .runner import Caller, JobOutcome, Runner, SystemStats, one_model_at_a_time
from .scoring import per_sentence
from .search import best_single, choose, ensemble_name, evaluate
from .types import Generation, Prediction, Prompt


class Judges:
    """How LLM-judged combiners ask models: `await judges.ask("backend/model",
    format_name, format_version, prompt)` for one question, or
    `await judges.ask_all(format_name, format_version, [(judge, prompt), ...])`
    for many — through the run's cache, concurrency limits and retries;
    failures come back as the error message."""

    def __init__(self, runner: Runner, kinds: dict[str, str], models: dict[str, dict[str, str]] | None = None) -> None:
        self.runner = runner
        self.kinds = kinds
        #: backend → model name → model id, for judges named like systems
        self.models = models or {}
        self.stats = SystemStats()

    def _judge(self, judge: str) -> tuple[str, str]:
        """(backend, model id) of "BACKEND/MODEL"; MODEL is a configured
        model's name, or any model id the backend serves."""
        backend, _, model = judge.partition("/")
        if backend not in self.kinds or not model:
            raise NerbenchError(f"judge {judge!r}: expected BACKEND/MODEL with a configured backend "
                                f"({', '.join(sorted(self.kinds))})")
        return backend, self.models.get(backend, {}).get(model, model)

    async def ask(self, judge: str, format_name: str, format_version: str, prompt: Prompt) -> Generation | str:
        backend, model = self._judge(judge)
        await self.runner.describe(backend, model)
        caller = Caller(backend, self.kinds[backend], model, format_name, format_version)
        return await self.runner.complete(caller, self.runner.request(model, prompt), self.stats)

    async def ask_all(self, format_name: str, format_version: str,
                      questions: list[tuple[str, Prompt]]) -> list[Generation | str]:
        """The answers to (judge, prompt) questions, in their order, each
        server asked one judge model after another (interleaved, a server that
        holds one model at a time would swap per question)."""
        answers: list[Generation | str] = [""] * len(questions)

        async def answer(i: int) -> None:
            answers[i] = await self.ask(questions[i][0], format_name, format_version, questions[i][1])

        keys = [(self.runner.backends[self._judge(judge)[0]].endpoint, judge) for judge, _ in questions]
        await one_model_at_a_time(keys, answer)
        return answers


def combiner_specs(ensemble: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    specs = []
    for entry in ensemble.get("combiners", ["majority"]):
        if isinstance(entry, str):
            specs.append((entry, {}))
        else:
            specs.append((entry["name"], {k: v for k, v in entry.items() if k != "name"}))
    return specs


async def run_combiners(
    plan: Plan, outcomes: list[JobOutcome], registry: Registry, ensemble: dict[str, Any], judges: Judges
) -> tuple[list[dict[str, Any]], dict[str, Any], list[Prediction]]:
    """Ensemble entries (one per combiner × evaluated split, chosen on that
    dataset's dev sample), transfer matrices (combiner → chosen-on dataset →
    evaluated-on dataset → F1 on its first evaluated split), and predictions."""
    dev_split = ensemble.get("dev_split", "dev")
    search = ensemble.get("search", "greedy")
    preds: dict[tuple[str, str], dict[str, dict]] = defaultdict(dict)
    for outcome in outcomes:
        job = outcome.job
        preds[(job.dataset, job.split)][job.system] = {p.sentence_id: p.spans for p in outcome.predictions}
    specs = combiner_specs(ensemble)
    # Combiners that retype spans need a candidate for every label of every span.
    retype = any(getattr(registry.get("combiners", name), "needs_all_labels", False) for name, _ in specs)
    indexes = {
        key: build_index(plan.sentences[key], systems,
                         [label.name for label in plan.datasets[key[0]].labels] if retype else ())
        for key, systems in preds.items()
    }
    dataset_of = {id(index): plan.datasets[key[0]] for key, index in indexes.items()}

    async def ready(combiner, index: CandidateIndex) -> None:
        # LLM-judged combiners ask their judges about the candidates first.
        if hasattr(combiner, "judge"):
            await combiner.judge(index, dataset_of[id(index)], judges)

    datasets = sorted(plan.datasets)
    evaluated = {d: sorted(s for (ds, s) in indexes if ds == d and s != dev_split) for d in datasets}
    entries: list[dict[str, Any]] = []
    transfer: dict[str, Any] = {}
    predictions: list[Prediction] = []
    for name, options in specs:
        matrix: dict[str, dict[str, float]] = {}
        for source in datasets:
            combiner = make_combiner(registry, name, options)
            dev = indexes[(source, dev_split)]
            await ready(combiner, dev)
            choice = choose(combiner, dev, dev.systems, search)
            system = ensemble_name(name, choice.systems)
            matrix[source] = {}
            for target in datasets:
                for split in evaluated[target]:
                    if source != target and split != evaluated[target][0]:
                        continue
                    test = indexes[(target, split)]
                    await ready(combiner, test)
                    metrics, combined = evaluate(combiner, test, choice)
                    if split == evaluated[target][0]:
                        matrix[source][target] = metrics["f1"]
                    if source != target:
                        continue
                    entries.append({
                        "system": system, "dataset": target, "split": split, "chosen_on": f"{source}:{dev_split}",
                        "combiner": name, "options": options, "search": search, "systems": list(choice.systems),
                        "params": choice.params, "dev_f1": choice.dev_f1, "dev_sentences": len(dev.sentences),
                        "sentences": len(test.sentences), "metrics": metrics,
                        "per_sentence": per_sentence(test.sentences, combined), "best_single": best_single(test),
                    })
                    predictions += [Prediction(system, target, split, sid, tuple(spans))
                                    for sid, spans in combined.items()]
        transfer[name] = matrix
    return entries, transfer, predictions
