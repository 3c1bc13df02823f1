from nerbench import api
from nerbench.api import lookup


def parse(fmt, text, split, finish="stop"):
    return fmt.parse([api.Generation(text, finish)], split.sentences[0], split.labels)


def test_gold_tables_parse_back_to_gold(nerbench_dataset):
    fmt = lookup("prompt_formats", "markdown-table")()  # through the entry point
    for sentence in nerbench_dataset.sentences:
        (answer,) = fmt.gold_answer(sentence, nerbench_dataset.labels, "pt")
        parsed = fmt.parse([api.Generation(answer, "stop")], sentence, nerbench_dataset.labels)
        assert set(sentence.spans) <= set(parsed.spans), sentence.id
        assert parsed.status == api.STATUS_OK


def test_prose_is_unparseable_and_bad_rows_are_counted(nerbench_dataset):
    fmt = lookup("prompt_formats", "markdown-table")()
    assert parse(fmt, "Não encontrei nada.", nerbench_dataset).status == api.STATUS_UNPARSEABLE
    parsed = parse(fmt, "| menção | tipo |\n|---|---|\n| x | y | z |\n| Ninguém | PESSOA |\n| a | NADA |",
                   nerbench_dataset)
    assert parsed.issues == {"malformed": 1, "ungrounded": 1, "unknown_label": 1}
