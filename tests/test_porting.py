"""A new language with no code: manifests, descriptions and template files
(docs/porting.md), on the Yorùbá and Tagalog examples."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from nerbench.api import Generation
from nerbench.config.load import load_config
from nerbench.pipeline import prepare
from nerbench.plugin_system.manager import get_registry

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("manifest", sorted((REPO / "datasets_registry" / "manifests").glob("*.json")),
                         ids=lambda p: p.stem)
def test_every_label_is_described_in_the_dataset_language_in_nfc(manifest):
    data = json.loads(manifest.read_text(encoding="utf-8"))
    for label in data["labels"]:
        language = data["language"]
        text = label["descriptions"].get(language) or label["descriptions"].get(language.split("-")[0])
        assert text, f"{label['name']} has no {language} description"
        assert unicodedata.is_normalized("NFC", text)


@pytest.mark.parametrize(("lang", "dataset_id", "instruction"), [
    ("yo", "masakhaner2_yor", "Dáhùn pẹ̀lú JSON nìkan"),
    ("tl", "uner_tl_trg", "Sumagot lamang ng JSON"),
])
def test_translated_templates_reach_the_model_and_nfc_answers_ground(lang, dataset_id, instruction):
    plan = prepare(load_config(REPO / "examples" / "languages" / f"{lang}.toml"), get_registry(), limit=400)
    assert {job.system for job in plan.jobs} == {"embedded/smollm2-135m/json", f"embedded/smollm2-135m/json-{lang}"}
    dataset = plan.datasets[dataset_id]
    sentences = plan.sentences[(dataset_id, "test")]
    (job,) = [j for j in plan.jobs if j.format_label == f"json-{lang}"]
    fmt = plan.formats[job.format_label].instance
    grounded = 0
    for sentence in sentences:
        (prompt,) = plan.prompts(job, sentence)
        system, user = prompt.messages[0]["content"], prompt.messages[-1]["content"]
        assert instruction in system
        assert all(label.descriptions[lang] in system for label in dataset.labels)
        assert sentence.text in user
        # What a model writes is NFC; the corpus (Yorùbá) is often not.
        answer = json.dumps({"entities": [
            {"text": unicodedata.normalize("NFC", sentence.text[s.start:s.end]), "label": s.label}
            for s in sentence.spans]}, ensure_ascii=False)
        parsed = fmt.parse([Generation(answer, "stop")], sentence, dataset.labels)
        assert set(sentence.spans) <= set(parsed.spans), sentence.id
        grounded += sum(sentence.text[s.start:s.end] != unicodedata.normalize("NFC", sentence.text[s.start:s.end])
                        for s in sentence.spans)
    if lang == "yo":
        assert grounded > 50  # many gold mentions are non-NFC in the corpus, and still ground
