"""LLM judges at a fraction of the tokens, measured in one run on a real
llama.cpp server.

    python benchmarks/judges.py [--sentences 20] [--json out.json] [--repeatable] [--smoke]

The candidates are every distinct span the 8 systems of
leaderboards/pt-two-families predicted on the first `--sentences` LeNER-Br
test sentences (their published predictions: no extraction is asked). Gemma
3 270M (the judge of `llm-judge-gemma` there) answers the yes/no
verification question of each candidate, with one yes and one no example of
its type, as that leaderboard asked it, three ways, each on a fresh server
(an empty prompt cache) with 2 slots, 2 requests in flight:

1. `index order` — the questions in the candidate index's order (by
   sentence, then position, then type: how judging asked them before);
2. `prefix order` — the same questions sorted by their text, as nerbench's
   judges now send them, so that neighbours share the longest prefix
   llama.cpp's prompt cache (`cache_prompt`, slot reuse) keeps;
3. `batched` — the `batch = true` option: one question per sentence that
   lists its candidates, one yes/no each (no few-shot examples);

and, as the reference the answers are held to, `recomputed`: the
per-candidate questions one at a time with `cache_prompt` off, so that no
reused cache state or neighbour in the batch can move a logit (llama.cpp's
server README warns that `cache_prompt` "can cause nondeterministic
results": a reused prefix and a recomputed one are different arithmetic).

For each: prompt tokens the server evaluated (llama.cpp's `timings.prompt_n`,
what its cache did not hold) per candidate, tokens it reused (`cache_n`),
wall time and candidates judged per second; whether the per-candidate
answers of 1 and 2 are the same; and the share of candidates each judge
answered right against the gold (is the candidate a gold entity).

`--repeatable` runs only the recomputed phase, twice, each on a fresh
server: in index order and in prefix order. Identical reply texts mean that
with `cache_prompt` off the order a judge is asked in (and the run) no
longer moves an answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]


def candidates(n_sentences: int) -> tuple[Any, Any, list[tuple[Any, Any]], list[bool]]:
    from nerbench.files.predictions import group_by_system
    from nerbench.index.candidates import build_index
    from nerbench.plugin_system.manager import get_registry

    dataset = get_registry().get("datasets", "lener_br")
    sentences = list(dataset.sentences("test"))
    systems = group_by_system([REPO / "leaderboards" / "pt-two-families" / "predictions.jsonl"], "lener_br", "test",
                              {s.id: s for s in sentences}, {label.name for label in dataset.labels})
    index = build_index(sentences[:n_sentences], systems, key="lener_br:test")
    spots = []
    for k in range(len(index.sent)):
        si, span = index.span(k)
        spots.append((index.sentences[si], span))
    return dataset, index, spots, [bool(g) for g in index.gold]


def payload(model: str, prompt: Any, cache_prompt: bool = True, max_tokens: int = 192) -> dict[str, Any]:
    # What nerbench's llama.cpp kind sends for a judge's question (max_tokens as pt-two-families ran).
    return {"model": model, "messages": list(prompt.messages), "temperature": 0.0, "seed": 0,
            "cache_prompt": cache_prompt,
            "max_tokens": max(max_tokens, prompt.min_tokens),
            "response_format": {"type": "json_schema",
                                "json_schema": {"name": "entities", "strict": True, "schema": prompt.schema}}}


async def ask(url: str, bodies: list[dict[str, Any]], in_flight: int) -> tuple[list[dict[str, Any]], float]:
    """POST every body in order, `in_flight` at a time; the replies in order and the wall time."""
    replies: list[dict[str, Any]] = [{} for _ in bodies]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(bodies)):
        queue.put_nowait(i)
    async with httpx.AsyncClient(base_url=url, timeout=600) as client:
        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                resp = await client.post("/v1/chat/completions", json=bodies[i])
                resp.raise_for_status()
                replies[i] = resp.json()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        return replies, time.perf_counter() - started


def phase(name: str, model: str, bodies: list[dict[str, Any]], n_candidates: int, slots: int,
          in_flight: int | None = None) -> tuple[dict[str, Any], list]:
    from nerbench import llama

    path = llama.smollm2_path() if model == "smollm2" else llama.gemma3_path()
    server = llama.start(path, model, slots=slots, ctx_per_slot=2048, threads=2)
    try:
        replies, wall = asyncio.run(ask(server.url, bodies, in_flight or slots))
    finally:
        del server
    evaluated = sum(r.get("timings", {}).get("prompt_n", 0) for r in replies)
    reused = sum(r.get("timings", {}).get("cache_n", 0) for r in replies)
    return {"phase": name, "questions": len(bodies), "candidates": n_candidates,
            "prompt_tokens_evaluated": evaluated, "prompt_tokens_reused": reused,
            "evaluated_per_candidate": round(evaluated / n_candidates, 1),
            "wall_s": round(wall, 1), "candidates_per_s": round(n_candidates / wall, 3)}, replies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=20)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--repeatable", action="store_true", help="only the recomputed phase, in both orders")
    parser.add_argument("--smoke", action="store_true",
                        help="1 candidate, SmolLM2-135M as the judge, 12 tokens an answer; checks the output")
    args = parser.parse_args()
    if args.smoke:
        args.sentences = 1
    os.environ.setdefault("NERBENCH_DATA_DIR", str(REPO.parent / "shared" / "datasets"))  # the train split's examples

    from nerbench.api import Generation
    from nerbench.combine.stage import prefix_key
    from nerbench_plugins.combiners.questions import Examples, Questions

    dataset, index, spots, gold = candidates(args.sentences)
    model = "gemma3-270m"
    max_tokens = 192
    if args.smoke:  # the same phases in seconds: a smaller model, fewer questions, shorter answers
        model, spots, gold, max_tokens = "smollm2", spots[:1], gold[:1], 12

    def body(prompt: Any, cache_prompt: bool = True) -> dict[str, Any]:
        return payload(model, prompt, cache_prompt, max_tokens)
    kit = Questions(dataset.language, dataset.labels, Examples(dataset.sentences("train"), 1), index.key)
    questions = [kit.verify(sentence, span) for sentence, span in spots]
    n = len(spots)

    order = sorted(range(n), key=lambda i: prefix_key(questions[i]))

    def said(reply: dict[str, Any]) -> str:
        return reply["choices"][0]["message"]["content"]

    reference, reference_replies = phase("recomputed (no prompt cache, 1 in flight)", model,
                                         [body(q, cache_prompt=False) for q in questions], n, args.slots, 1)
    if args.repeatable:
        again, again_sorted = phase("recomputed, prefix order", model, [body(questions[i], cache_prompt=False)
                                                                 for i in order], n, args.slots, 1)
        texts = [said(r) for r in reference_replies]
        again_texts: list[str] = [""] * n
        for j, i in enumerate(order):
            again_texts[i] = said(again_sorted[j])
        print(json.dumps({"phases": [reference, again], "candidates": n,
                          "identical_replies": sum(a == b for a, b in zip(texts, again_texts))}, indent=2))
        return
    before, before_replies = phase("index order", model, [body(q) for q in questions], n, args.slots)
    after, sorted_replies = phase("prefix order", model, [body(questions[i]) for i in order], n, args.slots)
    after_replies: list[Any] = [None] * n
    for j, i in enumerate(order):
        after_replies[i] = sorted_replies[j]

    by_sentence: dict[str, list[int]] = {}
    for i, (sentence, _) in enumerate(spots):
        by_sentence.setdefault(sentence.id, []).append(i)
    batches = list(by_sentence.values())
    batch_prompts = [kit.verify_all(spots[members[0]][0], [spots[i][1] for i in members]) for members in batches]
    batched, batch_replies = phase("batched", model, [body(p) for p in batch_prompts], n, args.slots)

    recomputed = [kit.decision(Generation(said(r), "stop")) for r in reference_replies]
    per_candidate = [kit.decision(Generation(said(r), "stop")) for r in before_replies]
    reordered = [kit.decision(Generation(said(r), "stop")) for r in after_replies]
    batch_decisions: list[bool | None] = [None] * n
    for members, reply in zip(batches, batch_replies):
        for i, d in zip(members, kit.decisions(Generation(said(reply), "stop"), len(members))):
            batch_decisions[i] = d

    def accuracy(decisions: list[bool | None]) -> float:
        return round(sum(d is g for d, g in zip(decisions, gold)) / n, 3)

    report = {
        "sentences": args.sentences, "candidates": n, "gold_candidates": sum(gold), "slots": args.slots,
        "phases": [reference, before, after, batched],
        "same_answers_index_vs_prefix_order": sum(a == b for a, b in zip(per_candidate, reordered)),
        "same_answers_as_recomputed": {"index order": sum(a == b for a, b in zip(per_candidate, recomputed)),
                                       "prefix order": sum(a == b for a, b in zip(reordered, recomputed))},
        "accuracy": {"recomputed": accuracy(recomputed), "index order": accuracy(per_candidate),
                     "prefix order": accuracy(reordered), "batched": accuracy(batch_decisions)},
        "yes": {"per_candidate": sum(d is True for d in per_candidate),
                "batched": sum(d is True for d in batch_decisions)},
        "batched_agrees_with_per_candidate": sum(a == b for a, b in zip(per_candidate, batch_decisions)),
    }
    print("| phase | questions | prompt tokens evaluated / candidate | reused | wall s | candidates/s |")
    print("|---|---|---|---|---|---|")
    for p in report["phases"]:
        print(f"| {p['phase']} | {p['questions']} | {p['evaluated_per_candidate']} | {p['prompt_tokens_reused']} | "
              f"{p['wall_s']} | {p['candidates_per_s']} |")
    print(json.dumps({k: v for k, v in report.items() if k != "phases"}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.smoke:
        check_smoke(report)


def check_smoke(report: dict[str, Any]) -> None:
    from smoke import check, positive

    n = report["candidates"]
    check(n > 0 and len(report["phases"]) == 4, f"{n} candidates, {len(report['phases'])} phases")
    for p in report["phases"]:
        check(p["candidates"] == n and p["questions"] > 0 and positive(p["candidates_per_s"]), f"phase {p}")
        check(p["prompt_tokens_evaluated"] > 0, f"{p['phase']}: the server reported no prompt tokens")
    check(all(0 <= a <= 1 for a in report["accuracy"].values()), f"accuracy {report['accuracy']}")
    check(0 <= report["same_answers_index_vs_prefix_order"] <= n, "answers compared beyond the candidates")


if __name__ == "__main__":
    main()
