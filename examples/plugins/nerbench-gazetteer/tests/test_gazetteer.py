CONFIG = """
[run]
limit = 40

[[backend]]
name = "lookup"
kind = "gazetteer"
train = "lener_br:test"
models = ["test-entities"]

[[dataset]]
id = "lener_br"
splits = ["test"]

[[format]]
name = "json"
"""


def test_looking_up_the_evaluated_split_finds_most_of_its_entities(nerbench_run):
    # A gazetteer built from the very split it is scored on must score high:
    # what it misses are ambiguous or overlapping mentions.
    (system,) = nerbench_run(CONFIG).results["systems"]
    assert system["sentences"] == 40
    assert system["metrics"]["recall"] > 0.6
