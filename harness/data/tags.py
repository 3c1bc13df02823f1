"""Token tags in the schemes corpora use (IOB2, IOB1, BIOES/BILOU, IO) read
as IOB2, and the repairs a dirty corpus needs: each counted by kind, never
silent; a tag that needs one while repairs are off is counted too, so the
split is refused once, saying how many it holds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from nerbench.errors import NerbenchError

TAG_SCHEMES = ("iob2", "iob1", "bioes", "bilou", "io")
REPAIR_MODES = ("none", "lenient")

# The prefixes of each scheme, by role: begin, inside, end, single.
_ROLES = {
    "iob2": {"B": "begin", "I": "inside"},
    "iob1": {"B": "begin", "I": "inside"},
    "bioes": {"B": "begin", "I": "inside", "E": "end", "S": "single"},
    "bilou": {"B": "begin", "I": "inside", "L": "end", "U": "single"},
    "io": {"I": "inside"},
}
# Schemes where an inside tag may start an entity by definition (not a repair).
_INSIDE_STARTS = frozenset({"iob1", "io"})
_WHAT = {
    "iob2": "an IOB2 tag (O, B-X or I-X)",
    "iob1": "an IOB1 tag (O, B-X or I-X)",
    "bioes": "a BIOES tag (O, B-X, I-X, E-X or S-X)",
    "bilou": "a BILOU tag (O, B-X, I-X, L-X or U-X)",
    "io": "an IO tag (O, I-X or X)",
}
#: what `repair = "lenient"` does, by the kind it counts
LENIENT = {
    "missing_prefix": "-X as B-X (as I-X after an X)",
    "bare_dash": "a bare - as O",
    "stray_inside_tag": "an I-X that continues no X as B-X",
}


class DataFormatError(NerbenchError):
    pass


class Repairs(Counter[str]):
    """One split's repairs by kind. With repairs off, the tags that needed
    one are counted in `bad` instead, and `refuse` raises once the whole
    split has been read."""

    def __init__(self, lenient: bool = False) -> None:
        super().__init__()
        self.lenient = lenient
        self.bad: Counter[str] = Counter()
        self.first_bad = ""

    def flag(self, where: str, tag: str, kind: str, scheme: str) -> None:
        """A tag nothing reads (or, with repairs off, one that needs a repair)."""
        if not self.first_bad:
            self.first_bad = f"{where}: {tag!r} is not {_WHAT[scheme]}"
        self.bad[kind] += 1

    def refuse(self) -> None:
        """Raise one line for the split's bad tags, if any: where the first
        is, how many there are by kind, and the remedy."""
        if not self.bad:
            return
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.bad.items()))
        repairable = [k for k in self.bad if k in LENIENT]
        remedy = ("; set format.repair = \"lenient\" in the manifest to read "
                  + " and ".join(LENIENT[k] for k in sorted(repairable))
                  if repairable and not self.lenient else "")
        other = "" if set(repairable) == set(self.bad) else "; no repair reads the others: fix the file"
        raise DataFormatError(f"{self.first_bad}; the split has {sum(self.bad.values())} bad tags ({kinds})"
                              f"{remedy}{other}")


def _split_tag(tag: str, scheme: str) -> tuple[str, str]:
    if "-" in tag:
        prefix, _, label = tag.partition("-")
        return prefix, label
    # IO corpora often write the bare type ("PER") for I-PER.
    return ("I", tag) if scheme == "io" and tag else ("?", tag)


def to_iob2(tags: Sequence[str], scheme: str, repairs: Repairs, wheres: Sequence[str]) -> list[str]:
    """One sentence's tags in `scheme` as IOB2, repairs counted in `repairs`;
    `wheres[i]` names tag i ("FILE:LINE") for the error. A tag that cannot be
    read becomes O here and is flagged, so the split is counted to its end."""
    roles = _ROLES[scheme]
    out: list[str] = []
    open_label: str | None = None  # the type of the entity the previous tag leaves open
    for tag, where in zip(tags, wheres):
        if tag == "O":
            out.append("O")
            open_label = None
            continue
        prefix, label = _split_tag(tag, scheme)
        if prefix == "" and label == "":
            kind = "bare_dash"
        elif prefix == "" and label:
            kind = "missing_prefix"
        elif prefix in roles and label:
            kind = ""
        else:
            kind = "not_a_tag"
        if kind and not (repairs.lenient and kind in LENIENT):
            repairs.flag(where, tag, kind, scheme)
            out.append("O")
            open_label = None
            continue
        if kind == "bare_dash":
            repairs[kind] += 1
            out.append("O")
            open_label = None
            continue
        if kind == "missing_prefix":
            repairs[kind] += 1
            role = "inside"
        else:
            role = roles[prefix]
        if role in ("inside", "end") and open_label != label:
            if scheme not in _INSIDE_STARTS and kind != "missing_prefix":
                repairs["stray_inside_tag"] += 1
            role = "begin"
        out.append(f"{'I' if role in ('inside', 'end') else 'B'}-{label}")
        open_label = None if role in ("end", "single") else label
    return out
