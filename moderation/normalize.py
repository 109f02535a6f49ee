"""Normalising text before the model reads it (outputs always keep the original).

NFKC folds full-width and stylised letters, format characters such as zero-width
spaces are dropped, control characters become spaces, lone surrogates are
replaced, and common Cyrillic and Greek look-alikes of Latin letters are mapped
to Latin when they sit inside an otherwise Latin word, and words spelt out letter by
letter ("d o n a t e") are joined.
"""

from __future__ import annotations

import re
import unicodedata

# Cyrillic and Greek letters that look like Latin ones.
_HOMOGLYPHS = str.maketrans(
    {
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",
        "ѕ": "s", "ԁ": "d", "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w",
        "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
        "С": "C", "Т": "T", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S",
        "α": "a", "ο": "o", "ν": "v", "τ": "t", "ι": "i", "κ": "k",
        "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
        "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    }
)
_HOMOGLYPH_CHARS = frozenset(chr(c) for c in _HOMOGLYPHS)
_WORD = re.compile(r"\w+")
_SPACES = re.compile(r"[ \t\f\v]+")
_AROUND_NEWLINE = re.compile(r" ?\n ?")
# "d o n a t e": four or more single letters separated by single spaces
_SPACED_LETTERS = re.compile(r"(?<!\w)(?:[^\W\d_] ){3,}[^\W\d_](?!\w)")


def _is_latin_letter(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def _fold_word(match: re.Match) -> str:
    word = match.group(0)
    if any(ch in _HOMOGLYPH_CHARS for ch in word) and any(_is_latin_letter(ch) for ch in word):
        return word.translate(_HOMOGLYPHS)
    return word


def normalize_for_model(text: str) -> str:
    """The form of ``text`` the model reads."""
    # Lone surrogates cannot be encoded; replace them before anything else.
    text = text.encode("utf-8", "replace").decode("utf-8") if _has_surrogate(text) else text
    text = unicodedata.normalize("NFKC", text)
    out = []
    for ch in text:
        if ch in "\n\t":
            out.append(ch)
            continue
        category = unicodedata.category(ch)
        if category == "Cf":  # zero-width spaces and joiners, soft hyphens, bidi marks
            continue
        out.append(" " if category in ("Cc", "Cs") else ch)
    text = _SPACED_LETTERS.sub(lambda m: m.group(0).replace(" ", ""), "".join(out))
    text = _WORD.sub(_fold_word, text)
    text = text.replace("\r", "")
    return _AROUND_NEWLINE.sub("\n", _SPACES.sub(" ", text)).strip()


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
