"""The explorer in a real headless browser (Debian's chromium, driven by
selenium through Debian's chromedriver): opened from file://, filtered as a
user would, the DOM read back, hostile text shown as text, and a screenshot
kept beside the test's other files."""

from __future__ import annotations

import json
import shutil

import pytest

from nerbench.api import Prediction, Sentence, Span, Token
from nerbench.files.results import write_document
from nerbench.report.results import analysis, scored
from nerbench.score.strict import SPAN_SET
from nerbench_plugins.reporters import explorer

pytestmark = pytest.mark.browser

#: The machine's network is closed: without these Chromium waits on connections.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1280,900"]
HOSTILE = '</script><script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'


def sentence(sid: str, words: list[str], gold: list[tuple[int, int, str]]) -> Sentence:
    """Gold given as (first token, last token + 1, label)."""
    tokens, pos = [], 0
    for word in words:
        tokens.append(Token(word, pos, pos + len(word)))
        pos += len(word) + 1
    return Sentence(sid, " ".join(words), tuple(tokens),
                    tuple(Span(tokens[a].start, tokens[b - 1].end, label) for a, b, label in gold))


def on(s: Sentence, first: int, last: int, label: str) -> Span:
    return Span(s.tokens[first].start, s.tokens[last - 1].end, label)


SENTENCES = [
    sentence("s0", ["Ana", "Silva", "mora", "em", "Lisboa", "."], [(0, 2, "PESSOA"), (4, 5, "LOCAL")]),
    sentence("s1", ["O", "STF", "decidiu", "ontem", "."], [(1, 2, "ORGANIZACAO"), (3, 4, "TEMPO")]),
    sentence("s2", HOSTILE.split(" ") + ["em", "Braga"], [(len(HOSTILE.split(" ")) + 1,
                                                            len(HOSTILE.split(" ")) + 2, "LOCAL")]),
    sentence("s3", ["Nada", "aqui", "."], []),
]
S0, S1, S2, S3 = SENTENCES
SYSTEM_A = "a/<b>bold</b>/json"
SYSTEM_B = "b/m/json"
PREDICTIONS = {
    # exact, exact | type only | spurious (on hostile text) | spurious
    SYSTEM_A: {"s0": [on(S0, 0, 2, "PESSOA"), on(S0, 4, 5, "LOCAL")], "s1": [on(S1, 1, 2, "LOCAL")],
               "s2": [on(S2, 0, 2, "PESSOA")], "s3": [on(S3, 0, 1, "TEMPO")]},
    # boundary only, missed | hedged: the right type and another, exact | missed
    SYSTEM_B: {"s0": [on(S0, 0, 1, "PESSOA")], "s1": [on(S1, 1, 2, "ORGANIZACAO"), on(S1, 1, 2, "LOCAL"),
                                                       on(S1, 3, 4, "TEMPO")]},
}


def results_doc() -> dict:
    def preds(system: str) -> list[Prediction]:
        return [Prediction(system, "toy", "test", s.id, tuple(PREDICTIONS[system].get(s.id, ())),
                           "truncated" if (system, s.id) == (SYSTEM_B, "s3") else "ok") for s in SENTENCES]

    systems = [{"system": name, "dataset": "toy", "split": "test", "sentences": len(SENTENCES),
                **scored(SENTENCES, preds(name), SPAN_SET)} for name in (SYSTEM_A, SYSTEM_B)]
    # an ensemble that keeps what both systems found in s1 and s0's exact PESSOA: it fixes s1's ORGANIZACAO for A
    union = {"s0": [on(S0, 0, 2, "PESSOA")], "s1": [on(S1, 1, 2, "ORGANIZACAO"), on(S1, 3, 4, "TEMPO")]}
    ensemble = {"system": f"vote[{SYSTEM_A}+{SYSTEM_B}]", "combiner": "vote", "systems": [SYSTEM_A, SYSTEM_B],
                "dataset": "toy", "split": "test", "sentences": len(SENTENCES), "params": {"k": 1},
                "best_single": {"system": SYSTEM_A, "metrics": systems[0]["metrics"]},
                **scored(SENTENCES, [Prediction("e", "toy", "test", s.id, tuple(union.get(s.id, ())))
                                     for s in SENTENCES], SPAN_SET)}
    ensemble.pop("sentence_status")
    return {"format_version": 2, "datasets": {"toy": {"language": "pt"}}, "scoring": {"rule": SPAN_SET},
            "config": {"content": {"run": {"name": "toy <run>"}}}, "systems": systems, "ensembles": [ensemble],
            **analysis({("toy", "test"): SENTENCES},
                       [("toy", "test", name, preds(name)) for name in (SYSTEM_A, SYSTEM_B)])}


@pytest.fixture
def browser(tmp_path):
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        pytest.fail("the browser test needs Debian's chromium: apt-get install -y chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def shown(driver) -> list[str]:
    return [card.get_attribute("data-id") for card in driver.find_elements("css selector", "section.sentence")]


def choose(driver, control: str, text: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", control)).select_by_visible_text(text)


def test_explorer_filters_and_escapes_in_a_real_browser(tmp_path, browser):
    doc = results_doc()
    write_document(tmp_path / "results.json", doc)  # the interchange file, as a run writes it
    doc = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    page = explorer.write([doc], tmp_path / "board")
    browser.get(page.as_uri() + "#split=toy-test")
    assert shown(browser) == ["s0", "s1", "s2", "s3"]
    assert "4 of 4 matching sentences" in browser.find_element("id", "count").text

    # Hostile sentence text and system names are text, nothing else.
    assert browser.execute_script("return window.pwned") is None
    assert browser.find_elements("css selector", "main img, main b") == []
    s2 = browser.find_element("css selector", 'section[data-id="s2"]')
    assert HOSTILE.split(" ")[0] in s2.text and SYSTEM_A in s2.text
    assert browser.title == "nerbench explorer" and "toy <run>" in browser.find_element("tag name", "h1").text

    # One system, then an error class: exactly the sentences where it made that error.
    choose(browser, "system", SYSTEM_A)
    choose(browser, "error", "spurious")
    assert shown(browser) == ["s2", "s3"]
    rows = browser.find_elements("css selector", 'section[data-id="s3"] .row')
    assert [r.find_element("css selector", ".who").text for r in rows] == ["gold", SYSTEM_A]
    assert rows[1].find_element("css selector", "mark.spurious").text.startswith("Nada")
    choose(browser, "error", "type only")
    assert shown(browser) == ["s1"]
    assert "type only: «STF» LOCAL (gold: «STF» ORGANIZACAO)" in browser.find_element(
        "css selector", 'section[data-id="s1"] ul.errors').text

    # The other system: its hedge is one exact and one type error, drawn as overlapping marks.
    choose(browser, "system", SYSTEM_B)
    choose(browser, "error", "type only")
    assert shown(browser) == ["s1"]
    marks = browser.find_elements("css selector", 'section[data-id="s1"] .row:nth-of-type(3) mark')
    assert any("stack" in m.get_attribute("class") for m in marks)
    third_row = 'section[data-id="s1"] .row:nth-of-type(3) .lab'
    assert {lab.text for lab in browser.find_elements("css selector", third_row)} \
        == {"ORGANIZACAO", "LOCAL", "TEMPO"}
    choose(browser, "error", "missed")
    assert shown(browser) == ["s0", "s2"]
    assert "truncated" not in browser.find_element("css selector", 'section[data-id="s0"]').text
    choose(browser, "error", "any sentence")
    assert "truncated" in browser.find_element("css selector", 'section[data-id="s3"]').text

    # Entity type, and what the ensemble fixed against its best single system.
    choose(browser, "system", "all systems")
    choose(browser, "error", "any sentence")
    choose(browser, "type", "TEMPO")
    assert shown(browser) == ["s1", "s3"]
    choose(browser, "type", "all types")
    choose(browser, "error", "fixed by the ensemble")
    assert shown(browser) == ["s1"]
    choose(browser, "error", "broken by the ensemble")
    assert shown(browser) == ["s0"]  # A found Lisboa, the ensemble did not keep it
    # The state is in the URL: a link reopens the same view.
    assert "error=broken" in browser.current_url
    browser.get(browser.current_url)
    assert shown(browser) == ["s0"]

    choose(browser, "error", "spurious")
    choose(browser, "system", SYSTEM_A)
    screenshot = tmp_path / "explorer.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 10_000
    print(f"screenshot: {screenshot}")


def test_right_to_left_text_runs_right_to_left_in_a_real_browser(tmp_path, browser):
    """An Arabic split (the manifest says nothing of direction: the language
    code does): the sentence text is laid out right to left, in its language."""
    arabic = [sentence("r0", ["زار", "محمد", "القاهرة", "أمس", "."], [(1, 2, "PER"), (2, 3, "LOC")]),
              sentence("r1", ["لا", "شيء", "هنا", "."], [])]
    preds = [Prediction("a/m/json", "toy_ar", "test", s.id, s.spans[:1]) for s in arabic]
    doc = {"format_version": 2, "datasets": {"toy_ar": {"language": "ar"}}, "scoring": {"rule": SPAN_SET},
           "systems": [{"system": "a/m/json", "dataset": "toy_ar", "split": "test", "sentences": len(arabic),
                        **scored(arabic, preds, SPAN_SET)}],
           **analysis({("toy_ar", "test"): arabic}, [("toy_ar", "test", "a/m/json", preds)])}
    write_document(tmp_path / "results.json", doc)
    page = explorer.write([json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))], tmp_path / "board")
    browser.get(page.as_uri() + "#split=toy_ar-test")
    assert shown(browser) == ["r0", "r1"]
    texts = browser.find_elements("css selector", 'section[data-id="r0"] .text')
    assert len(texts) == 2  # gold and the system
    for text in texts:
        assert browser.execute_script("return getComputedStyle(arguments[0]).direction", text) == "rtl"
        assert text.get_attribute("lang") == "ar"
    # The first word (زار) is drawn at the right: its mark-free start lies right of the entity's mark.
    mark = texts[0].find_element("css selector", "mark")
    assert mark.location["x"] + mark.size["width"] < texts[0].location["x"] + texts[0].size["width"]
    # A system's name is not text of the dataset: it stays left to right.
    who = browser.find_element("css selector", 'section[data-id="r0"] .who')
    assert browser.execute_script("return getComputedStyle(arguments[0]).direction", who) == "ltr"
    screenshot = tmp_path / "explorer-rtl.png"
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 5_000
    print(f"screenshot: {screenshot}")
