#!/usr/bin/env bash
# The teachers' silver of leaderboards/pt-distill: the union of pt-two-families'
# four 3-shot systems annotates a seeded sample of 1,000 LeNER-Br train
# sentences (labels withheld) in pieces of 250 into silver/union/, each piece a
# complete, committable output that the next one resumes from (no cache
# needed); then the majority of the same four and the best single system are
# computed from the union's answers, with no model call. Usage:
#   leaderboards/pt-distill/annotate.sh [LIMIT ...]     # default: 250 500 750 1000
# with NERBENCH_CACHE outside the repository (a piece cut short resumes from it).
set -euo pipefail
cd "$(dirname "$0")/../.."  # relative paths: annotation.json records them
here=leaderboards/pt-distill
source=leaderboards/pt-two-families/results.json
members=embedded/smollm2-135m/json-3shot+embedded/smollm2-135m/json-grouped-3shot
members=$members+embedded/gemma3-270m/json-3shot+embedded/gemma3-270m/json-grouped-3shot
best=embedded/gemma3-270m/json-grouped-3shot  # pt-two-families' best single system on LeNER-Br
common=(--config leaderboards/pt-two-families/config.toml --split lener_br:train --sample 1000 --seed 0 --no-progress)

limits=("$@")
[ ${#limits[@]} -gt 0 ] || limits=(250 500 750 1000)
for n in "${limits[@]}"; do
  nerbench annotate "$source" --teacher "union[$members]" "${common[@]}" --limit "$n" -o "$here/silver/union"
done
n=$(python -c "import json,sys; print(json.load(open(sys.argv[1]))['sentences'])" "$here/silver/union/annotation.json")
for teacher in "majority[$members]" "$best"; do
  name=$([ "$teacher" = "$best" ] && echo best || echo majority)
  nerbench annotate "$source" --teacher "$teacher" "${common[@]}" --limit "$n" --reuse "$here/silver/union" \
    -o "$here/silver/$name"
done
