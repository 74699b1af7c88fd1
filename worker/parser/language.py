"""Language detection for pages that do not declare one: frequent function words.

Enough to tell apart the languages of the sources we watch; a declared
language always wins over this guess.
"""

from __future__ import annotations

import re

_STOPWORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "id": "yang dan di ini itu dengan untuk dari dalam tidak akan pada juga ke karena "
              "adalah oleh tersebut bisa ada mereka kami sudah telah saat",
        "en": "the and of to in is that for it was on with as by at from this be are have "
              "has said were which",
        "de": "der die und das ist nicht mit sich des auf für ein eine dem den von zu wird",
        "fr": "le la les et des est une pour que dans qui sur du pas au par avec",
        "es": "el la los las que de y en un una por con para es del se no al",
        "pt": "o os as que de e em um uma para com não do da por se mais foi",
        "it": "il lo gli che di e è un una per con non del della sono al si",
        "nl": "de het een en van is dat op te zijn met voor niet aan er",
    }.items()
}
_WORD = re.compile(r"[^\W\d_]+")


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the most likely language, or None when too little text."""
    words = [w.lower() for w in _WORD.findall(text[:5000])]
    if len(words) < 20:
        return None
    scores = {lang: sum(1 for w in words if w in stop) for lang, stop in _STOPWORDS.items()}
    best = max(scores, key=scores.__getitem__)
    return best if scores[best] >= 0.05 * len(words) else None
