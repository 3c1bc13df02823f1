"""What a results file records about who answered what — the race record and
each entry's sentence count — checked against the predictions stored beside
it before `rescore` trusts it: a results file is data, and one edited to
record another race seed, more sentences or no race at all would otherwise
be re-scored on other sentences, to other F1 values, in silence."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from nerbench.errors import NerbenchError
from nerbench.records import Sentence

_SETTINGS: dict[str, type | tuple[type, ...]] = {"rounds": int, "seed": int, "alpha": (int, float),
                                                  "delta": (int, float), "method": str}


def _count(value: Any) -> bool:
    return type(value) is int and value >= 0


def check_race_record(results: dict[str, Any], where: str) -> None:
    """The race record is whole and agrees with the entries: settings of the
    right types, the raced splits named, counts that are numbers, and every
    entry on a raced split carrying its own race record with the count it is
    scored on (and none elsewhere)."""
    entries = [(f"{kind}[{i}]", e) for kind in ("systems", "ensembles") for i, e in enumerate(results.get(kind, []))]
    race = results.get("race")
    if race is None:
        raced = next((name for name, e in entries if "race" in e), None)
        if raced is not None:
            raise NerbenchError(f"{where}: field race: missing, but {raced} records where its race stopped")
        return
    if not isinstance(race, dict) or not isinstance(race.get("settings"), dict):
        raise NerbenchError(f"{where}: field race.settings: missing or not an object")
    for key, kind in _SETTINGS.items():
        value = race["settings"].get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise NerbenchError(f"{where}: field race.settings.{key}: {value!r} is not a {key} of a race")
    splits = race.get("splits")
    if not isinstance(splits, list) or not all(isinstance(s, str) for s in splits):
        raise NerbenchError(f"{where}: field race.splits: missing or not a list of DATASET:SPLIT")
    over = race.get("sentences", {})
    if not isinstance(over, dict) or not all(_count(n) for n in over.values()):
        raise NerbenchError(f"{where}: field race.sentences: not a count of sentences per raced split")
    for name, entry in entries:
        key = f"{entry.get('dataset')}:{entry.get('split')}"
        if not _count(entry.get("sentences")):
            raise NerbenchError(f"{where}: field {name}.sentences: {entry.get('sentences')!r} is not a count")
        if key not in splits:
            if "race" in entry:
                raise NerbenchError(f"{where}: field {name}.race: {key} is not a raced split (race.splits)")
            continue
        record = entry.get("race")
        if not isinstance(record, dict) or record.get("sentences") != entry["sentences"]:
            raise NerbenchError(f"{where}: field {name}.race.sentences: not the {entry['sentences']} sentences "
                                "the entry is scored on")
        if key in over and entry["sentences"] > over[key]:
            raise NerbenchError(f"{where}: field {name}.sentences: {entry['sentences']} sentences, but "
                                f"{key} was raced over {over[key]}")


def check_answered(entry: dict[str, Any], name: str, sentences: Sequence[Sentence], answered: Collection[str],
                   where: str) -> None:
    """`entry` is scored on exactly the sentences its stored predictions
    answer: the first ones of its split, or of a raced split's seeded order."""
    scored = {s.id for s in sentences}
    if scored != set(answered):
        missing, other = len(scored - set(answered)), len(set(answered) - scored)
        raise NerbenchError(f"{where}: field {name}.sentences: {entry['system']} on {entry['dataset']}:"
                            f"{entry['split']} would be scored on {len(scored)} sentences, but its stored predictions "
                            f"lack {missing} of them and answer {other} others (its race record or count does not "
                            "match the predictions)")
