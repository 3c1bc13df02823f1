"""The numbers leaderboards/pt-raced/README.md states, from its results.json
alone (no model call):

    python leaderboards/pt-raced/analyse.py

- per raced split: the extraction requests each system was asked, against
  the limit × systems an unraced run asks, and the share saved;
- the wall time an unraced run would have taken, extrapolated from the run's
  own wall time by each system's mean request latency (an estimate: the
  dropped systems' later sentences were never asked);
- the ranking the race found, each system with its F1 and interval on its
  own sample, and the paired bootstrap p of each survivor against the
  winner on the sentences both answered;
- the same systems' order in pt-two-families (first 100 test sentences in
  file order, unraced), for comparison.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nerbench.api import f1_interval, paired_p_value

HERE = Path(__file__).parent


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def main() -> None:
    doc = load(HERE / "results.json")
    published = load(HERE.parent / "pt-two-families" / "results.json")
    limit = doc["config"]["content"]["run"]["limit"]
    asked_all = unraced_all = 0
    latency_raced = latency_unraced = 0.0
    for key in doc["race"]["splits"]:
        dataset, split = key.split(":")
        systems = [s for s in doc["systems"] if (s["dataset"], s["split"]) == (dataset, split)]
        asked = sum(s["counts"]["requests"] for s in systems)
        unraced = limit * len(systems)
        asked_all += asked
        unraced_all += unraced
        latency_raced += sum(s["counts"]["requests"] * s["counts"]["mean_latency_s"] for s in systems)
        latency_unraced += sum(limit * s["counts"]["mean_latency_s"] for s in systems)
        print(f"## {key}: {asked} of {unraced} extraction requests asked, {100 * (1 - asked / unraced):.1f}% saved")
        ranked = sorted(systems, key=lambda s: (-s["metrics"]["f1"], -s["sentences"], s["system"]))
        winner = ranked[0]
        for s in ranked:
            low, high = f1_interval(s["per_sentence"])
            race = s["race"]
            line = (f"  {s['system']:42} F1 {100 * s['metrics']['f1']:5.1f} ({100 * low:.1f}-{100 * high:.1f})"
                    f"  {s['sentences']:3} sentences, {race['status']} at round {race['round']}")
            if race["status"] == "dropped":
                line += f" (p {race['p']:.4f} <= level {race['level']:.4f})"
            elif s is not winner:
                n = min(s["sentences"], winner["sentences"])
                shared = [{k: v[:n] for k, v in x["per_sentence"].items()} for x in (winner, s)]
                line += f"; winner better on the {n} shared: p = {paired_p_value(*shared):.3f}"
            print(line)
        before = sorted((p for p in published["systems"]
                         if (p["dataset"], p["split"]) == (dataset, split)
                         and p["system"] in {s["system"] for s in systems}),
                        key=lambda p: (-p["metrics"]["f1"], p["system"]))
        print(f"  pt-two-families, first {before[0]['sentences']} in file order: "
              + ", ".join(f"{p['system'].split('/', 1)[1]} {100 * p['metrics']['f1']:.1f}" for p in before))
    wall = doc["wall_s"]
    print(f"## both: {asked_all} of {unraced_all} asked, {100 * (1 - asked_all / unraced_all):.1f}% saved; "
          f"wall {wall:.0f} s raced, about {wall * latency_unraced / latency_raced:.0f} s unraced (extrapolated)")


if __name__ == "__main__":
    main()
