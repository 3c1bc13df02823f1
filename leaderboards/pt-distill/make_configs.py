"""Write the two scoring configs of leaderboards/pt-distill from the trained
students' folders: `students-test.toml` (every student on the whole LeNER-Br
test split), `students-100.toml` (every student on its first 100 sentences,
the sample pt-two-families published; the teachers there come from its
published predictions, analyse.py).

    python leaderboards/pt-distill/make_configs.py STUDENTS_DIR
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


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
        "# Every student on the first 100 LeNER-Br test sentences (pt-two-families' sample), beside its teachers.\n"
        f'[run]\nname = "pt-distill-students-100"\nlimit = 100\nreporters = ["markdown"]\n\n{head}{students(root)}')


if __name__ == "__main__":
    main()
