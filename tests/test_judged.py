"""The LLM-judged combiners' parts: the question kit, the disjoint readings
offered for disambiguation, few-shot examples, and the vote rule."""

from __future__ import annotations

import itertools

import pytest

from nerbench.api import Generation, Sentence, Span, Token, lookup
from nerbench_plugins.combiners.judged import _majority, _plurality, disjoint_readings
from nerbench_plugins.combiners.questions import Examples, Questions


def lener():
    dataset = lookup("datasets", "lener_br")
    return dataset, next(s for s in dataset.sentences("test") if s.spans)


def test_a_verification_question_names_the_mention_and_reads_yes_no():
    dataset, sentence = lener()
    kit = Questions(dataset.language, dataset.labels, where="lener_br:test")
    span = sentence.spans[0]
    prompt = kit.verify(sentence, span)
    assert sentence.text[span.start : span.end] in prompt.messages[-1]["content"]
    assert "sim" in prompt.messages[0]["content"] and len(prompt.messages) == 2
    assert prompt.key == f"verify lener_br:test:{sentence.id} {span.start}:{span.end}:{span.label}"
    answers = ['{"answer": "sim"}', '{"answer": "não"}', "Yes.", "?", "[" * 100_000]
    assert [kit.decision(Generation(t, "stop")) for t in answers] == [True, False, True, None, None]


def test_examples_are_fixed_per_type_alternate_yes_and_no_and_come_from_their_split():
    dataset, sentence = lener()
    examples = Examples(dataset.sentences("train"), per_type=2)
    kit = Questions(dataset.language, dataset.labels, examples)
    span = sentence.spans[0]
    prompt = kit.verify(sentence, span)
    turns = prompt.messages[1:-1]
    assert [t["role"] for t in turns] == ["user", "assistant"] * 4
    assert [t["content"] for t in turns[1::2]] == ['{"answer": "sim"}', '{"answer": "não"}'] * 2
    train = {s.text for s in dataset.sentences("train")}
    for demo, demo_span, right in examples.for_label(span.label):
        assert demo.text in train and demo_span.label == span.label
        assert right == any(g == demo_span for g in demo.spans)
    # The same type, the same examples (a shared prompt prefix), whatever the sentence.
    other = next(s for s in dataset.sentences("test") if s.spans and s.id != sentence.id
                 and any(g.label == span.label for g in s.spans))
    same = next(g for g in other.spans if g.label == span.label)
    assert kit.verify(other, same).messages[:-1] == prompt.messages[:-1]


def test_readings_are_every_disjoint_set_ranked_by_covered_characters():
    # "Montes Claros - MG": tokens Montes(0) Claros(1) -(2) MG(3)
    text = "Montes Claros - MG"
    members = [(0, 4, 18), (0, 2, 13), (3, 4, 2), (0, 4, 18)]  # the last: the same span, another type
    readings = disjoint_readings(members, k=10)

    def brute():
        found = []
        for n in range(1, len(members) + 1):
            for combo in itertools.combinations(range(len(members)), n):
                if all(members[a][1] <= members[b][0] or members[b][1] <= members[a][0]
                       for a, b in itertools.combinations(combo, 2)):
                    found.append(combo)
        return sorted(found, key=lambda r: (-sum(members[i][2] for i in r), len(r), r))

    assert readings == brute()
    assert readings[:4] == [(0,), (3,), (1, 2), (1,)]
    assert disjoint_readings(members, k=2) == [(0,), (3,)]
    assert len(text) == 18


def test_readings_match_brute_force_on_random_overlap_groups():
    import random

    rng = random.Random(7)
    for _ in range(200):
        n = rng.randint(1, 7)
        members = []
        for _ in range(n):
            a = rng.randint(0, 8)
            b = rng.randint(a + 1, 10)
            members.append((a, b, rng.randint(1, 30)))
        k = rng.randint(1, 6)
        every = [c for size in range(1, n + 1) for c in itertools.combinations(range(n), size)
                 if all(members[x][1] <= members[y][0] or members[y][1] <= members[x][0]
                        for x, y in itertools.combinations(c, 2))]
        every.sort(key=lambda r: (-sum(members[i][2] for i in r), len(r), r))
        assert disjoint_readings(members, k) == every[:k]


def test_a_choice_question_lists_each_reading_and_none():
    sentence = Sentence("s1", "Montes Claros - MG", (Token("Montes", 0, 6), Token("Claros", 7, 13),
                                                    Token("-", 14, 15), Token("MG", 16, 18)))
    dataset, _ = lener()
    kit = Questions("pt", dataset.labels, where="x:test")
    readings = [[Span(0, 18, "LOCAL")], [Span(0, 13, "LOCAL"), Span(16, 18, "LOCAL")]]
    prompt = kit.choose(sentence, readings)
    user = prompt.messages[-1]["content"]
    assert '1) "Montes Claros - MG" como LOCAL' in user
    assert '2) "Montes Claros" como LOCAL + "MG" como LOCAL' in user and "0) nenhuma" in user
    assert prompt.schema["properties"]["choice"]["maximum"] == 2
    assert [kit.choice(Generation(t, "stop"), 2) for t in ('{"choice": 2}', '{"choice": 3}', '{"choice": true}')] == [
        2, None, None]


def test_only_the_yes_no_question_is_told_to_answer_yes_or_no():
    """The choice and type questions ask for their own JSON; a system prompt
    demanding {"answer": "sim"|"não"} contradicted them. The yes/no question
    is worded as before, so its cached answers stay valid."""
    dataset, sentence = lener()
    for language, yes_no in (("pt", '{"answer": "sim"} ou {"answer": "não"}'),
                             ("en", '{"answer": "yes"} or {"answer": "no"}')):
        kit = Questions(language, dataset.labels, where="x:test")
        span = sentence.spans[0]
        verify = kit.verify(sentence, span).messages[0]["content"]
        assert verify.startswith(kit.system) and verify.endswith(yes_no + ".")
        for prompt, asked in ((kit.type_of(sentence, span), '"type"'), (kit.choose(sentence, [[span]]), '"choice"')):
            system, user = (m["content"] for m in prompt.messages)
            assert system == kit.system and '"answer"' not in system and asked in user


@pytest.mark.parametrize("answers,kept", [
    ([True, True, False], True),
    ([True, False, False], False),
    ([True, None, None], False),  # an unusable answer is no "yes"
    ([True, True], True),
    ([True, False], False),
])
def test_a_candidate_needs_a_strict_majority_of_yes_votes(answers, kept):
    # The published code counted every vote, yes or no, so its filter kept
    # everything: counting only yes votes must drop these.
    assert _majority(answers, len(answers)) is kept


def test_plurality_ties_and_failures_choose_none():
    assert _plurality([1, 1, 2]) == 1
    assert _plurality([1, 2]) == 0
    assert _plurality([None, None]) == 0
    assert _plurality([None, 2]) == 2


def test_the_batched_question_lists_every_candidate_of_a_sentence_and_reads_one_answer_each():
    dataset, sentence = lener()
    kit = Questions(dataset.language, dataset.labels, where="lener_br:test")
    spans = list(sentence.spans[:3])
    prompt = kit.verify_all(sentence, spans)
    user = prompt.messages[-1]["content"]
    assert user.count(sentence.text) == 1  # read once, not once per candidate
    for i, span in enumerate(spans, 1):
        assert f'{i}) "{sentence.text[span.start:span.end]}" como {span.label}' in user
    assert prompt.schema["properties"]["answers"]["minItems"] == len(spans) == \
        prompt.schema["properties"]["answers"]["maxItems"]
    n = len(spans)
    assert kit.decisions(Generation('{"answers": ["sim", "não", "sim"]}', "stop"), 3) == [True, False, True]
    assert kit.decisions(Generation('{"answers": ["sim"]}', "stop"), n) == [True] + [None] * (n - 1)
    assert kit.decisions(Generation("junk", "stop"), 2) == [None, None]


def test_the_batched_judge_asks_one_question_per_sentence_and_voter(tmp_path):
    import asyncio

    from nerbench.api import build_index
    from nerbench_plugins.combiners.judged import LlmJudgeCombiner

    dataset = lookup("datasets", "lener_br")
    sentences = [s for s in dataset.sentences("test") if len(s.spans) >= 2][:4]
    index = build_index(sentences, {"a": {s.id: s.spans for s in sentences}}, key="lener_br:test")
    asked = []

    class Judges:
        async def ask_all(self, kit, version, questions):
            asked.extend(questions)
            # Yes to the first listed candidate of each sentence, no to the others.
            return [Generation('{"answers": [' + ", ".join(
                ['"sim"'] + ['"não"'] * (q.schema["properties"]["answers"]["maxItems"] - 1)) + "]}", "stop")
                for _, q in questions]

    judge = LlmJudgeCombiner(judges=["b/m1", "b/m2"], batch=True)
    asyncio.run(judge.judge(index, dataset, Judges()))
    verify = [q for q in asked if q[1].key.startswith("verify-all")]
    assert len(verify) == 2 * len(sentences)  # one per sentence and voter, not one per candidate
    keep, yes = judge.decisions(index)
    firsts = {min(range(len(index.sent)), key=lambda k: (index.sent[k] != si, k)) for si in range(len(sentences))}
    assert {int(k) for k in keep.nonzero()[0]} == firsts and set(yes[list(firsts)]) == {2.0}
