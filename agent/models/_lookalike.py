"""Fence tags as a model reads them: look-alike characters folded, invisible ones dropped.

A model reads ``＜／tool_result＞`` (full width), ``<tооl_result>`` (Cyrillic ``о``) or
``<tool\u200d_result>`` (a zero-width joiner inside) as the tag it resembles, so a forged fence
must be found in those spellings too (``tests/test_attack_prompt_fences.py``). :func:`tag_starts`
folds the text one character at a time (NFKC, which maps full-width and small forms; a table of
the Cyrillic and Greek letters that look like the Latin letters of the fence tags; format and
zero-width characters and accents dropped) and returns where, in the *original* text, each tag's opening
bracket stands, so only that character is replaced and the rest of the text is kept as it was.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["tag_starts"]

# Letters that look like the Latin letters of ``ticket`` and ``tool_result`` (Unicode's
# confusables for t, i, c, k, e, o, l, r, s, u), and brackets and slashes NFKC leaves alone.
_LOOKALIKE = str.maketrans(
    {
        **dict.fromkeys("тτƚţ", "t"),
        **dict.fromkeys("іιıӏɩ", "i"),
        **dict.fromkeys("сϲċ", "c"),
        **dict.fromkeys("кκĸ", "k"),
        **dict.fromkeys("еєҽ", "e"),
        **dict.fromkeys("оοσօ", "o"),
        **dict.fromkeys("Ɩǀ|", "l"),
        **dict.fromkeys("гᴦ", "r"),
        **dict.fromkeys("ѕꜱ", "s"),
        **dict.fromkeys("υսμ", "u"),
        **dict.fromkeys("‹〈⟨❮❬˂ᐸ〈", "<"),
        **dict.fromkeys("∕⁄⧸╱", "/"),
        **dict.fromkeys("‗‐‑", "_"),
    }
)
_UNSEEN = ("Cf", "Mn", "Me")
# In a tag's name the underscore may be written as a hyphen, a space or nothing at all.
_TAG = re.compile(r"<\s*/?\s*(?:ticket|tool[\s_-]?result)", re.IGNORECASE)


def _fold(char: str) -> str:
    # Accents split off (NFKD) and dropped with zero-width characters and joiners; width folded.
    bare = "".join(c for c in unicodedata.normalize("NFKD", char) if unicodedata.category(c) not in _UNSEEN)
    return unicodedata.normalize("NFKC", bare).translate(_LOOKALIKE)


def tag_starts(text: str) -> list[int]:
    """Indices in ``text`` of the bracket opening each fence tag a model could read there."""
    if text.isascii():
        return [m.start() for m in _TAG.finditer(text)]
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for piece in _fold(char):
            folded.append(piece)
            origin.append(index)
    return sorted({origin[m.start()] for m in _TAG.finditer("".join(folded))})
