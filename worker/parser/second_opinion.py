"""A second extractor for the pages where ours looks wrong: trafilatura.

trafilatura is slower than our extractor (about half the pages per second) but made
with other rules and its own fallbacks (readability, jusText), so it fails on other
pages than ours. It is only called on the few pages whose body looks implausible
(plausible.py), which keeps the common path fast. Without it installed, or when it
fails, there is simply no second opinion.
"""

from __future__ import annotations

import re
from configparser import ConfigParser
from functools import cache

# Bounds its own work on hostile pages, as our limits do for ours: beyond this many
# elements it gives up (main_text.py does not even ask beyond 15,000).
MAX_TREE_SIZE = 15_000
_LIST_MARK = re.compile(r"^[-*•]\s+")


@cache
def _config() -> ConfigParser:
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "MAX_TREE_SIZE", str(MAX_TREE_SIZE))
    return config


def second_opinion(html: str, url: str) -> list[str] | None:
    """trafilatura's paragraphs of the page (comments excluded), or None."""
    try:
        import trafilatura
    except ImportError:
        return None
    try:
        text = trafilatura.extract(
            html, url=url or None, include_comments=False, include_tables=True, config=_config()
        )
    except Exception:  # noqa: BLE001 - a second opinion must never break parsing
        return None
    if not text:
        return None
    # Its plain-text output: one paragraph a line, list items marked "- ".
    return [line for line in (_LIST_MARK.sub("", raw.strip()) for raw in text.splitlines()) if line]
