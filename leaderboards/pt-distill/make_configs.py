"""Write the two scoring configs of leaderboards/pt-distill from the trained
students' folders: `students-test.toml` (every student on the whole LeNER-Br
test split), `students-100.toml` (every student on its first 100 sentences,
the sample pt-two-families published) and `teachers-100.toml` (the teachers
there: the best single system of pt-two-families and its four 3-shot
systems' union and majority).

    python leaderboards/pt-distill/make_configs.py STUDENTS_DIR
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

TEACHERS = """
[[backend]]
name = "embedded"
kind = "embedded"
models = ["smollm2-135m", "gemma3-270m"]
n_parallel = 2
n_ctx = 4096

[[format]]
name = "json"
alias = "json-3shot"
shots = 3
demos = "similar"
demo_split = "train"

[[format]]
name = "json-grouped"
alias = "json-grouped-3shot"
shots = 3
demos = "similar"
demo_split = "train"

[ensemble]
# The 3-shot systems' union and majority, all four members (no search), as they annotated.
combiners = ["union", "majority"]
search = "none"
dev_split = "dev"
dev_limit = 50
"""


def students(root: Path) -> str:
    out = []
    for student in ("crf", "spacy"):
        # Relative to this folder, as a config's model paths are read.
        models = sorted(os.path.relpath(p, HERE) for p in root.glob(f"{student}-*/seed-*")
                        if (p / "student.json").is_file())
        if not models:
            continue
        listed = ",\n  ".join(f'{{name = "{Path(m).parent.name}-{Path(m).name}", model = "{m}"}}' for m in models)
        out.append(f'[[backend]]\nname = "{student}"\nkind = "{student}"\nmodels = [\n  {listed},\n]\n')
    return "\n".join(out)


def main() -> None:
    root = Path(sys.argv[1]).resolve()
    head = ('[generation]\ntemperature = 0.0\nseed = 0\nmax_tokens = 192\n\n'
            '[[dataset]]\nid = "lener_br"\nsplits = ["test"]\n\n[[format]]\nname = "student"\n\n')
    (HERE / "students-test.toml").write_text(
        "# Every student of pt-distill on the whole LeNER-Br test split (1,389 sentences).\n"
        f'[run]\nname = "pt-distill-test"\nreporters = ["markdown"]\n\n{head}{students(root)}')
    (HERE / "students-100.toml").write_text(
        "# Every student on the first 100 LeNER-Br test sentences (pt-two-families' sample), beside teachers-100.\n"
        f'[run]\nname = "pt-distill-students-100"\nlimit = 100\nreporters = ["markdown"]\n\n{head}{students(root)}')
    # The teachers run alone: an ensemble combines every system of its run, students included.
    (HERE / "teachers-100.toml").write_text(
        "# The teachers on the first 100 LeNER-Br test sentences: the best single system of pt-two-families and\n"
        "# the union and majority of its four 3-shot systems, as they annotated the silver.\n"
        f'[run]\nname = "pt-distill-teachers-100"\nlimit = 100\nreporters = ["markdown"]\n\n'
        f'{head.replace(chr(10) + "[[format]]" + chr(10) + "name = " + chr(34) + "student" + chr(34) + chr(10), "")}'
        f"{TEACHERS}")

if __name__ == "__main__":
    main()
