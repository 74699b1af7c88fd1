"""Text normalisation shared by queries and articles.

Queries and articles go through the *same* functions, so whatever folding is
done here can never make a query miss its own spelling; it only decides which
spellings count as the same word.

Rules, in order, per word:

1. Words are runs of letters, digits and combining marks. Everything else
   (spaces, punctuation, hyphens, dashes, apostrophes) separates words, so
   ``Nagorno-Karabakh``, ``Nagorno–Karabakh`` and ``Nagorno Karabakh`` are the
   same two words and ``l'Arménie`` is ``l`` + ``armenie``. Han and kana
   characters are one word each (those scripts do not separate words by
   spaces), so a query written in them becomes a phrase of characters.
2. Invisible in-word characters (soft hyphen, zero-width joiners, Armenian
   emphasis/question/exclamation marks written *over* a word) are removed
   instead of splitting the word: ``Ինչո՞ւ`` is one word.
3. NFKC (full-width and compatibility forms: ``ＡＲＭＥＮＩＡ`` = ``armenia``,
   the Armenian ligature ``և`` = ``եւ``), then Unicode case folding.
4. Accents are folded only where they are optional in ordinary writing: marks
   on Latin and Greek letters (``Azerbaïdjan`` = ``azerbaidjan``, ``Dağlıq`` =
   ``dagliq``), Hebrew points, Arabic short vowels/tatweel and hamza seats (so
   ``أذربيجان`` = ``اذربيجان``), Cyrillic stress marks and ``ё`` -> ``е``.
   Marks that make a different letter elsewhere are kept: Cyrillic ``й`` is not
   ``и``, and Indic vowel signs are never dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache
from itertools import accumulate
from typing import NamedTuple

# Characters that live inside a word but carry no meaning for matching.
_IGNORABLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff\u055b\u055c\u055e\u055f\u0640"

# Scripts whose characters are written without spaces: one character = one word.
_CJK_BMP = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK = _CJK_BMP + "\U00020000-\U0002ffff"


def _ranges(predicate: Callable[[str], bool], codepoints: Iterable[int]) -> str:
    """Regex class body for the code points where predicate holds."""
    ranges: list[tuple[int, int]] = []
    for cp in codepoints:
        if predicate(chr(cp)):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch)[0] == "M"


# Python's ``\w`` leaves combining marks out, which would cut ``café`` written
# in decomposed form, or any Indic word, in pieces: marks are added back.
_BMP_MARKS = _ranges(_is_mark, range(0x10000))
_ALL_MARKS = _BMP_MARKS + _ranges(_is_mark, list(range(0x10000, 0x20000)) + list(
    range(0xE0100, 0xE01F0)))

_WORD_RE = re.compile(rf"(?:[^\W_{_CJK}]+|[{_ALL_MARKS}{_IGNORABLE}]+)+|[{_CJK}]")
# Most text has no marks, joiners, CJK or astral characters: then the plain
# (several times faster) ``[^\W_]+`` finds exactly the same words. The
# BMP-only class keeps this check fast; any astral character takes the slow path.
_NEEDS_FULL_RE = re.compile(rf"[{_BMP_MARKS}{_IGNORABLE}{_CJK_BMP}\U00010000-\U0010ffff]")
_PLAIN_WORD_RE = re.compile(r"[^\W_]+")
_WORD_SPLIT_RE = re.compile(f"({_WORD_RE.pattern})")
_PLAIN_SPLIT_RE = re.compile(f"({_PLAIN_WORD_RE.pattern})")
_STRIP_IGNORABLE = str.maketrans("", "", _IGNORABLE)

# Letters that do not decompose but that writers swap for a plain letter.
_LETTER_FOLD = str.maketrans(
    {
        "ı": "i", "ł": "l", "đ": "d", "ð": "d", "ø": "o", "ħ": "h", "ŧ": "t",
        "æ": "ae", "œ": "oe", "þ": "th", "ё": "е",
        "ى": "ي", "ة": "ه", "ی": "ي", "ک": "ك",
    }
)


def _drops_marks(base: str) -> bool:
    """True when combining marks on this base letter are optional accents."""
    cp = ord(base)
    return (
        cp < 0x0250  # Basic Latin .. Latin Extended-B
        or 0x0370 <= cp <= 0x03FF  # Greek
        or 0x0590 <= cp <= 0x05FF  # Hebrew (points)
        or 0x0600 <= cp <= 0x06FF  # Arabic (harakat, hamza seats)
        or 0x1E00 <= cp <= 0x1FFF  # Latin Extended Additional, Greek Extended
        or 0x2C60 <= cp <= 0x2C7F
        or 0xA720 <= cp <= 0xA7FF
    )


# Cyrillic keeps its letter-making marks (breve of й, diaeresis of ї) and
# loses only the stress accents learners' texts and dictionaries add.
_CYRILLIC_STRESS = {"\u0300", "\u0301"}


def _fold_marks(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    out: list[str] = []
    base = ""
    for ch in decomposed:
        if unicodedata.combining(ch) or unicodedata.category(ch) == "Mn":
            if base and _drops_marks(base):
                continue
            if base and 0x0400 <= ord(base) <= 0x04FF and ch in _CYRILLIC_STRESS:
                continue
        else:
            base = ch
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


@lru_cache(maxsize=100_000)
def normalize_word(raw: str) -> tuple[str, ...]:
    """One written word -> its normalised form(s).

    Usually one form; several when compatibility folding splits it (``½`` ->
    ``1``, ``2``), none when nothing word-like is left.
    """
    if raw.isascii() and raw.isalnum():  # fast path: nothing to fold but case
        return (raw.lower(),)
    text = raw.translate(_STRIP_IGNORABLE)
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _fold_marks(text).translate(_LETTER_FOLD)
    if "եւ" in text:  # classical Երեւան = reformed Երևան (NFKC եւ) = ԵՐԵՎԱՆ
        text = text.replace("եւ", "եվ")
    if text.isalnum() and not _NEEDS_FULL_RE.search(text):  # still one clean word
        return (text,)
    # NFKC can introduce spaces, punctuation or CJK (ligatures, fractions, ㍻).
    return tuple(m.group() for m in _WORD_RE.finditer(text))


class Token(NamedTuple):
    """A normalised word and where it was written in the original text."""

    norm: str
    start: int  # character offsets into the original text
    end: int


def scan_words(text: str) -> tuple[list[str], list[int], list[int]]:
    """Normalised words of text with their original [start, end) offsets.

    The hot path of matching: built from C-level pieces (split, accumulate,
    a cached map) because a Python loop per word would cost more than the
    Aho-Corasick scan itself.
    """
    pattern = _WORD_SPLIT_RE if _NEEDS_FULL_RE.search(text) else _PLAIN_SPLIT_RE
    parts = pattern.split(text)  # [gap, word, gap, word, ..., gap]
    offsets = list(accumulate(map(len, parts), initial=0))
    words = parts[1::2]
    starts = offsets[1:-1:2]
    ends = offsets[2::2]
    forms = list(map(normalize_word, words))
    # The usual case: one form per word. The sum alone is not enough: a word folding to
    # two forms ("½") and one folding to none (a lone word joiner) add up to two words.
    if sum(map(len, forms)) == len(forms) and all(forms):
        return [f[0] for f in forms], starts, ends
    norms: list[str] = []
    out_starts: list[int] = []
    out_ends: list[int] = []
    for form, start, end in zip(forms, starts, ends, strict=True):
        for word in form:
            norms.append(word)
            out_starts.append(start)
            out_ends.append(end)
    return norms, out_starts, out_ends


def tokenize(text: str) -> list[Token]:
    """Split text into normalised words, keeping their original offsets."""
    return [Token(*t) for t in zip(*scan_words(text), strict=True)]


def normalize_words(text: str) -> list[str]:
    """Just the normalised words of a text (queries use this)."""
    if text.isalnum() and not _NEEDS_FULL_RE.search(text):  # one plain word: the usual term
        return list(normalize_word(text))
    return scan_words(text)[0]


def is_word_char(ch: str) -> bool:
    return bool(_WORD_RE.fullmatch(ch))

