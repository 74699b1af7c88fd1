"""Explain one topic against one article (``newswatch match --topic ID FILE``).

Walks the topic's query tree and shows, for each clause, whether it holds
and where its words were found, so a user can see why an article did or did
not alert.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..models import Article
from .index import (
    build_match,
    evaluate,
    language_ok,
    minimal_spans,
    near_pairs,
    source_ok,
    term_spans,
)
from .query import And, Near, Node, Not, Or, Term

if TYPE_CHECKING:
    from .index import Scan, TopicIndex

MAX_PLACES = 5


def explain(index: TopicIndex, topic_id: str, article: Article) -> str:
    """Multi-line explanation; raises KeyError for an unknown topic id."""
    compiled = index.compiled(topic_id)
    topic = compiled.topic
    scan = index.scan(article)
    holds = evaluate(compiled.program, scan)
    filters_ok = index.passes_filters(compiled, article)
    match = build_match(compiled, scan) if holds else None
    score_ok = match is not None and match.score >= topic.min_score

    verdict = "MATCH" if holds and filters_ok and score_ok else "NO MATCH"
    lines = [
        f"topic {topic.id} ({topic.name}): {verdict}",
        f"query: {topic.query}",
        f"article: {article.title or '(no title)'}",
        f"  language {article.language or 'unknown'}, source {article.source.id or 'unknown'}, "
        f"{len(scan.norms)} words ({scan.title_words} in the title)",
    ]
    if compiled.languages:
        ok = language_ok(compiled, article)
        lines.append(f"filter languages {sorted(compiled.languages)}: {'ok' if ok else 'FAILS'}"
                     + ("" if article.language else " (article language unknown: passes)"))
    if compiled.sources:
        ok = source_ok(compiled, article)
        lines.append(f"filter sources {sorted(compiled.sources)}: {'ok' if ok else 'FAILS'}")
    lines.append("clauses:")
    _walk(compiled.query.root, index, scan, 1, lines, {})
    if match is not None:
        lines.append(f"score {match.score} (min_score {topic.min_score}): "
                     f"{'ok' if score_ok else 'TOO LOW'}")
        lines.append("terms: " + ", ".join(match.terms))
        for snippet in match.snippets:
            lines.append(f"  > {snippet}")
    return "\n".join(lines)


def _mark(value: bool) -> str:
    return "[yes]" if value else "[no] "


Spans = list[tuple[int, int]]


def _spans(node: Node, index: TopicIndex, scan: Scan, cache: dict[int, Spans]) -> Spans:
    # The walk asks again at every NEAR of a chain: remember answers per node
    # so a long chain costs linear, not quadratic, time.
    key = id(node)
    if key in cache:
        return cache[key]
    if isinstance(node, Term):
        found = term_spans(index.atom_of(node), len(node.words), node.title, scan)
    elif isinstance(node, Or):
        found = minimal_spans([s for child in node.children for s in _spans(child, index, scan, cache)])
    elif isinstance(node, Near):
        found = near_pairs(_spans(node.left, index, scan, cache), _spans(node.right, index, scan, cache),
                           node.distance)
    else:
        raise TypeError(node)
    cache[key] = found
    return found


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


def _walk(
    node: Node, index: TopicIndex, scan: Scan, depth: int, lines: list[str],
    cache: dict[int, Spans],
) -> bool:
    pad = "  " * depth
    if isinstance(node, Term):
        spans = _spans(node, index, scan, cache)
        detail = f"found {len(spans)}x: {_where(scan, spans)}" if spans else "not found"
        if node.title and not spans and index.atom_of(node) in scan.hits:
            detail = "only in the body (title: needs the title)"
        lines.append(f"{pad}{_mark(bool(spans))} {node.text} - {detail}")
        return bool(spans)
    if isinstance(node, Near):
        spans = _spans(node, index, scan, cache)
        value = bool(spans)
        detail = f"within {node.distance} words at {_where(scan, spans)}" if value else (
            f"no pair within {node.distance} words")
        lines.append(f"{pad}{_mark(value)} NEAR/{node.distance} - {detail}")
        _walk(node.left, index, scan, depth + 1, lines, cache)
        _walk(node.right, index, scan, depth + 1, lines, cache)
        return value
    if isinstance(node, Not):
        at = len(lines)
        lines.append("")
        value = not _walk(node.child, index, scan, depth + 1, lines, cache)
        lines[at] = f"{pad}{_mark(value)} NOT (true when the clause below is absent)"
        return value
    at = len(lines)
    lines.append("")
    values = []
    absent: list[str] = []
    for child in node.children:
        # In an OR, absent terms explain nothing one by one: one summary line
        # keeps a 100-term alternative readable.
        if isinstance(node, Or) and isinstance(child, Term) and not _spans(
                child, index, scan, cache):
            absent.append(child.text)
            values.append(False)
            continue
        values.append(_walk(child, index, scan, depth + 1, lines, cache))
    if absent:
        lines.append(f"{pad}  {_mark(False)} not found: {', '.join(absent)}")
    value = all(values) if isinstance(node, And) else any(values)
    name = "AND (all of)" if isinstance(node, And) else "OR (any of)"
    lines[at] = f"{pad}{_mark(value)} {name}"
    return value
