"""Write the scoring configs of leaderboards/pt-distill from the trained
students' folders, one pair per student kind: `students-test-KIND.toml`
(every student of that kind on the whole LeNER-Br test split) and
`students-100-KIND.toml` (on its first 100 sentences, the sample
pt-two-families published; the teachers there come from its published
predictions, analyse.py). One kind at a time, because the trained models are
not committed: a session that trains the CRFs can score and commit them, and
a later one the spaCy students.

    python leaderboards/pt-distill/make_configs.py STUDENTS_DIR [crf] [spacy]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def students(root: Path, student: str) -> str:
    # Relative to this folder, as a config's model paths are read.
    models = sorted(os.path.relpath(p, HERE) for p in root.glob(f"{student}-*/seed-*")
                    if (p / "student.json").is_file())
    if not models:
        sys.exit(f"no trained {student} student under {root}")
    listed = ",\n  ".join(f'{{name = "{Path(m).parent.name}-{Path(m).name}", model = "{m}"}}' for m in models)
    return f'[[backend]]\nname = "{student}"\nkind = "{student}"\nmodels = [\n  {listed},\n]\n'


def main() -> None:
    root = Path(sys.argv[1]).resolve()
    head = ('[generation]\ntemperature = 0.0\nseed = 0\nmax_tokens = 192\n\n'
            '[[dataset]]\nid = "lener_br"\nsplits = ["test"]\n\n[[format]]\nname = "student"\n\n')
    for student in sys.argv[2:] or ["crf", "spacy"]:
        (HERE / f"students-test-{student}.toml").write_text(
            f"# Every {student} student of pt-distill on the whole LeNER-Br test split (1,389 sentences).\n"
            f'[run]\nname = "pt-distill-test-{student}"\nreporters = ["markdown"]\n\n{head}{students(root, student)}')
        (HERE / f"students-100-{student}.toml").write_text(
            f"# Every {student} student on the first 100 LeNER-Br test sentences (pt-two-families' sample).\n"
            f'[run]\nname = "pt-distill-students-100-{student}"\nlimit = 100\nreporters = ["markdown"]\n\n'
            f"{head}{students(root, student)}")


if __name__ == "__main__":
    main()
