"""The topic query language: text -> AST.

Grammar (lowest to highest precedence)::

    query   := or
    or      := and ("OR" and)*
    and     := near (["AND"] near)*          # a bare space between terms is AND
    near    := unary ("NEAR/" n unary)*
    unary   := "NOT"* primary
    primary := "(" or ")" | ["title:"] term | ["title:"] "@" name
    term    := word | word* | "a phrase" | "a phrase ending in a prefix*"

``@name`` stands for ``(t1 OR t2 OR …)``, the named term list ``name`` of the
configuration's ``terms:`` (already flattened there: lists naming lists are
resolved, cycles and unknown names refused with their file and line). Each
item of a list is one term: a word, ``prefix*``, or a phrase (``"bahan baku"``,
or simply several words).

Decisions the SPEC leaves open:

* Operators are the upper-case words ``AND``, ``OR``, ``NOT``, ``NEAR/n``.
  Lower-case ``and``/``or``/``not`` are ordinary search words; to search for the
  upper-case word itself, quote it: ``"AND"``. A bare upper-case ``NEAR``
  (no ``/n``) is an error rather than a search word: it is surely a typo.
* A term that normalises to several words (``nagorno-karabakh``,
  ``a.b[c]``) is a phrase of those words, so hyphens and spaces are the same.
* ``*`` is only a trailing prefix marker (``armeni*``); anywhere else in a
  word it is an error.
* ``NEAR/n`` takes terms, phrases, prefixes, ``OR`` groups of those or other
  ``NEAR`` groups; "within n words" means the two matches are at most n word
  positions apart (``a NEAR/1 b`` = adjacent, either order).
* A query must need at least one of its terms to be present: one that would
  match an article containing none of its terms (``NOT sport``,
  ``a OR NOT b``) is refused. This is also what lets the index skip every
  topic none of whose terms occur in an article.
* Parentheses nest at most ``MAX_DEPTH`` deep; deeper input is refused with a
  clear error rather than risking the interpreter's recursion limit. Chains of
  ``NOT``/``OR``/``AND`` of any length are parsed by loops, not recursion.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from ..errors import NewswatchError
from .normalize import is_word_char, normalize_words

MAX_DEPTH = 100  # parentheses
MAX_TREE_DEPTH = 200  # operators inside operators (NEAR chains deepen the tree too)
MAX_NEAR = 1000
LIST_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")  # what may follow '@'

TermLists = Mapping[str, tuple[str, ...]]  # list name -> its items (terms), flattened


class QueryError(NewswatchError, ValueError):
    """A malformed query; ``position`` is a 0-based character offset."""

    def __init__(self, position: int, expected: str, found: str | None = None) -> None:
        self.position = position
        self.expected = expected
        self.found = found
        message = f"position {position}: expected {expected}"
        if found is not None:
            message += f", found {found}"
        super().__init__(message)


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class Term:
    """A word, prefix or phrase. ``words`` are normalised; the last one is a
    prefix when ``prefix`` is true."""

    text: str  # as written in the query (for explanations)
    words: tuple[str, ...]
    prefix: bool = False
    title: bool = False
    position: int = 0

    @property
    def key(self) -> tuple[tuple[str, ...], bool]:
        """What the index looks up: title-only and plain share one entry."""
        return (self.words, self.prefix)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Not:
    child: Node

    def __str__(self) -> str:
        return f"NOT {_wrap(self.child)}"


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return " AND ".join(_wrap(c) for c in self.children)


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return " OR ".join(_wrap(c) for c in self.children)


@dataclass(frozen=True, slots=True)
class Near:
    left: Node
    right: Node
    distance: int

    def __str__(self) -> str:
        return f"{_wrap(self.left)} NEAR/{self.distance} {_wrap(self.right)}"


Node = Term | Not | And | Or | Near


def _wrap(node: Node) -> str:
    return str(node) if isinstance(node, Term | Not) else f"({node})"


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    root: Node
    terms: tuple[Term, ...] = field(default=())  # every term, in query order
    lists: tuple[str, ...] = ()  # the named term lists it uses (@name), in order

    def __str__(self) -> str:
        return str(self.root)


# --------------------------------------------------------------------------- lexer

_OPERATORS = {"AND", "OR", "NOT"}
_BARE = re.compile(r'[^\s()"]*')  # a bare word runs to a space, parenthesis or quote


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # ( ) AND OR NOT NEAR TERM LIST END
    position: int
    text: str = ""
    distance: int = 0
    term: Term | None = None


def _describe(tok: _Tok) -> str:
    if tok.kind == "END":
        return "the end of the query"
    if tok.kind == "TERM":
        return f"term {tok.text!r}"
    if tok.kind == "LIST":
        return f"term list {tok.text!r}"
    return repr(tok.text)


def _make_term(raw: str, position: int, quoted: bool, title: bool) -> Term:
    """Validate one term and normalise it into words."""
    body = raw
    prefix = body.endswith("*")
    if prefix:
        body = body[:-1]
    star = body.find("*")
    if star >= 0:
        # position is the opening quote of a phrase, else the start of title:/term
        offset = position + star + (1 if quoted else 6 if title else 0)
        raise QueryError(offset, "'*' only at the end of a term (it marks a prefix)",
                         "'*' inside it")
    words = tuple(normalize_words(body))
    if not words:
        if quoted and not raw.strip():
            raise QueryError(position, "a phrase with at least one word", "an empty phrase")
        raise QueryError(position, "a term with at least one letter or digit", repr(raw))
    if prefix and body and not is_word_char(body[-1]):
        # 'foo-*' : the prefix would be empty
        raise QueryError(position, "letters or digits right before '*'", repr(raw))
    shown = ("title:" if title else "") + (f'"{raw}"' if quoted else raw)
    return Term(shown, words, prefix, title, position)


def _lex(text: str) -> Iterator[_Tok]:
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "()":
            yield _Tok(ch, i, ch)
            i += 1
            continue
        start = i
        title = text.startswith("title:", i)
        if title:
            i += 6
            if i >= n or text[i].isspace() or text[i] in "()":
                raise QueryError(i, "a term or phrase after 'title:'")
        if text[i] == '"':
            close = text.find('"', i + 1)
            if close < 0:
                raise QueryError(n, f"'\"' to close the phrase opened at position {i}")
            raw = text[i + 1 : close]
            if close + 1 < n and text[close + 1] == "*":  # "nagorno kara"*
                raw += "*"
                close += 1
            yield _Tok("TERM", start, text[start : close + 1],
                       term=_make_term(raw, i, True, title))
            i = close + 1
            continue
        bare_run = _BARE.match(text, i)
        assert bare_run is not None  # the pattern accepts the empty string: it always matches
        i = bare_run.end()
        word = text[start:i]
        bare = word[6:] if title else word
        if bare.startswith("@"):
            name = bare[1:]
            if not LIST_NAME.match(name):
                raise QueryError(start + (7 if title else 1),
                                 "a term list name after '@' (letters, digits, '_' or '-')",
                                 repr(name) if name else None)
            yield _Tok("LIST", start, word, term=Term(name, (), title=title, position=start))
            continue
        if not title and word in _OPERATORS:
            yield _Tok(word, start, word)
        elif not title and word == "NEAR":  # surely meant as the operator
            raise QueryError(start + 4, "'/' and a distance after NEAR (e.g. NEAR/5)")
        elif not title and word.startswith("NEAR/"):
            digits = word[5:]
            if not digits.isdigit() or not 1 <= int(digits) <= MAX_NEAR:
                raise QueryError(start + 5, f"a whole number from 1 to {MAX_NEAR} after NEAR/",
                                 repr(digits) if digits else None)
            yield _Tok("NEAR", start, word, distance=int(digits))
        else:
            raw = word[6:] if title else word
            yield _Tok("TERM", start, word, term=_make_term(raw, start, False, title))
    yield _Tok("END", n)


# --------------------------------------------------------------------------- parser


def term_item(text: str, position: int = 0, title: bool = False) -> Term:
    """One item of a named term list: a word, ``prefix*`` or a phrase (quoted or not).

    Raises QueryError with the position of the problem inside the item."""
    raw = text.strip()
    offset = position + len(text) - len(text.lstrip())
    quoted = len(raw) >= 2 and raw[0] == '"' and raw.rstrip("*").endswith('"')
    if quoted:
        prefix = raw.endswith('*')
        raw = raw[1:].rstrip("*")[:-1] + ("*" if prefix else "")
    elif raw.startswith("@"):
        raise QueryError(offset, "a term (a list is named by the whole item, e.g. \"@name\")",
                         repr(raw))
    elif '"' in raw:
        raise QueryError(offset + raw.index('"'), "a word, prefix* or phrase", "a stray '\"'")
    return _make_term(raw, offset, quoted, title)


class _Parser:
    def __init__(self, text: str, lists: TermLists | None = None) -> None:
        self.tokens = list(_lex(text))
        self.i = 0
        self.depth = 0
        self.lists = lists or {}
        self.used: dict[str, None] = {}

    @property
    def tok(self) -> _Tok:
        return self.tokens[self.i]

    def _operand_error(self, after: _Tok | None) -> QueryError:
        where = f" after {after.text}" if after is not None else ""
        found = self.tok
        if found.kind == "END" and after is None and self.i == 0:
            return QueryError(0, "a term or '('", "an empty query")
        return QueryError(found.position, f"a term or '('{where}", _describe(found))

    def parse(self) -> Node:
        node = self.parse_or()
        if self.tok.kind == ")":
            raise QueryError(self.tok.position, "an operator, a term or the end of the query",
                             "')' without a matching '('")
        if self.tok.kind != "END":
            raise QueryError(self.tok.position, "an operator or the end", _describe(self.tok))
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and(None)]
        while self.tok.kind == "OR":
            op = self.tok
            self.i += 1
            children.append(self.parse_and(op))
        return children[0] if len(children) == 1 else Or(tuple(_flatten(Or, children)))

    def parse_and(self, after: _Tok | None) -> Node:
        children = [self.parse_near(after)]
        while True:
            kind = self.tok.kind
            if kind == "AND":
                op = self.tok
                self.i += 1
                children.append(self.parse_near(op))
            elif kind in ("TERM", "LIST", "NOT", "("):  # implied AND between bare terms
                children.append(self.parse_near(None))
            else:
                break
        return children[0] if len(children) == 1 else And(tuple(_flatten(And, children)))

    def parse_near(self, after: _Tok | None) -> Node:
        node = self.parse_unary(after)
        checked = False
        while self.tok.kind == "NEAR":
            op = self.tok
            self.i += 1
            right = self.parse_unary(op)
            # The growing left side was checked on the previous round: only new
            # operands are walked, so a long chain stays linear.
            for side in (right,) if checked else (node, right):
                bad = _near_operand_problem(side)
                if bad:
                    raise QueryError(op.position,
                                     "NEAR/n between terms, phrases, prefixes or OR groups "
                                     "of them", bad)
            node = Near(node, right, op.distance)
            checked = True
        return node

    def parse_unary(self, after: _Tok | None) -> Node:
        negations = 0
        while self.tok.kind == "NOT":  # a loop: 10,000 NOTs must not recurse
            after = self.tok
            negations += 1
            self.i += 1
        node = self.parse_primary(after)
        return Not(node) if negations % 2 else node  # NOT NOT x is x

    def parse_primary(self, after: _Tok | None) -> Node:
        tok = self.tok
        if tok.kind == "TERM":
            self.i += 1
            assert tok.term is not None
            return tok.term
        if tok.kind == "LIST":
            self.i += 1
            return self.expand(tok)
        if tok.kind == "(":
            if self.depth >= MAX_DEPTH:
                raise QueryError(tok.position, f"at most {MAX_DEPTH} nested parentheses",
                                 "deeper nesting")
            self.depth += 1
            self.i += 1
            if self.tok.kind == ")":
                raise QueryError(self.tok.position, "a term or '(' inside the parentheses",
                                 "')'")
            node = self.parse_or()
            if self.tok.kind != ")":
                raise QueryError(self.tok.position,
                                 f"')' to close the '(' at position {tok.position}",
                                 _describe(self.tok))
            self.depth -= 1
            self.i += 1
            return node
        raise self._operand_error(after)

    def expand(self, tok: _Tok) -> Node:
        """``@name`` -> the OR of the list's terms, each placed at the ``@name``."""
        assert tok.term is not None
        name, title = tok.term.text, tok.term.title
        items = self.lists.get(name)
        if items is None:
            known = ", ".join("@" + n for n in sorted(self.lists)) or "none defined"
            raise QueryError(tok.position, f"a term list defined under terms: ({known})",
                             f"unknown list '@{name}'")
        if not items:
            raise QueryError(tok.position, "a term list with at least one term",
                             f"'@{name}' is empty")
        self.used[name] = None
        terms: list[Node] = []
        for item in items:
            try:
                terms.append(term_item(item, tok.position, title))
            except QueryError as error:  # config validates items; a draft query may not
                raise QueryError(tok.position, f"valid terms in '@{name}' ({error.expected})",
                                 repr(item)) from None
        return terms[0] if len(terms) == 1 else Or(tuple(terms))


def _flatten(kind: type[And] | type[Or], children: list[Node]) -> Iterator[Node]:
    for child in children:
        if isinstance(child, kind):
            yield from child.children
        else:
            yield child


def _near_operand_problem(node: Node) -> str | None:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Not):
            return "NOT inside a NEAR operand"
        if isinstance(current, And):
            return "AND inside a NEAR operand"
        if isinstance(current, Or):
            stack.extend(current.children)
        elif isinstance(current, Near):
            stack.extend((current.left, current.right))
    return None


# --------------------------------------------------------------------------- checks


def iter_terms(node: Node) -> Iterator[Term]:
    """Every Term under node, left to right (iterative: no depth limit)."""
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Term):
            yield current
        elif isinstance(current, Not):
            stack.append(current.child)
        elif isinstance(current, Near):
            stack.extend((current.right, current.left))
        else:
            stack.extend(reversed(current.children))


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Term):
        return ()
    if isinstance(node, Not):
        return (node.child,)
    if isinstance(node, Near):
        return (node.left, node.right)
    return node.children


def _check_depth(root: Node) -> None:
    """Refuse trees deeper than MAX_TREE_DEPTH, so that the evaluators (simple
    recursive functions) can never hit the interpreter's recursion limit."""
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            first = next(iter_terms(node))
            raise QueryError(first.position, f"at most {MAX_TREE_DEPTH} levels of nested "
                             "operators", "a deeper query (split it into several topics)")
        stack.extend((child, depth + 1) for child in _children(node))


def matches_nothing_present(node: Node) -> bool:
    """Value of the query on an article that contains none of its terms."""
    # Post-order walk with an explicit stack.
    values: dict[int, bool] = {}
    stack: list[tuple[Node, bool]] = [(node, False)]
    while stack:
        current, done = stack.pop()
        if isinstance(current, Term):
            values[id(current)] = False
            continue
        kids = _children(current)
        if not done:
            stack.append((current, True))
            stack.extend((k, False) for k in kids)
            continue
        got = [values[id(k)] for k in kids]
        if isinstance(current, Not):
            values[id(current)] = not got[0]
        elif isinstance(current, Or):
            values[id(current)] = any(got)
        else:  # And, Near
            values[id(current)] = all(got)
    return values[id(node)]


def parse_query(text: str, lists: TermLists | None = None) -> Query:
    """Parse a topic query; raises QueryError with the position of the problem.

    ``lists`` are the named term lists ``@name`` may use (flattened: items are terms).
    """
    if not isinstance(text, str):
        raise TypeError("query must be a string")
    parser = _Parser(text, lists)
    root = parser.parse()
    _check_depth(root)
    if matches_nothing_present(root):
        raise QueryError(0, "at least one term that must be present (this query would "
                         "match articles containing none of its terms, e.g. only NOT terms)")
    return Query(text, root, tuple(iter_terms(root)), tuple(parser.used))
