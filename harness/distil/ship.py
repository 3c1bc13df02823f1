"""`nerbench ship`: a trained student leaves nerbench as a spaCy pipeline
package — a wheel that `pip install` and `spacy.load(NAME)` use where
nerbench is not installed. The student writes itself as a spaCy pipeline
(`Student.to_spacy`: the spaCy student its own pipeline, the CRF a
`nerbench_crf` component whose code travels in the package); spaCy's own
`spacy package --build wheel` builds it (it needs the `build` package, in
`nerbench[train]`).

The package carries a model card (README.md, and `nerbench` in meta.json)
from what nerbench recorded: the student and its options, what it learnt
from (the teacher and its silver, gold, reviewed gold), its dev F1, the
scores a results file gave it (with 95% bootstrap intervals over sentences)
and the nerbench versions that trained and shipped it."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nerbench import __version__
from nerbench.errors import NerbenchError
from nerbench.files.atomic import atomic_write
from nerbench.files.results import read_results
from nerbench.files.text import read_json
from nerbench.plugin_system.manager import Registry
from nerbench.score.bootstrap import f1_interval
from nerbench.students import folder_digest, read_meta, student_id

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def student_class(registry: Registry, meta: dict[str, Any], where: Path) -> Any:
    """The registered student kind that trained the model in `where`."""
    for name in registry.names("students"):
        cls = registry.get("students", name)
        if student_id(cls) == meta["student"]:
            return cls
    raise NerbenchError(f"{where}: a {meta['student']} model, and no installed student plugin is that kind")


def _teacher(about: dict[str, Any]) -> dict[str, Any] | None:
    """The teacher of the silver the student learnt from, as its annotation
    folder records it (None when it learnt from no silver, or the folder is
    not where training found it)."""
    silver = about.get("silver")
    if not silver:
        return None
    path = Path(silver).parent / "annotation.json"
    if not path.is_file():
        return {"silver": silver, "note": f"{path} not found where the student was trained"}
    annotation = read_json(path, "annotation")
    teacher = annotation.get("teacher", {}) if isinstance(annotation, dict) else {}
    return {"silver": silver, "name": teacher.get("name"), "members": teacher.get("members"),
            "dataset": annotation.get("dataset"), "split": annotation.get("split"),
            "sentences": annotation.get("sentences")}


def _scores(digest: str, results: Sequence[Path]) -> list[dict[str, Any]]:
    """Every score a results file gives a system served from exactly this
    model folder (its digest), with its 95% bootstrap interval."""
    out = []
    for path in results:
        doc = read_results(path)
        for system in doc.get("systems", []):
            if system.get("backend", {}).get("digest") != digest:
                continue
            metrics, counts = system["metrics"], system.get("per_sentence")
            low, high = f1_interval(counts) if counts else (None, None)
            out.append({"results": str(path), "system": system["system"], "dataset": system["dataset"],
                        "split": system["split"], "sentences": system.get("sentences"),
                        "precision": metrics["precision"], "recall": metrics["recall"], "f1": metrics["f1"],
                        "f1_interval_95": None if low is None else [low, high]})
    return out


def model_card(student_dir: Path, meta: dict[str, Any], results: Sequence[Path]) -> dict[str, Any]:
    """What the package says of the student, from its student.json (and
    the annotation and results files it names)."""
    digest, size = folder_digest(student_dir)
    report = meta.get("report")
    last = report[-1] if isinstance(report, list) else report or {}
    about = meta.get("data", {})
    return {"student": meta["student"], "kind": meta.get("name"), "options": meta.get("options", {}),
            "seed": meta.get("seed"), "labels": meta["labels"], "language": meta["language"],
            "trained_on": about, "teacher": _teacher(about), "reviewed": about.get("reviewed"),
            "dev": {**meta.get("dev", {}), "best_f1": last.get("best_dev_f1")},
            "scores": _scores(f"sha256:{digest}", results), "model_sha256": digest, "model_bytes": size,
            "trained_with_nerbench": meta.get("nerbench_version"), "shipped_with_nerbench": __version__,
            "trained": meta.get("created")}


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def readme(name: str, version: str, card: dict[str, Any]) -> str:
    """The model card as markdown (the package's README.md)."""
    lines = [f"# {name} {version}", "",
             f"A `{card['kind']}` NER student trained by nerbench for `{card['language']}`: labels "
             + ", ".join(f"`{label}`" for label in card["labels"]) + ".", "",
             "```python", "import spacy", f'nlp = spacy.load("{name}")',
             'doc = nlp("...")  # or nlp(Doc(nlp.vocab, words, spaces)): the tokens it was trained on',
             "print([(e.text, e.label_) for e in doc.ents])", "```", "", "## What it learnt from", ""]
    lines += [f"- {key}: `{json.dumps(value, ensure_ascii=False)}`" for key, value in card["trained_on"].items()]
    teacher = card["teacher"]
    if teacher:
        lines += ["", f"Teacher: `{teacher.get('name')}` (members: "
                  + ", ".join(f"`{m}`" for m in teacher.get("members") or []) + f"), silver `{teacher['silver']}`"
                  + (f" — {teacher['note']}" if "note" in teacher else
                     f", {teacher.get('sentences')} sentences of {teacher.get('dataset')}:{teacher.get('split')}.")]
    reviewed = card["reviewed"]
    lines += ["", "Reviewed gold: " + (f"`{reviewed.get('path')}` (sha256 `{reviewed.get('sha256')}`, "
                                        f"{reviewed.get('sentences')} sentences)" if isinstance(reviewed, dict)
                                        else "none.")]
    dev = card["dev"]
    lines += ["", "## Scores", "", f"Dev F1 (early stopping, {dev.get('split', 'n/a')}): {_pct(dev.get('best_f1'))}",
              ""]
    if card["scores"]:
        lines += ["| system | data | sentences | P | R | F1 (95% interval) |", "|---|---|---|---|---|---|"]
        for s in card["scores"]:
            interval = s["f1_interval_95"]
            span = f" ({_pct(interval[0])}–{_pct(interval[1])})" if interval else ""
            lines.append(f"| `{s['system']}` | {s['dataset']}:{s['split']} | {s['sentences']} | {_pct(s['precision'])}"
                         f" | {_pct(s['recall'])} | {_pct(s['f1'])}{span} |")
    else:
        lines.append("No test scores were given when it was shipped (`nerbench ship --results`).")
    lines += ["", "## Provenance", "", f"- student: `{card['student']}`, seed {card['seed']}, options "
              f"`{json.dumps(card['options'])}`", f"- model files sha256 `{card['model_sha256']}`",
              f"- trained {card['trained']} with nerbench {card['trained_with_nerbench']}; shipped with nerbench "
              f"{card['shipped_with_nerbench']}", ""]
    return "\n".join(lines)


def _spacy_package(pipeline: Path, out: Path, name: str, version: str, code: Sequence[Path]) -> Path:
    """`python -m spacy package ... --build wheel`, its wheel; spaCy's own
    failure (it prints and exits) as one line."""
    out.mkdir()
    command = [sys.executable, "-m", "spacy", "package", str(pipeline), str(out), "--name", name,
               "--version", version, "--build", "wheel"]
    if code:
        command += ["--code", ",".join(str(p) for p in code)]
    done = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(out.glob("*/dist/*.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        said = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
        raise NerbenchError(f"spacy package failed (exit {done.returncode}): {said[-1] if said else 'no output'}")
    return wheels[0]


def ship_student(student_dir: Path, out_dir: Path, registry: Registry, name: str | None = None,
                 version: str = "0.1.0", results: Sequence[Path] = ()) -> Path:
    """Build the student in `student_dir` (`nerbench train`'s DIR/seed-N) into
    a spaCy pipeline wheel in `out_dir`; return the wheel's path."""
    if not (student_dir / "student.json").is_file() and (student_dir / "train.json").is_file():
        seeds = sorted(p.name for p in student_dir.glob("seed-*"))
        raise NerbenchError(f"{student_dir}: a training of several models; ship one of them ({', '.join(seeds)})")
    meta = read_meta(student_dir)
    cls = student_class(registry, meta, student_dir)
    missing = cls.missing() or ("build" if importlib.util.find_spec("build") is None else None)
    if missing:
        raise NerbenchError(f"nerbench ship needs {missing}, which is not installed; run: {cls.install}")
    name = name or f"nerbench_{meta.get('name') or 'student'}"
    if not _NAME.match(name):
        raise NerbenchError(f"--name {name!r}: a Python identifier (letters, digits, _), as spaCy imports it")
    card = model_card(student_dir, meta, results)
    with tempfile.TemporaryDirectory(prefix="nerbench-ship-") as tmp:
        pipeline = Path(tmp) / "pipeline"
        student = cls(**meta.get("options", {}))
        student.load(student_dir)
        code, requirements = student.to_spacy(pipeline, meta["language"])
        spacy_meta = json.loads((pipeline / "meta.json").read_text(encoding="utf-8"))
        spacy_meta.update(name=name, version=version, author="nerbench", requirements=list(requirements),
                          description=f"nerbench {card['kind']} student ({card['student']}) for "
                                      f"{meta['language']}: {', '.join(meta['labels'])}",
                          sources=[str(v) for k, v in sorted(card["trained_on"].items())
                                   if k in ("gold", "silver", "like") and v],
                          nerbench=card)
        with atomic_write(pipeline / "meta.json") as out:
            out.write(json.dumps(spacy_meta, ensure_ascii=False, indent=2) + "\n")
        full_name = f"{spacy_meta['lang']}_{name}"
        with atomic_write(pipeline / "README.md") as out:
            out.write(readme(full_name, version, card))
        wheel = _spacy_package(pipeline, Path(tmp) / "package", name, version, code)
        target = out_dir / wheel.name
        if target.exists():
            raise NerbenchError(f"{target} exists: remove it or ship another --version")
        out_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(wheel, target)
    return target
