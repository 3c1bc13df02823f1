"""Which way a dataset's text runs, from its manifest or its language code.

A manifest may say `direction`; most will not, so it is derived from the
BCP 47 code: a script subtag decides when there is one (`pa-Arab` runs right
to left, `ar-Latn` left to right), else the language's usual script does.
Deriving it means a manifest author who never thought of direction still gets
right-to-left pages for Arabic, Hebrew, Persian or Urdu; the field is there for
the rare corpus the code gets wrong.
"""

from __future__ import annotations

#: ISO 15924 scripts written right to left
RTL_SCRIPTS = frozenset({"arab", "hebr", "syrc", "thaa", "nkoo", "adlm", "rohg", "mand", "samr", "yezi"})
#: languages whose usual script is one of them (ISO 639-1/3)
RTL_LANGUAGES = frozenset({"ar", "arz", "ary", "apc", "acm", "fa", "prs", "he", "iw", "yi", "ur", "ps", "sd", "ug",
                           "ckb", "dv", "ks", "syr", "nqo", "azb", "bal", "glk", "mzn", "pnb", "skr", "lrc"})


def text_direction(language: str, declared: str | None = None) -> str:
    """"rtl" or "ltr": `declared` (a manifest's `direction`) when given,
    else from the language code's script subtag, else from its language."""
    if declared:
        return declared
    base, *subtags = language.lower().split("-")
    for subtag in subtags:
        if len(subtag) == 4 and subtag.isalpha():
            return "rtl" if subtag in RTL_SCRIPTS else "ltr"
    return "rtl" if base in RTL_LANGUAGES else "ltr"
