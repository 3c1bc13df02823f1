import nerbench
from nerbench.ensemble import build_index, materialise, resolve
from nerbench.registry import get_registry


def test_the_longer_overlapping_span_wins(nerbench_dataset):
    sentence = next(s for s in nerbench_dataset.sentences if any(len(x.text) > 1 for x in s.tokens[2:4]))
    a, b = sentence.tokens[2], sentence.tokens[3]
    short = nerbench.Span(a.start, a.end, "PESSOA")
    long = nerbench.Span(a.start, b.end, "PESSOA")
    systems = {"s1": {sentence.id: [short]}, "s2": {sentence.id: [short]}, "s3": {sentence.id: [long]}}
    index = build_index([sentence], systems)
    combiner = get_registry().get("combiners", "longest")(min_votes=1)  # through the entry point
    subsets = index.subset_matrix([["s1", "s2", "s3"]])
    keep, priority = combiner.select(index, subsets, combiner.settings(3)[0])
    assert materialise(index, resolve(index, keep, priority)[:, 0]) == {sentence.id: [long]}
