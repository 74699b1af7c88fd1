"""Near-duplicate identity: the id an article's alerts are keyed on, shared by the
republications of one story.
"""

from __future__ import annotations

import time

from . import dedup
from .models import Article
from .runtime import Runtime

# Texts shorter than this are too thin to call two stories the same.
MIN_WORDS_FOR_FINGERPRINT = 40
# 64-bit SimHash: bits differ with probability angle/pi between the shingle vectors, so
# <= 10 bits means a cosine of about 0.85+ (a republished wire story with trimmings);
# unrelated articles, even on the same topic, sit around 25-32 bits apart.
NEAR_DUPLICATE_BITS = 10


def near_duplicate_identity(rt: Runtime, article: Article) -> tuple[str, str | None]:
    """The id alerts are keyed on: this article's, or the earlier near-identical story's.

    Returns (identity, outlet of the original when this is a republication). Callers
    hold the "fingerprints" lock, so look-up and insert are one step across workers.
    """
    words = len(article.text.split())
    if words < MIN_WORDS_FOR_FINGERPRINT:
        return article.id, None
    fingerprint = dedup.text_fingerprint(article.text)
    now = time.time()
    since = now - rt.config.settings.dedup_window
    for other_id, other_fingerprint, outlet in rt.store.fingerprints_since(since):
        if other_id == article.id:
            return article.id, None
        if dedup.hamming(fingerprint, other_fingerprint) <= NEAR_DUPLICATE_BITS:
            return other_id, outlet
    rt.store.add_fingerprint(article.id, fingerprint, outlet_name(article), now)
    return article.id, None


def outlet_name(article: Article) -> str:
    return article.source.name or article.source.domain or article.source.id
