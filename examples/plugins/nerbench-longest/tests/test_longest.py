from nerbench import api
from nerbench.api import build_index, materialise, resolve
from nerbench.api import lookup


def test_the_longer_overlapping_span_wins(nerbench_dataset):
    sentence = next(s for s in nerbench_dataset.sentences if any(len(x.text) > 1 for x in s.tokens[2:4]))
    a, b = sentence.tokens[2], sentence.tokens[3]
    short = api.Span(a.start, a.end, "PESSOA")
    long = api.Span(a.start, b.end, "PESSOA")
    systems = {"s1": {sentence.id: [short]}, "s2": {sentence.id: [short]}, "s3": {sentence.id: [long]}}
    index = build_index([sentence], systems)
    combiner = lookup("combiners", "longest")(min_votes=1)  # through the entry point
    subsets = index.subset_matrix([["s1", "s2", "s3"]])
    keep, priority = combiner.select(index, subsets, combiner.settings(3)[0])
    assert materialise(index, resolve(index, keep, priority)[:, 0]) == {sentence.id: [long]}
