"""Exhaustive search over all 1,023 subsets of 10 systems on LeNER-Br:
nerbench's vectorised exact scoring vs a loop that combines each subset
sentence by sentence and calls seqeval — both measured in this one run.

    python benchmarks/ensemble_search.py [--data-dir ../shared/datasets] [--systems 10] [--smoke]

Systems: documented, seeded perturbations of gold (api.perturb: each
system drops 15–60% of the entities, relabels 10%, shifts 10% by a token,
adds a spurious entity to 20% of sentences). The combiner is `majority`
(strictly more than half). Search on the dev split, report on test.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np


def reference_majority(spans_by_system):
    votes = Counter(s for spans in spans_by_system for s in set(spans))
    need = len(spans_by_system) // 2 + 1
    kept = []
    for span in sorted(votes, key=lambda s: (-votes[s], -(s.end - s.start), s.start, s.label)):
        if votes[span] >= need and not any(span.start < o.end and o.start < span.end for o in kept):
            kept.append(span)
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets"))
    parser.add_argument("--systems", type=int, default=10)
    parser.add_argument("--subsets", type=int, default=None,
                        help="time only the first N subsets (a quick look; the report needs all)")
    parser.add_argument("--smoke", action="store_true", help="4 systems (15 subsets); checks the output")
    args = parser.parse_args()
    if args.smoke:
        args.systems = 4
    os.environ.setdefault("NERBENCH_DATA_DIR", args.data_dir)

    from seqeval.metrics import f1_score
    from seqeval.scheme import IOB2

    from nerbench.parse.alignment import TokenIndex, spans_to_tags
    from nerbench.index.candidates import build_index
    from nerbench.testing import perturbed_systems
    from nerbench.plugin_system.manager import get_registry
    from nerbench.score.strict import score
    from nerbench.index.search import best_settings, choose, evaluate

    registry = get_registry()
    dataset = registry.get("datasets", "lener_br")
    labels = [label.name for label in dataset.labels]
    dev = list(dataset.sentences("dev"))
    test = list(dataset.sentences("test"))
    dev_systems = perturbed_systems(dev, labels, args.systems, seed=11)
    test_systems = perturbed_systems(test, labels, args.systems, seed=12)
    names = sorted(dev_systems)
    subsets = [c for r in range(1, len(names) + 1) for c in itertools.combinations(names, r)]
    subsets = subsets[: args.subsets]
    combiner = registry.get("combiners", "majority")()

    t0 = time.perf_counter()
    dev_index = build_index(dev, dev_systems)
    matrix = dev_index.subset_matrix(subsets)
    fast_f1, _ = best_settings(combiner, dev_index, matrix)
    fast_s = time.perf_counter() - t0

    # The baseline is the obvious loop done sensibly: gold tags and token
    # indexes built once, then per subset one combination and one seqeval call.
    t0 = time.perf_counter()
    token_indexes = [TokenIndex(s.tokens) for s in dev]
    gold_tags = [spans_to_tags(s.spans, index) for s, index in zip(dev, token_indexes)]
    slow_f1 = []
    for subset in subsets:
        pred_tags = [
            spans_to_tags(reference_majority([dev_systems[name].get(s.id, []) for name in subset]), index)
            for s, index in zip(dev, token_indexes)
        ]
        slow_f1.append(f1_score(gold_tags, pred_tags, mode="strict", scheme=IOB2, zero_division=0))
    slow_s = time.perf_counter() - t0

    diff = float(np.max(np.abs(np.array(slow_f1) - fast_f1)))
    choice = choose(combiner, dev_index, names, "exhaustive")
    test_metrics, _ = evaluate(combiner, build_index(test, test_systems), choice)
    best_single = max(names, key=lambda n: score(test, test_systems[n])["f1"])
    report = {
        "subsets": len(subsets),
        "dev_sentences": len(dev),
        "nerbench_s": round(fast_s, 3),
        "seqeval_loop_s": round(slow_s, 3),
        "speedup": round(slow_s / fast_s, 1),
        "max_abs_f1_difference": diff,
        "chosen": list(choice.systems),
        "dev_f1": choice.dev_f1,
        "test_f1": test_metrics["f1"],
        "best_single_test": {"system": best_single, "f1": score(test, test_systems[best_single])["f1"]},
        "cpus": os.cpu_count(),
    }
    print(json.dumps(report, indent=2))
    if args.smoke:
        from smoke import check, positive

        check(report["subsets"] == 2 ** args.systems - 1, f"{report['subsets']} subsets")
        check(report["max_abs_f1_difference"] < 1e-9, f"F1 differs from seqeval's by {report['max_abs_f1_difference']}")
        check(positive(report["speedup"]) and report["chosen"] != [], f"speedup {report['speedup']}")


if __name__ == "__main__":
    main()
