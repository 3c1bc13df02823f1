import nerbench
from nerbench.registry import get_registry


def parse(fmt, text, split, finish="stop"):
    return fmt.parse([nerbench.Generation(text, finish)], split.sentences[0], split.labels)


def test_gold_tables_parse_back_to_gold(nerbench_dataset):
    fmt = get_registry().get("prompt_formats", "markdown-table")()  # through the entry point
    for sentence in nerbench_dataset.sentences:
        (answer,) = fmt.gold_answer(sentence, nerbench_dataset.labels, "pt")
        parsed = fmt.parse([nerbench.Generation(answer, "stop")], sentence, nerbench_dataset.labels)
        assert set(sentence.spans) <= set(parsed.spans), sentence.id
        assert parsed.status == nerbench.STATUS_OK


def test_prose_is_unparseable_and_bad_rows_are_counted(nerbench_dataset):
    fmt = get_registry().get("prompt_formats", "markdown-table")()
    assert parse(fmt, "Não encontrei nada.", nerbench_dataset).status == nerbench.STATUS_UNPARSEABLE
    parsed = parse(fmt, "| menção | tipo |\n|---|---|\n| x | y | z |\n| Ninguém | PESSOA |\n| a | NADA |",
                   nerbench_dataset)
    assert parsed.issues == {"malformed": 1, "ungrounded": 1, "unknown_label": 1}
