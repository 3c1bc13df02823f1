from nerbench.api import lookup


def test_registered_through_its_entry_point_with_checked_data(nerbench_env):
    dataset = lookup("datasets", "pt-mini")
    sentences = list(dataset.sentences("test"))
    assert len(sentences) == 8
    assert sum(len(s.spans) for s in sentences) == 18
    assert {s.label for x in sentences for s in x.spans} == {label.name for label in dataset.labels}
    assert dataset.language == "pt"
