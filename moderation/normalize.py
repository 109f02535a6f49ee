"""Normalising text before the model reads it (outputs always keep the original).

NFKC folds full-width and stylised letters, format characters such as zero-width
spaces are dropped, control characters become spaces, and lone surrogates are
replaced. Then common obfuscations are undone, conservatively:

* words spelt out letter by letter are joined: "d o n a t e", "s  h  o  t", and
  whole sentences with wider gaps between words ("s h o t  i n  t h e  h e a d"
  reads "shot in the head");
* letters separated by dots, hyphens, underscores or asterisks are joined when
  three or more single letters are in a row ("s.h.o.t", "b*l*o*o*d"); "e.g.",
  "a.m.", "U.S.", "x-ray" stay, and capitals with a final dot ("U.S.A.",
  "F.B.I.") are left as abbreviations;
* look-alikes of Latin letters (Cyrillic, Greek, Armenian, Cherokee, Latin small
  capitals and IPA letters) are mapped to Latin inside otherwise Latin words, and
  words made only of such look-alikes between Latin words are mapped too; real
  Cyrillic, Greek or Armenian text is left as it is;
* leetspeak ("sh0t", "k1ll", "bl00d", "r@pe", "$hot") is decoded inside words,
  judged by the shape of the token so that numbers, prices, model names and
  codes ("4x4", "3D", "B2B", "COVID-19", "F1", "H1N1", "MP3", "10am", "1990s")
  stay. A word whose only leet character is a leading digit ("7aken", but also
  "4chan") or an @handle ("@bout") is decoded only near an unmistakable leet
  word. URLs, domain names, e-mail and payment addresses ("relief@sbi") stay.

Turkish dotless "ı" is a look-alike too, so "Bayraklı" reads "Bayrakli", its usual
ASCII spelling.

Everything is linear in the length of the text and the function is idempotent.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from functools import lru_cache

# Look-alikes of Latin letters in other scripts. Mapped only inside otherwise Latin words
# (or, for whole words of them, between Latin words), so real text in these scripts stays.
_FOREIGN_LOOKALIKES = {
    # Cyrillic
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w", "ҽ": "e", "ү": "y", "ѵ": "v",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S", "Ү": "Y", "Ѵ": "V",
    "Ԛ": "Q", "Ԝ": "W", "Һ": "H", "Ӏ": "l",
    # Greek (NFKC has already turned the lunate sigma "ϲ" into "ς")
    "α": "a", "ο": "o", "ν": "v", "τ": "t", "ι": "i", "κ": "k", "υ": "u", "ρ": "p", "ϳ": "j",
    "ς": "c",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    # Armenian
    "ա": "w", "ց": "g", "հ": "h", "ո": "n", "ս": "u", "օ": "o", "զ": "q",
    "Ս": "U", "Օ": "O", "Լ": "L", "Տ": "S",
    # Cherokee capitals and their small letters
    "Ꭺ": "A", "Ᏼ": "B", "Ꮯ": "C", "Ꭰ": "D", "Ꭼ": "E", "Ꮐ": "G", "Ꮋ": "H", "Ꭵ": "i",
    "Ꭻ": "J", "Ꮶ": "K", "Ꮮ": "L", "Ꮇ": "M", "Ꮲ": "P", "Ꭱ": "R", "Ꮪ": "S", "Ꭲ": "T",
    "Ꮩ": "V", "Ꮃ": "W", "Ꮍ": "Y", "Ꮓ": "Z", "Ꮟ": "b", "Ꮒ": "h",
    "ꭺ": "a", "ᏼ": "b", "ꮯ": "c", "ꭰ": "d", "ꭼ": "e", "ꮐ": "g", "ꮋ": "h", "ꭵ": "i",
    "ꭻ": "j", "ꮶ": "k", "ꮮ": "l", "ꮇ": "m", "ꮲ": "p", "ꭱ": "r", "ꮪ": "s", "ꭲ": "t",
    "ꮩ": "v", "ꮃ": "w", "ꮍ": "y", "ꮓ": "z",
}
# Latin letters that only serve as look-alikes in news text: IPA letters and small capitals.
# Letters of real orthographies (ł ø ð þ ə ɛ ɔ ŋ ɓ ɗ ƙ ...) are deliberately absent.
_LATIN_LOOKALIKES = {
    "ɑ": "a", "ɡ": "g", "ı": "i", "ȷ": "j", "ɩ": "i",
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i",
    "ᴊ": "j", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ꞯ": "q", "ʀ": "r",
    "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z", "Ɪ": "I",
}
LOOKALIKES = {**_FOREIGN_LOOKALIKES, **_LATIN_LOOKALIKES}
_HOMOGLYPHS = str.maketrans(LOOKALIKES)
_HOMOGLYPH_CHARS = frozenset(LOOKALIKES)
_ANY_LOOKALIKE = re.compile("[" + re.escape("".join(sorted(LOOKALIKES))) + "]")

_WORD = re.compile(r"\w+")
_SPACES = re.compile(r"[ \t\f\v]+")
_AROUND_NEWLINE = re.compile(r" ?\n ?")
_LETTER = r"[^\W\d_]"

# Runs of one-character chunks with spaces between them; a chunk is one word character with
# at most three punctuation marks attached ("d.", "(s"), or punctuation alone ("-", ",").
_CHUNK = r"(?:[^\w\s]{0,3}\w[^\w\s]{0,3}|[^\w\s]{1,3})"
_SPELT_ZONE = re.compile(rf"(?<!\S){_CHUNK}(?:[ \t\f\v]+{_CHUNK}(?!\S))+")
_GAP = re.compile(r"[ \t\f\v]+")
# Single letters separated by spaces (any width): "d o n a t e", "s  h  o  t".
# The run stands alone: "d A$30m" and "a b#c" are not runs of "d A" and "a b".
_SPACED_LETTERS = re.compile(
    rf"(?<![^\s(\[\"'“‘])(?<!\w['’]){_LETTER}(?:[ \t\f\v]+{_LETTER})+(?![^\s.,;:!?)\]\"'”’-])"
)
# Single letters separated by one kind of dot, hyphen, underscore or asterisk, three or more.
_DOTTED_LETTERS = re.compile(
    rf"(?<!\w)(?<!\w\.)(?:{_LETTER}\.){{2,}}{_LETTER}(?:\.(?=[ \t]*[a-z,;:)\]]))?(?!\w)(?!\.\w)"
)
_JOINED_LETTERS = re.compile(rf"(?<!\w)(?<![^\W_][-*])({_LETTER})([-_*])(?:{_LETTER}\2)+{_LETTER}(?!\w)(?!\2\w)")

# Where nothing is decoded: URLs, domain names and e-mail addresses (and @handles, which
# leetspeak decoding leaves alone unless the text around is leetspeak).
_LINKS = r"(?<!\S)\S*?(?:://|www\.|\w@[\w-]+\.\w|\w\.[a-z]{2,}\b)\S*"
_PROTECTED = re.compile(_LINKS, re.IGNORECASE)
_PROTECTED_OR_HANDLE = re.compile(_LINKS + r"|(?<![\w@])@\w+", re.IGNORECASE)

# Leetspeak: a token of ASCII letters, digits and @ $ ! | with at least one of each kind.
_LEET_MAP = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "l"}
_LEET_TOKEN = re.compile(
    r"(?<![\w@$!|])(?=[A-Za-z0-9@$!|]*[A-Za-z])(?=[A-Za-z0-9@$!|]*[0-9@$!|])[A-Za-z0-9@$!|]+(?![\w@$!|])"
)
_LEET_RUN = re.compile(r"[0-9@$!|]+")
_LETTER_RUN = re.compile(r"[A-Za-z]+")
_CODE_PLURAL = re.compile(r"(?:[A-Z]{1,3}|mp|ps|ak)[0-9]+s")  # MP3s, PS5s, F1s, mp3s (not cu7s, th1s)
_PRICE = re.compile(r"(?:^|[A-Z])\$[0-9]")
_HEX = re.compile(r"(?=(?:[a-fA-F]*[0-9]){2})[0-9a-fA-F]{7,}")  # hashes: 3fa9c1e
# Letters that follow numbers as units ("1h30m", "4x4s", "3m45s"): a token that starts with a
# digit and whose letter groups are all units is a quantity, not leetspeak.
_UNITS = frozenset(
    "h hr hrs m min mins s sec secs ms d w y yr yrs x k km kg g mg mm cm ft lb lbs oz st nd rd th "
    "am pm v vs p mo gb mb tb kb bn mn mph kph kmh".split()
)


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
    text = "".join(out)
    if "." in text or "-" in text or "_" in text or "*" in text:
        text = _outside_protected(text, _join_separated, _PROTECTED_OR_HANDLE)
    text = _SPELT_ZONE.sub(_spelt_zone, text)
    text = _SPACED_LETTERS.sub(_spaced_letters, text)
    if _ANY_LOOKALIKE.search(text):
        text = _fold_lookalikes(text)
    if _LEET_TOKEN.search(text):
        text = _outside_protected(text, _unleet_text)
    text = text.replace("\r", "")
    return _AROUND_NEWLINE.sub("\n", _SPACES.sub(" ", text)).strip()


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _outside_protected(text: str, fn, protected: re.Pattern = _PROTECTED) -> str:
    """``fn`` applied to the parts of ``text`` outside URLs and e-mail addresses (or ``protected``)."""
    parts, last = [], 0
    for m in protected.finditer(text):
        parts.append(fn(text[last:m.start()]))
        parts.append(m.group(0))
        last = m.end()
    if not parts:
        return fn(text)
    parts.append(fn(text[last:]))
    return "".join(parts)


# --- letters spelt out ------------------------------------------------------------------------


def _join_separated(text: str) -> str:
    return _JOINED_LETTERS.sub(_joined_letters, _DOTTED_LETTERS.sub(_dotted_letters, text))


def _dotted_letters(match: re.Match) -> str:
    run = match.group(0)
    if run.endswith(".") or match.end() < len(match.string) and match.string[match.end()] == ".":
        letters = run.replace(".", "")
        if letters.isupper():  # U.S.A., F.B.I., J.R.R.: an abbreviation, not an obfuscation
            return run
    return run.replace(".", "")


def _joined_letters(match: re.Match) -> str:
    return match.group(0).replace(match.group(2), "")


def _spelt_zone(match: re.Match) -> str:
    """One-character chunks with gaps of two widths: the commoner width is inside words."""
    pieces = _GAP.split(match.group(0))
    gaps = [len(g) for g in _GAP.findall(match.group(0))]
    widths = set(gaps)
    if len(widths) == 1:
        return match.group(0)
    inner = min(widths, key=lambda w: (-gaps.count(w), w))
    words, current = [], [pieces[0]]
    for gap, piece in zip(gaps, pieces[1:]):
        if gap == inner and not (current[-1][-1] in ".!?" and piece[0].isupper()):
            current.append(piece)
        else:
            words.append("".join(current))
            current = [piece]
    words.append("".join(current))
    letters = sum(ch.isalpha() for ch in match.group(0))
    word_chars = sum(ch.isalnum() for ch in match.group(0))
    if letters < 3 or 2 * letters < word_chars or max(sum(c.isalnum() for c in w) for w in words) < 3:
        return match.group(0)
    return " ".join(words)


def _spaced_letters(match: re.Match) -> str:
    run = match.group(0)
    letters = run.split()
    needed = 3 if all(ch.isascii() or ch in _HOMOGLYPH_CHARS for ch in letters) else 4
    return "".join(letters) if len(letters) >= needed else run


# --- look-alike letters -----------------------------------------------------------------------

_NO_LETTERS, _LATIN, _ALL_LOOKALIKE, _OTHER = range(4)


@lru_cache(maxsize=4096)
def _is_latin(ch: str) -> bool:
    return ch.isascii() or ch in _LATIN_LOOKALIKES or unicodedata.name(ch, "").startswith("LATIN")


def _word_kind(word: str) -> int:
    if word.isascii():
        return _LATIN if not word.isdigit() and any(ch.isalpha() for ch in word) else _NO_LETTERS
    has_latin = has_letter = False
    for ch in word:
        if not ch.isalpha():
            continue
        has_letter = True
        if _is_latin(ch):
            has_latin = True
        elif ch not in _FOREIGN_LOOKALIKES:
            return _OTHER
    if not has_letter:
        return _NO_LETTERS
    return _LATIN if has_latin else _ALL_LOOKALIKE


def _fold_lookalikes(text: str) -> str:
    """Look-alikes inside otherwise Latin words, and words made only of them between Latin words."""
    words = list(_WORD.finditer(text))
    kinds = [_word_kind(m.group(0)) for m in words]
    fold = [k == _LATIN for k in kinds]
    i, n = 0, len(words)
    while i < n:
        if kinds[i] != _ALL_LOOKALIKE:
            i += 1
            continue
        j = i
        while j < n and kinds[j] in (_ALL_LOOKALIKE, _NO_LETTERS):
            j += 1
        before = next((kinds[k] for k in range(i - 1, -1, -1) if kinds[k] != _NO_LETTERS), None)
        after = kinds[j] if j < n else None
        sides = [k for k in (before, after) if k is not None]
        if sides and all(k == _LATIN for k in sides):
            for k in range(i, j):
                fold[k] = True
        i = j
    parts, last = [], 0
    for m, do in zip(words, fold):
        word = m.group(0)
        if do and not word.isascii():
            parts.append(text[last:m.start()])
            parts.append(word.translate(_HOMOGLYPHS))
            last = m.end()
    parts.append(text[last:])
    return "".join(parts)


# --- leetspeak --------------------------------------------------------------------------------

_NEAR = 300  # characters: how close a plain leetspeak word makes a word with only a leading digit leetspeak too


def _unleet_text(text: str) -> str:
    """Leetspeak decoded. A word whose only leet character is a leading digit ("7aken", but also
    "4chan", "7plus") is decoded only near another word that is unmistakably leetspeak."""
    matches = list(_LEET_TOKEN.finditer(text))
    if not matches:
        return text
    decoded = [_unleet(m.group(0), loose=False) for m in matches]
    anchors = [m.start() for m, d in zip(matches, decoded) if d != m.group(0)]
    parts, last = [], 0
    for m, d in zip(matches, decoded):
        if d == m.group(0) and anchors:
            k = bisect.bisect_left(anchors, m.start())
            near = (k < len(anchors) and anchors[k] - m.start() <= _NEAR) or (k and m.start() - anchors[k - 1] <= _NEAR)
            if near:
                d = _unleet(m.group(0), loose=True)
        if d != m.group(0):
            parts.append(text[last:m.start()])
            parts.append(d)
            last = m.end()
    parts.append(text[last:])
    return "".join(parts)


def _unleet(token: str, loose: bool) -> str:
    if token[0] == "@" and not (loose and len(token) > 3 and token[1:3].islower()):
        return token  # a handle, unless leetspeak is near: "@bout"
    if token[0] == "!" and not (len(token) > 1 and token[1].islower()):
        return token  # "!!!", "!@#": punctuation ("!njured" is a word)
    core = token.rstrip("!")  # a final "!" is punctuation
    decoded = _decode_leet(core, loose) if core else None
    return token if decoded is None else decoded + token[len(core):]


def _decode_leet(core: str, loose: bool) -> str | None:
    """``core`` with leetspeak decoded, or None when its shape is not that of an obfuscated word."""
    if any(ch in "2689" for ch in core) or core[-1].isdigit() or core[-1] in "@$":
        return None  # 5G, B2B, Win10, MP3, H1N1, Lapsus$
    if "$" in core and _PRICE.search(core):  # a price: A$5bn, US$3m
        return None
    letter_runs = _LETTER_RUN.findall(core)
    letters = "".join(letter_runs)
    if len(letters) < 2 or _CODE_PLURAL.fullmatch(core) or _HEX.fullmatch(core):
        return None
    upper = letters.isupper()
    if upper and len(letters) < 3:  # 3D, X5M, MH370
        return None
    if not (upper or letters.islower() or (core[0].isupper() and letters[1:].islower() and len(letters) >= 3)):
        return None  # HbA1c, iOS, US$
    if core[0].isdigit() and all(g.lower() in _UNITS for g in letter_runs):  # 10am, 1h30m, 4x4s, 3rd
        return None
    runs = list(_LEET_RUN.finditer(core))
    if len(runs) == 1 and runs[0].group(0) == "@":
        start, end = runs[0].span()
        if start >= 4 and len(core) - end >= 3:  # a payment address: relief@sbi
            return None
    for run in runs:
        start, end = run.span()
        leet = run.group(0)
        if sum(ch.isdigit() for ch in leet) > 2:
            return None
        if 0 < start and end < len(core):  # inside the word
            if "|" in leet or "@" in leet:
                left = len(_LETTER_RUN.findall(core[:start])[-1])
                right = len(_LETTER_RUN.findall(core[end:])[0])
                if left >= 4 and right >= 4:  # "news|sport", "home@work": punctuation between words
                    return None
        elif start == 0:  # "$hot", "|eaving", "!njured", "5h0t", "57ay1ng"
            if len(leet) > 2 or not core[end].islower():
                return None  # $TSLA, $KOALA, 4K, 10am
            if len(runs) == 1 and any(ch.isdigit() for ch in leet) and not any(ch in "@!|" for ch in leet):
                # 4chan, 7plus, 4ever: leading digits alone mostly make a name, unless leetspeak is near
                # ("7aken", "57aying"); "5|eeping" is leetspeak anywhere
                if not loose or len(letter_runs[0]) < 3:
                    return None
        elif set(leet) != {"|"} or not core[start - 1].islower():
            return None  # only "ki||" may end in leet characters
    out = []
    for i, ch in enumerate(core):
        if ch not in _LEET_MAP:
            out.append(ch)
            continue
        plain = _LEET_MAP[ch]
        if ch == "1":
            prev = core[i - 1] if i else ""
            nxt = core[i + 1] if i + 1 < len(core) else ""
            if (
                prev == "1" or nxt == "1"  # "ki11ed"
                or (i == 1 and prev in "bcfgpsBCFGPS" and nxt in "aouAOU")  # "b1ood", "f1ag", "s1aughter"
            ):
                plain = "l"
        out.append(plain.upper() if upper else plain)
    return "".join(out)
