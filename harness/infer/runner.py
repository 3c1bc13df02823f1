"""Inference: every job's sentences → requests → backends (through the cache)
→ parsed predictions. Async, bounded concurrency per endpoint."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from tqdm import tqdm

from nerbench.bases import Backend, Dataset, PromptFormat
from nerbench.config.settings import RunConfig
from nerbench.errors import BackendError, NerbenchError
from nerbench.infer.breaker import CIRCUIT_OPEN, PROBE, REFUSE, Breaker
from nerbench.infer.cache import PredictionCache, cache_key
from nerbench.infer.concurrency import InFlightCap, make_cap
from nerbench.infer.pool import BackendPool
from nerbench.infer.race import race_split
from nerbench.infer.retry import with_retries
from nerbench.plan.matrix import Job, Plan
from nerbench.redaction import notice, redact
from nerbench.records import (STATUS_ERROR, STATUS_UNPARSEABLE, Failure, Generation, Label, ParseResult, Prediction,
                            Prompt, Request, Sentence)

#: An answer longer than this many characters per token of its request's
#: `max_tokens` is no model's answer (a broken or hostile server): it is
#: counted unparseable ("oversized") instead of being parsed.
MAX_CHARS_PER_TOKEN = 16


@dataclass
class SystemStats:
    """What happened while one job ran: the counts every results file carries."""

    statuses: Counter[str] = field(default_factory=Counter)
    issues: Counter[str] = field(default_factory=Counter)
    #: requests that got no answer, by cause
    errors: Counter[str] = field(default_factory=Counter)
    #: every call to a backend by its outcome: "ok" or the failure's cause
    attempts: Counter[str] = field(default_factory=Counter)
    #: failed calls that were tried again, by cause
    retries: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    cache_hits: int = 0
    backend_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    timed: int = 0

    def add_generation(self, gen: Generation, cached: bool) -> None:
        self.requests += 1
        if cached:
            self.cache_hits += 1
        else:
            self.backend_calls += 1
        self.prompt_tokens += gen.prompt_tokens or 0
        self.completion_tokens += gen.completion_tokens or 0
        if gen.latency_s is not None:
            self.latency_s += gen.latency_s
            self.timed += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "statuses": dict(sorted(self.statuses.items())),
            "issues": dict(sorted(self.issues.items())),
            "errors": dict(sorted(self.errors.items())),
            "attempts": dict(sorted(self.attempts.items())),
            "retries": dict(sorted(self.retries.items())),
            "requests": self.requests,
            "cache_hits": self.cache_hits,
            "backend_calls": self.backend_calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "mean_latency_s": round(self.latency_s / self.timed, 4) if self.timed else None,
            "tokens_per_s": round(self.completion_tokens / self.latency_s, 2) if self.latency_s else None,
        }


async def gather_all(*awaitables: Awaitable[Any]) -> list[Any]:
    """`asyncio.gather`, except that the first failure cancels the others
    (and waits for them) before it is raised: a run that must stop (a full
    disk) stops at once, with no request left running behind it."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def one_model_at_a_time(keys: list[tuple[str, str]], run: Callable[[int], Awaitable[Any]]) -> None:
    """`run(i)` for every (endpoint, model) in `keys`: endpoints in parallel,
    and on each endpoint one model after another — a server that holds one
    model at a time (Ollama) must not swap back and forth, even when several
    `[[backend]]` entries point at it."""
    lanes: dict[str, dict[str, list[int]]] = {}
    for i, (endpoint, model) in enumerate(keys):
        lanes.setdefault(endpoint, {}).setdefault(model, []).append(i)

    async def lane(models: dict[str, list[int]]) -> None:
        for indexes in models.values():
            await gather_all(*(run(i) for i in indexes))

    await gather_all(*(lane(models) for models in lanes.values()))


def fits(info: dict[str, Any], job: Job, dataset: Dataset) -> None:
    """A model that says which labels and language it was trained for (a
    trained student) must have been trained for `dataset`'s: refused before
    any request, never scored against labels it cannot give."""
    if "labels" in info and sorted(info["labels"]) != sorted(label.name for label in dataset.labels):
        raise NerbenchError(f"{job.system}: trained for the labels {', '.join(sorted(info['labels']))}; "
                            f"{dataset.id} has {', '.join(sorted(label.name for label in dataset.labels))}")
    if "language" in info and str(info["language"]).split("-")[0] != dataset.language.split("-")[0]:
        raise NerbenchError(f"{job.system}: trained for language {info['language']!r}; {dataset.id} is "
                            f"{dataset.language!r}")


@dataclass
class JobOutcome:
    job: Job
    predictions: list[Prediction]
    stats: SystemStats
    #: on a raced split: the round it stopped at, on how many sentences, and why
    race: dict[str, Any] | None = None


@dataclass(frozen=True)
class Caller:
    """Who is asked, in which prompt format: the cache identity less the request."""

    backend: str
    kind: str
    model: str  # the model id the backend is asked for
    format: str
    format_version: str
    format_options: dict[str, Any] = field(default_factory=dict, hash=False)


class Runner:
    """Sends requests through the cache to the backends. Use it as an async
    context manager: entering starts every backend and describes every model
    the plan asks (their digests are part of the cache keys); leaving closes
    the backends."""

    def __init__(
        self,
        plan: Plan,
        backends: dict[str, Backend],
        config: RunConfig,
        cache: PredictionCache,
        progress: bool = True,
        desc: str = "nerbench run",
    ) -> None:
        self.plan = plan
        self.desc = desc
        self.backends = backends
        self.generation = config.generation
        self.entries = {entry.name: entry for entry in config.backends}
        self.rule = config.run.scoring
        self.cache = cache
        self.progress = progress
        self.describes: dict[tuple[str, str], dict[str, Any]] = {}
        self._caps: dict[str, InFlightCap] = {}
        self._breakers: dict[str, Breaker] = {}
        #: cache key → the answer of the identical request on its way
        self._in_flight: dict[str, asyncio.Future[Generation | Failure]] = {}
        self._parse_failures: set[tuple[str, str]] = set()
        self._started: list[Backend] = []

    async def __aenter__(self) -> Runner:
        try:
            for backend in self.backends.values():
                await backend.start()
                self._started.append(backend)
            for backend_name, model in dict.fromkeys((job.backend, job.model_id) for job in self.plan.jobs):
                await self.describe(backend_name, model)
            for job in self.plan.jobs:
                fits(self.describes[(job.backend, job.model_id)], job, self.plan.datasets[job.dataset])
        except BaseException:
            await self._close()
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._close()

    async def _close(self) -> None:
        for backend in self._started:
            await backend.aclose()
        self._started.clear()

    def _cap(self, backend: Backend) -> InFlightCap:
        if backend.endpoint not in self._caps:
            self._caps[backend.endpoint] = make_cap(backend)
        return self._caps[backend.endpoint]

    def _breaker(self, backend: Backend) -> Breaker:
        if backend.endpoint not in self._breakers:
            self._breakers[backend.endpoint] = Breaker(backend.endpoint, self.entries[backend.name].circuit_breaker)
        return self._breakers[backend.endpoint]

    def concurrency(self) -> dict[str, dict[str, Any]]:
        """Each endpoint's limit as the run left it (fixed, or what adapting
        found), with a pool's per replica."""
        report = {}
        for backend in self.backends.values():
            if backend.endpoint in self._caps:
                report[backend.endpoint] = self._caps[backend.endpoint].report()
                if isinstance(backend, BackendPool):
                    report[backend.endpoint]["replicas"] = backend.limits()
        return dict(sorted(report.items()))

    def _identity(self, caller: Caller, request: Request) -> dict[str, Any]:
        backend = self.backends[caller.backend]
        describe = self.describes[(caller.backend, caller.model)]
        identity = {
            "backend_kind": caller.kind,
            "endpoint": describe.get("endpoint_identity", backend.endpoint),
            "model": caller.model,
            "digest": describe.get("digest"),
            "request": request.to_json(),
            "prompt_format": caller.format,
            "prompt_format_version": caller.format_version,
            "prompt_format_options": caller.format_options,
        }
        answer_options = backend.answer_options()
        if answer_options:
            identity["backend_options"] = answer_options
        return identity

    def _caller(self, job: Job) -> Caller:
        spec = self.plan.formats[job.format_label]
        # The format's own name, not its alias, so renaming a system keeps its cache.
        return Caller(job.backend, job.kind, job.model_id, spec.name, spec.instance.version, spec.options)

    def request(self, model: str, prompt: Prompt, about: str = "") -> Request:
        return Request(
            model=model,
            messages=prompt.messages,
            schema=prompt.schema,
            temperature=float(self.generation.temperature),
            seed=self.generation.seed,
            max_tokens=max(int(self.generation.max_tokens), prompt.min_tokens),
            about=about,
            key=prompt.key,
        )

    async def complete(self, caller: Caller, request: Request, stats: SystemStats) -> Generation | Failure:
        """A generation (from the cache, or the backend and then cached), or
        the failure the backend answered with (counted in `stats`). Identical
        requests in flight at the same time are sent once and share the answer."""
        identity = self._identity(caller, request)
        key, canonical = cache_key(identity)
        cached = self.cache.get(key)
        if cached is not None:
            stats.add_generation(cached, cached=True)
            return cached
        shared = self._in_flight.get(key)
        if shared is not None:
            answer = await asyncio.shield(shared)
            if isinstance(answer, Generation):
                stats.add_generation(answer, cached=True)
                return answer
        else:
            future: asyncio.Future[Generation | Failure] = asyncio.get_running_loop().create_future()
            self._in_flight[key] = future
            try:
                answer = await self._send(self.backends[caller.backend], caller.model, request, stats)
                if isinstance(answer, Generation):
                    self.cache.put(key, canonical, answer)
                future.set_result(answer)
            finally:
                del self._in_flight[key]
                if not future.done():
                    future.cancel()
            if isinstance(answer, Generation):
                stats.add_generation(answer, cached=False)
                return answer
        stats.errors[answer.cause] += 1
        return answer

    async def _send(self, backend: Backend, model: str, request: Request, stats: SystemStats) -> Generation | Failure:
        """Ask `backend`, with retries, unless its endpoint's breaker is open;
        every call and retry is counted by outcome."""
        cap = self._cap(backend)
        async with cap:
            breaker = self._breaker(backend)
            admitted = await breaker.admit(model)
            if admitted == REFUSE:
                return Failure(CIRCUIT_OPEN, breaker.refusal())

            async def attempt() -> Generation:
                try:
                    generation = await cap.observe(backend.generate(request))
                except BackendError as exc:
                    stats.attempts[exc.cause] += 1
                    raise
                stats.attempts["ok"] += 1
                return generation

            def retrying(exc: BackendError) -> bool:
                # Once the endpoint has stopped answering, waiting to try it again helps nobody.
                if breaker.is_open:
                    return False
                stats.retries[exc.cause] += 1
                return True

            tries = 1 if admitted == PROBE else self.entries[backend.name].retries
            try:
                generation = await with_retries(attempt, attempts=tries, on_retry=retrying)
            except BackendError as exc:
                message = redact(str(exc))
                breaker.record(model, exc.cause, message)
                return Failure(exc.cause, message)
            finally:
                if admitted == PROBE:
                    breaker.probe_done()
            breaker.record(model, None)
            return generation

    def _parse(self, fmt: PromptFormat, name: str, generations: list[Generation], requests: list[Request],
               sentence: Sentence, labels: tuple[Label, ...]) -> ParseResult:
        """The format's reading of the answers; never raises. An answer no
        model could have given within `max_tokens` is not parsed, and a
        format that raises is counted, not fatal: its answers are cached, so
        raising would crash every rerun too."""
        oversized = sum(len(g.text) > MAX_CHARS_PER_TOKEN * r.max_tokens for g, r in zip(generations, requests))
        if oversized:
            return ParseResult([], STATUS_UNPARSEABLE, {"oversized": oversized})
        try:
            return fmt.parse(generations, sentence, labels)
        except Exception as exc:  # a plugin's bug must not take the run (and its reruns) down
            if (name, type(exc).__name__) not in self._parse_failures:
                self._parse_failures.add((name, type(exc).__name__))
                notice(f"prompt format {name!r} raised {type(exc).__name__} parsing an answer "
                       f"({exc}); such answers are counted unparseable (issue parse_failed)")
            return ParseResult([], STATUS_UNPARSEABLE, {"parse_failed": 1})

    async def _sentence(self, job: Job, sentence: Sentence, stats: SystemStats, bar: tqdm) -> Prediction:
        dataset = self.plan.datasets[job.dataset]
        fmt = self.plan.formats[job.format_label].instance
        caller = self._caller(job)
        about = f"{job.dataset}:{job.split}:{sentence.id}"
        requests = [self.request(job.model_id, prompt, about) for prompt in self.plan.prompts(job, sentence)]
        if len(requests) == 1:  # most formats: no task to gather the one answer
            answers = [await self.complete(caller, requests[0], stats)]
        else:
            answers = await gather_all(*(self.complete(caller, r, stats) for r in requests))
        bar.update(1)
        failures = [a for a in answers if isinstance(a, Failure)]
        if failures:
            stats.statuses[STATUS_ERROR] += 1
            return Prediction(job.system, job.dataset, job.split, sentence.id, (), STATUS_ERROR,
                              error=failures[0].message)
        generations = [a for a in answers if isinstance(a, Generation)]
        parsed = self._parse(fmt, job.format_label, generations, requests, sentence, dataset.labels)
        stats.statuses[parsed.status] += 1
        stats.issues.update(parsed.issues)
        return Prediction(
            job.system, job.dataset, job.split, sentence.id, tuple(sorted(parsed.spans)), parsed.status,
            dict(parsed.issues)
        )

    async def describe(self, backend_name: str, model: str) -> dict[str, Any]:
        if (backend_name, model) not in self.describes:
            backend = self.backends[backend_name]
            self.describes[(backend_name, model)] = dict(await with_retries(lambda: backend.describe(model)))
        return self.describes[(backend_name, model)]

    async def run_jobs(self) -> list[JobOutcome]:
        """Every job of the plan, each server asked one model after another;
        the raced splits (`[run] race`) in rounds, after the others."""
        outcomes = [JobOutcome(job, [], SystemStats()) for job in self.plan.jobs]
        # Counted in sentences: counting requests would render every prompt twice.
        total = sum(len(self.plan.sentences[(job.dataset, job.split)]) for job in self.plan.jobs)
        with tqdm(total=total, unit="sentence", desc=self.desc, disable=not self.progress) as bar:

            async def run(indexes: list[int], sentences: Sequence[Sentence] | None = None) -> None:
                async def job(j: int) -> None:
                    out = outcomes[indexes[j]]
                    asked = self.plan.sentences[(out.job.dataset, out.job.split)] if sentences is None else sentences
                    out.predictions.extend(await gather_all(*(self._sentence(out.job, s, out.stats, bar)
                                                              for s in asked)))

                await one_model_at_a_time([(self.backends[outcomes[i].job.backend].endpoint, outcomes[i].job.model_id)
                                           for i in indexes], job)

            raced = set(self.plan.raced)
            await run([i for i, o in enumerate(outcomes) if (o.job.dataset, o.job.split) not in raced])
            for key in self.plan.raced:
                if self.plan.race is None:
                    break
                indexes = [i for i, o in enumerate(outcomes) if (o.job.dataset, o.job.split) == key]
                stopped = await race_split(self.plan.sentences[key], indexes,
                                           {i: outcomes[i].job.system for i in indexes},
                                           lambda i: outcomes[i].predictions, self.plan.race, self.rule, run)
                for i, where in stopped.items():
                    outcomes[i].race = where
                    bar.total -= len(self.plan.sentences[key]) - where["sentences"]
                bar.refresh()
        return outcomes
