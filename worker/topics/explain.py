"""Explain one topic against one article (``newswatch match --topic ID FILE``).

Renders ``TopicIndex.decide``: the verdict is the matcher's own, and each
clause of the query shows the value the compiled matcher gives it and where
its words were found, so a user can see why an article did or did not alert.
Nothing here evaluates a query: there is one semantics, the index's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..models import Article
from .query import And, Near, Not, Or, Term

if TYPE_CHECKING:
    from .index import Clause, Scan, TopicIndex

MAX_PLACES = 5


def explain(index: TopicIndex, topic_id: str, article: Article) -> str:
    """Multi-line explanation; raises KeyError for an unknown topic id."""
    decision = index.decide(topic_id, article)
    compiled, scan, scored = decision.compiled, decision.scan, decision.scored
    topic = compiled.topic
    lines = [
        f"topic {topic.id} ({topic.name}): {'MATCH' if decision.matched else 'NO MATCH'}",
        f"query: {topic.query}",
        f"article: {article.title or '(no title)'}",
        f"  language {article.language or 'unknown'}, source {article.source.id or 'unknown'}, "
        f"{len(scan.norms)} words ({scan.title_words} in the title)",
    ]
    if compiled.languages:
        lines.append(f"filter languages {sorted(compiled.languages)}: "
                     f"{'ok' if decision.language_ok else 'FAILS'}"
                     + ("" if article.language else " (article language unknown: passes)"))
    if compiled.sources:
        lines.append(f"filter sources {sorted(compiled.sources)}: {'ok' if decision.source_ok else 'FAILS'}")
    lines.append("clauses:")
    _render(decision.clauses, scan, 1, lines)
    if scored is not None:
        score_ok = scored.score >= topic.min_score
        lines.append(f"score {scored.score} (min_score {topic.min_score}): "
                     f"{'ok' if score_ok else 'TOO LOW'}")
        lines.append("terms: " + ", ".join(scored.terms))
        for snippet in scored.snippets:
            lines.append(f"  > {snippet}")
    return "\n".join(lines)


def _mark(value: bool) -> str:
    return "[yes]" if value else "[no] "


def _where(scan: Scan, spans: list[tuple[int, int]]) -> str:
    places = []
    for first, last in spans[:MAX_PLACES]:
        part = "title" if first < scan.title_words else "body"
        written = " ".join(scan.written(first, last).split())
        if len(written) > 60:  # a NEAR pair can cover many words
            written = written[:28] + " … " + written[-28:]
        places.append(f'"{written}" ({part}, word {first + 1})')
    more = f" and {len(spans) - MAX_PLACES} more" if len(spans) > MAX_PLACES else ""
    return ", ".join(places) + more


def _render(clause: Clause, scan: Scan, depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    node = clause.node
    if isinstance(node, Term):
        detail = f"found {len(clause.spans)}x: {_where(scan, clause.spans)}" if clause.spans else "not found"
        if clause.body_only:
            detail = "only in the body (title: needs the title)"
        lines.append(f"{pad}{_mark(clause.holds)} {node.text} - {detail}")
        return
    if isinstance(node, Near):
        detail = (f"within {node.distance} words at {_where(scan, clause.spans)}" if clause.holds
                  else f"no pair within {node.distance} words")
        lines.append(f"{pad}{_mark(clause.holds)} NEAR/{node.distance} - {detail}")
    elif isinstance(node, Not):
        lines.append(f"{pad}{_mark(clause.holds)} NOT (true when the clause below is absent)")
    else:
        name = "AND (all of)" if isinstance(node, And) else "OR (any of)"
        lines.append(f"{pad}{_mark(clause.holds)} {name}")
    absent: list[str] = []
    for child in clause.children:
        # In an OR, absent terms explain nothing one by one: one summary line
        # keeps a 100-term alternative readable.
        if isinstance(node, Or) and isinstance(child.node, Term) and not child.spans:
            absent.append(child.node.text)
            continue
        _render(child, scan, depth + 1, lines)
    if absent:
        lines.append(f"{pad}  {_mark(False)} not found: {', '.join(absent)}")
