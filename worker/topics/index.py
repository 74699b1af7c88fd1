"""All topics compiled into one matcher.

Cost model: one tokenisation and one Aho-Corasick pass per article find every
term of every topic at once; then only the topics owning a term that occurred
are evaluated. Topics without a hit are skipped, which is sound because
``parse_query`` refuses queries that could match with none of their terms
present. So the per-article cost grows with the number of *hits*, not with
the number of topics or terms.

The automaton runs over the article's normalised words joined by single
spaces (``" armenia and azerbaijan "``). Keys are

* ``" word "``          a whole word,
* ``" w1 w2 w3 "``      a phrase (consecutive words),
* ``" w1 pre"``         a prefix (``w1 pre*``): no trailing space,

so word boundaries are exact and every key reports every occurrence,
including ones overlapping other keys. A ``\\x01`` barrier between title and
body stops phrases from running across the two.
"""

from __future__ import annotations

import gc
import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import TypeVar

import ahocorasick

from ..models import Article, Match, Topic
from .normalize import scan_words
from .query import And, Near, Node, Not, Or, Query, QueryError, Term, iter_terms, parse_query

SNIPPET_CHARS = 160
MAX_SNIPPETS = 3
TITLE_WEIGHT = 2.0
BODY_WEIGHT = 1.0
REPEAT_WEIGHT = 0.5  # times log2(occurrences) of a term


class TopicQueryError(QueryError):
    """A topic's query is malformed; names the topic."""

    def __init__(self, topic_id: str, error: QueryError) -> None:
        self.topic_id = topic_id
        super().__init__(error.position, error.expected, error.found)
        self.args = (f"topic {topic_id}: {error}",)


# --------------------------------------------------------------------------- scan


@dataclass(slots=True)
class Scan:
    """What one pass over an article found."""

    full: str  # title + "\n\n" + body: offsets below point into it
    norms: list[str]
    starts: list[int]
    ends: list[int]
    title_words: int  # words [0, title_words) are the title
    title_chars: int
    hits: dict[int, list[int]]  # atom id -> word index of each occurrence
    # Snippet windows by hit offsets: topics matching the same words share them.
    windows: dict[tuple[int, int], tuple[str, int]] = field(default_factory=dict)

    def written(self, first: int, last: int) -> str:
        return self.full[self.starts[first] : self.ends[last]]


def article_text(article: Article) -> tuple[str, str]:
    return article.title or "", article.text or article.summary or ""


# --------------------------------------------------------------------------- compiled topics

Spans = list[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class Clause:
    """One part of a topic's query, valued against one article (see ``TopicIndex.decide``)."""

    node: Node
    holds: bool
    spans: Spans  # (first word, last word) where a term or a NEAR pair was found
    children: tuple[Clause, ...]
    body_only: bool = False  # a title: term that occurs in the body only

@dataclass(frozen=True, slots=True)
class CompiledTopic:
    topic: Topic
    query: Query
    program: Callable[[Scan], bool]
    positive: tuple[tuple[int, int, bool], ...]  # (atom, words, title_only) not under NOT
    languages: frozenset[str]
    sources: frozenset[str]


@dataclass(frozen=True, slots=True)
class Decision:
    """What the matcher weighed for one topic and one article (``TopicIndex.decide``)."""

    compiled: CompiledTopic
    scan: Scan
    query_holds: bool
    language_ok: bool
    source_ok: bool
    scored: Match | None  # score, terms and snippets, whenever the query holds
    verdict: Match | None  # what `match` gives for this topic: None means no alert
    clauses: Clause

    @property
    def matched(self) -> bool:
        return self.verdict is not None


class TopicIndex:
    """Every topic's terms in one automaton. Build with ``compile_topics``."""

    def __init__(self, topics: Iterable[Topic]) -> None:
        self.topics: list[CompiledTopic] = []
        self._by_id: dict[str, int] = {}
        self._atom_ids: dict[tuple[tuple[str, ...], bool], int] = {}
        self._atom_keylen: list[int] = []
        self._atom_topics: list[list[int]] = []
        self._automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        # Building allocates hundreds of thousands of small acyclic objects;
        # the cyclic GC would rescan the whole heap many times over for
        # nothing (it doubled the compile time of 10,000 topics).
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            for topic in topics:
                if topic.id in self._by_id:
                    raise ValueError(f"duplicate topic id {topic.id!r}")
                try:
                    query = parse_query(topic.query, dict(topic.term_lists))
                except QueryError as error:
                    raise TopicQueryError(topic.id, error) from None
                self._add(topic, query)
            if self._atom_keylen:
                self._automaton.make_automaton()
        finally:
            if gc_was_enabled:
                gc.enable()

    # ---------------------------------------------------------------- building

    def _atom(self, term: Term, topic_index: int) -> int:
        atom = self._atom_ids.get(term.key)
        if atom is None:
            atom = len(self._atom_keylen)
            self._atom_ids[term.key] = atom
            key = " " + " ".join(term.words) + ("" if term.prefix else " ")
            self._automaton.add_word(key, atom)
            self._atom_keylen.append(len(key))
            self._atom_topics.append([])
        owners = self._atom_topics[atom]
        if not owners or owners[-1] != topic_index:
            owners.append(topic_index)
        return atom

    def _add(self, topic: Topic, query: Query) -> None:
        index = len(self.topics)
        atoms = {id(t): self._atom(t, index) for t in iter_terms(query.root)}
        program = _compile(query.root, atoms)
        positive = tuple(dict.fromkeys(
            (atoms[id(t)], len(t.words), t.title) for t in _positive_terms(query.root)
        ))
        self.topics.append(CompiledTopic(
            topic, query, program, positive,
            frozenset(lang.lower() for lang in topic.languages),
            frozenset(topic.sources),
        ))
        self._by_id[topic.id] = index

    def atom_of(self, term: Term) -> int:
        return self._atom_ids[term.key]

    def compiled(self, topic_id: str) -> CompiledTopic:
        try:
            return self.topics[self._by_id[topic_id]]
        except KeyError:
            raise KeyError(f"no topic with id {topic_id!r}") from None

    def __len__(self) -> int:
        return len(self.topics)

    @property
    def term_count(self) -> int:
        return len(self._atom_keylen)

    # ---------------------------------------------------------------- matching

    def scan(self, article: Article) -> Scan:
        """Tokenise the article once and find every term of every topic."""
        title, body = article_text(article)
        full = f"{title}\n\n{body}"
        norms, starts, ends = scan_words(full)
        title_words = bisect_left(starts, len(title))
        hits: dict[int, list[int]] = {}
        if not norms or not self._atom_keylen:
            return Scan(full, norms, starts, ends, title_words, len(title), hits)
        title_part = " ".join(norms[:title_words])
        body_part = " ".join(norms[title_words:])
        # "\x01" sits where a word would, so no key can span title and body.
        joined = f" {title_part} \x01 {body_part} " if title_part else f" \x01 {body_part} "
        found = list(self._automaton.iter(joined))
        if not found:  # most articles match no term: skip mapping offsets back to words
            return Scan(full, norms, starts, ends, title_words, len(title), hits)
        lengths = [len(w) + 1 for w in norms]
        # char offset in joined -> word index (zip stops at the last word)
        word_at = dict(zip(accumulate(lengths[:title_words], initial=1), range(title_words),
                           strict=False))
        body_first = len(title_part) + 4 if title_part else 3
        word_at.update(zip(accumulate(lengths[title_words:], initial=body_first),
                           range(title_words, len(norms)), strict=False))
        keylen = self._atom_keylen
        for end, atom in found:
            word = word_at[end - keylen[atom] + 2]
            words = hits.get(atom)
            if words is None:
                hits[atom] = [word]
            else:
                words.append(word)
        return Scan(full, norms, starts, ends, title_words, len(title), hits)

    def candidates(self, scan: Scan) -> list[int]:
        """Indexes of the topics owning at least one term that occurred."""
        if not scan.hits:
            return []
        owners = self._atom_topics
        seen: set[int] = set()
        for atom in scan.hits:
            seen.update(owners[atom])
        return sorted(seen)

    def passes_filters(self, compiled: CompiledTopic, article: Article) -> bool:
        return source_ok(compiled, article) and language_ok(compiled, article)

    def match(self, article: Article, scan: Scan | None = None) -> list[Match]:
        """Every topic this article matches, in configuration order (`scan`: this
        article's, when the caller has it already)."""
        scan = self.scan(article) if scan is None else scan
        matches: list[Match] = []
        for index in self.candidates(scan):
            found = self._match_one(self.topics[index], scan, article)
            if found is not None:
                matches.append(found)
        return matches

    def _match_one(self, compiled: CompiledTopic, scan: Scan, article: Article) -> Match | None:
        # The one rule deciding whether a topic alerts; `match` and `decide` both use it.
        if not self.passes_filters(compiled, article) or not compiled.program(scan):
            return None
        found = build_match(compiled, scan)
        return found if found.score >= compiled.topic.min_score else None

    def decide(self, topic_id: str, article: Article) -> Decision:
        """Everything the matcher weighs for one topic and one article, and its verdict.

        ``verdict`` is the matcher's own (the rule ``match`` applies); the other
        fields say why. KeyError for an unknown topic id.
        """
        compiled = self.compiled(topic_id)
        scan = self.scan(article)
        holds = compiled.program(scan)
        return Decision(
            compiled=compiled,
            scan=scan,
            query_holds=holds,
            language_ok=language_ok(compiled, article),
            source_ok=source_ok(compiled, article),
            scored=build_match(compiled, scan) if holds else None,
            verdict=self._match_one(compiled, scan, article),
            clauses=self._clause(compiled.query.root, self._atoms_of(compiled), scan, {}),
        )

    def _atoms_of(self, compiled: CompiledTopic) -> dict[int, int]:
        return {id(t): self.atom_of(t) for t in iter_terms(compiled.query.root)}

    def _clause(self, node: Node, atoms: dict[int, int], scan: Scan, trace: Trace) -> Clause:
        """One clause and those below it, each valued by its own compiled program.

        The values are what the matcher computes for that part of the query (the
        same `_compile`), not a second reading of the query.
        """
        holds = _compile(node, atoms, trace)(scan)
        spans = _compile_spans(node, atoms, trace)(scan) if isinstance(node, Term | Near) else []
        if isinstance(node, Term):
            children: tuple[Clause, ...] = ()
        elif isinstance(node, Not):
            children = (self._clause(node.child, atoms, scan, trace),)
        elif isinstance(node, Near):
            children = (self._clause(node.left, atoms, scan, trace),
                        self._clause(node.right, atoms, scan, trace))
        else:
            children = tuple(self._clause(c, atoms, scan, trace) for c in node.children)
        body_only = (isinstance(node, Term) and node.title and not spans
                     and atoms[id(node)] in scan.hits)
        return Clause(node, holds, spans, children, bool(body_only))

    def matching_topic_ids(self, article: Article) -> list[str]:
        """Just the ids (skips scoring and snippets; used by benchmarks)."""
        scan = self.scan(article)
        return [
            self.topics[i].topic.id for i in self.candidates(scan)
            if self.topics[i].program(scan)
        ]

    def explain(self, topic_id: str, article: Article) -> str:
        """Multi-line, human-readable account of why a topic (does not) match."""
        from .explain import explain

        return explain(self, topic_id, article)


def source_ok(compiled: CompiledTopic, article: Article) -> bool:
    return not compiled.sources or article.source.id in compiled.sources


def language_ok(compiled: CompiledTopic, article: Article) -> bool:
    """Topic languages match the article's, or its primary subtag (en-GB -> en);
    an article whose language is unknown always passes."""
    if not compiled.languages or not article.language:
        return True
    lang = article.language.lower().replace("_", "-")
    return lang in compiled.languages or lang.split("-")[0] in compiled.languages


def compile_topics(topics: Iterable[Topic]) -> TopicIndex:
    """Compile topics into one index; raises TopicQueryError for a bad query."""
    return TopicIndex(topics)


# --------------------------------------------------------------------------- evaluation


Predicate = Callable[[Scan], bool]
T = TypeVar("T")


# A trace (``TopicIndex.decide``) keeps the program of every clause, keyed by kind and
# node, each remembering its one result: explaining a long NEAR chain costs what
# matching it does. A trace belongs to one scan. Matching itself passes none.
Trace = dict[tuple[str, int], Callable[[Scan], object]]


def _through(trace: Trace, kind: str, node: Node,
             build: Callable[[Trace], Callable[[Scan], T]]) -> Callable[[Scan], T]:
    """The clause's one program in ``trace``, built on first use, remembering its result."""
    key = (kind, id(node))
    if key not in trace:
        program = build(trace)
        result: list[T] = []

        def run(scan: Scan) -> T:
            if not result:
                result.append(program(scan))
            return result[0]

        trace[key] = run
    # The trace holds programs of every result type; the one under this key was built by
    # `build`, so it returns T (a dict cannot say that per key).
    return trace[key]  # type: ignore[return-value]


def _compile(node: Node, atoms: dict[int, int], trace: Trace | None = None) -> Predicate:
    """The query as nested closures: calling one is far cheaper than walking
    a tree and dispatching on node types, and only candidate topics pay it."""
    if trace is None:  # matching: no trace, nothing between the closures
        return _compile_node(node, atoms, None)
    return _through(trace, "holds", node, lambda t: _compile_node(node, atoms, t))


def _compile_node(node: Node, atoms: dict[int, int], trace: Trace | None) -> Predicate:
    if isinstance(node, Term):
        atom = atoms[id(node)]
        if not node.title:
            return lambda scan: atom in scan.hits
        words, title = len(node.words), node.title
        return lambda scan: bool(term_spans(atom, words, title, scan))
    if isinstance(node, Not):
        inner = _compile(node.child, atoms, trace)
        return lambda scan: not inner(scan)
    if isinstance(node, Near):
        left, right = _compile_spans(node.left, atoms, trace), _compile_spans(node.right, atoms, trace)
        distance = node.distance
        return lambda scan: any_near(left(scan), right(scan), distance)
    parts = [_compile(c, atoms, trace) for c in node.children]
    if isinstance(node, And):
        if len(parts) == 2:
            first, second = parts
            return lambda scan: first(scan) and second(scan)
        return lambda scan: all(part(scan) for part in parts)
    if len(parts) == 2:
        first, second = parts
        return lambda scan: first(scan) or second(scan)
    return lambda scan: any(part(scan) for part in parts)


def _compile_spans(node: Node, atoms: dict[int, int], trace: Trace | None = None) -> Callable[[Scan], Spans]:
    """For NEAR operands: a function giving the (minimal) spans of matches."""
    if trace is None:
        return _compile_spans_node(node, atoms, None)
    return _through(trace, "spans", node, lambda t: _compile_spans_node(node, atoms, t))


def _compile_spans_node(node: Node, atoms: dict[int, int], trace: Trace | None) -> Callable[[Scan], Spans]:
    if isinstance(node, Term):
        atom, words, title = atoms[id(node)], len(node.words), node.title
        return lambda scan: term_spans(atom, words, title, scan)
    if isinstance(node, Near):
        left, right = _compile_spans(node.left, atoms, trace), _compile_spans(node.right, atoms, trace)
        distance = node.distance
        return lambda scan: near_pairs(left(scan), right(scan), distance)
    assert isinstance(node, Or)  # the parser allows nothing else under NEAR
    parts = [_compile_spans(c, atoms, trace) for c in node.children]
    return lambda scan: minimal_spans([span for part in parts for span in part(scan)])


def _positive_terms(node: Node) -> list[Term]:
    """Terms not under an odd number of NOTs (what a match reports)."""
    out: list[Term] = []
    stack: list[tuple[Node, bool]] = [(node, True)]
    while stack:
        current, positive = stack.pop()
        if isinstance(current, Term):
            if positive:
                out.append(current)
        elif isinstance(current, Not):
            stack.append((current.child, not positive))
        elif isinstance(current, Near):
            stack.extend(((current.right, positive), (current.left, positive)))
        else:
            stack.extend((c, positive) for c in reversed(current.children))
    return out


def term_spans(atom: int, words: int, title_only: bool, scan: Scan) -> list[tuple[int, int]]:
    """(first word, last word) of each occurrence of a term."""
    found = scan.hits.get(atom)
    if not found:
        return []
    last = words - 1
    if title_only:
        return [(w, w + last) for w in found if w + last < scan.title_words]
    return [(w, w + last) for w in found]


def near_pairs(
    left: list[tuple[int, int]], right: list[tuple[int, int]], distance: int
) -> list[tuple[int, int]]:
    """Spans covering each left/right pair at most ``distance`` words apart.

    Both inputs are minimal spans (see ``minimal_spans``), so sorted by start
    *and* by end: the partners of a left span form one contiguous run of
    ``right``, found by bisection. Cost: O(len(left) * (log + partners)).
    """
    if not left or not right:
        return []
    starts = [s for s, _ in right]
    ends = [e for _, e in right]
    out = []
    for ls, le in left:
        lo = bisect_left(ends, ls - distance)
        hi = bisect_right(starts, le + distance)
        for rs, re_ in right[lo:hi]:
            out.append((min(ls, rs), max(le, re_)))
    return minimal_spans(out)


def any_near(left: list[tuple[int, int]], right: list[tuple[int, int]], distance: int) -> bool:
    """Whether some left/right pair is at most ``distance`` words apart."""
    if not left or not right:
        return False
    starts = [s for s, _ in right]
    ends = [e for _, e in right]
    return any(bisect_left(ends, ls - distance) < bisect_right(starts, le + distance) for ls, le in left)


def minimal_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Drop spans that contain another one.

    A span containing another is never closer to anything than the one it
    contains, so it cannot change a NEAR result; dropping it keeps chained
    NEARs from multiplying pairs (at most one span per start word remains).
    """
    if len(spans) < 2:
        return spans
    out = []
    best_start = -1
    for start, end in sorted(spans, key=lambda s: (s[1], -s[0])):
        if start > best_start:
            out.append((start, end))
            best_start = start
    return out


def evaluate(program: Predicate, scan: Scan) -> bool:
    return program(scan)


# --------------------------------------------------------------------------- reporting


def build_match(compiled: CompiledTopic, scan: Scan) -> Match:
    """Score, terms as written and snippets for a topic known to match.

    score = sum over distinct positive terms that occur of
            (2.0 if it occurs in the title else 1.0) + 0.5 * log2(occurrences)
    """
    score = 0.0
    occurrences: list[tuple[int, int]] = []  # (first word, last word)
    for atom, words, title_only in compiled.positive:
        spans = term_spans(atom, words, title_only, scan)
        if not spans:
            continue
        in_title = any(start < scan.title_words for start, _ in spans)
        score += (TITLE_WEIGHT if in_title else BODY_WEIGHT) + REPEAT_WEIGHT * math.log2(
            len(spans))
        occurrences.extend(spans)
    occurrences.sort()
    terms: dict[str, str] = {}  # normalised -> first form as written
    for first, last in occurrences:
        key = " ".join(scan.norms[first : last + 1])
        if key not in terms:
            terms[key] = scan.written(first, last)
    return Match(
        topic_id=compiled.topic.id,
        score=round(score, 2),
        terms=tuple(terms.values()),
        snippets=tuple(snippets(scan, occurrences)),
    )


def snippets(scan: Scan, occurrences: list[tuple[int, int]]) -> list[str]:
    """Up to three plain-text windows of ~160 chars around hits, body first."""
    body = [o for o in occurrences if o[0] >= scan.title_words]
    chosen = body or [o for o in occurrences if o[0] < scan.title_words]
    out: list[str] = []
    covered_until = -1
    for first, last in chosen:
        hit_start, hit_end = scan.starts[first], scan.ends[last]
        if hit_start < covered_until:
            continue  # already shown in the previous snippet
        region = (scan.title_chars + 2, len(scan.full)) if first >= scan.title_words else (0, scan.title_chars)
        cached = scan.windows.get((hit_start, hit_end))
        if cached is None:
            cached = scan.windows[hit_start, hit_end] = _window(scan.full, hit_start, hit_end,
                                                                region)
        text, window_end = cached
        out.append(text)
        covered_until = window_end
        if len(out) == MAX_SNIPPETS:
            break
    return out


def _window(full: str, hit_start: int, hit_end: int, region: tuple[int, int]) -> tuple[str, int]:
    low, high = region
    room = max(SNIPPET_CHARS - (hit_end - hit_start), 0)
    start = max(low, hit_start - room // 2)
    end = min(high, hit_end + room - (hit_start - start))
    start = max(low, min(start, end - SNIPPET_CHARS))
    # Cut on word boundaries: move inward to the nearest whitespace.
    if start > low and not full[start - 1].isspace():
        space = _next_space(full, start, hit_start)
        start = space + 1 if space is not None else start
    if end < high and not full[end].isspace():
        space = full.rfind(" ", hit_end, end)
        for other in ("\n", "\t"):
            space = max(space, full.rfind(other, hit_end, end))
        if space > hit_end:
            end = space
    text = " ".join(full[start:end].split())
    if start > low:
        text = "…" + text
    if end < high:
        text += "…"
    return text, end


def _next_space(text: str, start: int, limit: int) -> int | None:
    for i in range(start, limit):
        if text[i].isspace():
            return i
    return None
