"""The query language: parsing, precedence, errors, pathological input."""

from __future__ import annotations

import pytest

from worker.models import Article, Topic
from worker.topics import QueryError, compile_topics, parse_query
from worker.topics.query import MAX_DEPTH, MAX_TREE_DEPTH, And, Near, Not, Or, Term


def shape(text: str) -> str:
    return str(parse_query(text).root)


# --------------------------------------------------------------------------- parsing


def test_single_term_is_normalised():
    term = parse_query("Azerbaïdjan").root
    assert isinstance(term, Term)
    assert term.words == ("azerbaidjan",)
    assert not term.prefix and not term.title


def test_prefix_phrase_and_title_terms():
    root = parse_query('title:"Nagorno Kara"* armeni* title:baku').root
    assert isinstance(root, And)
    phrase, prefix, title = root.children
    assert phrase.words == ("nagorno", "kara") and phrase.prefix and phrase.title
    assert prefix.words == ("armeni",) and prefix.prefix and not prefix.title
    assert title.words == ("baku",) and title.title


def test_hyphenated_term_is_a_phrase_equal_to_the_spaced_one():
    assert parse_query("nagorno-karabakh").root.words == parse_query('"Nagorno Karabakh"').root.words


def test_precedence_not_near_and_or():
    # NOT tightest, then NEAR, then AND (explicit or implied), then OR.
    assert shape("a OR b AND c") == "a OR (b AND c)"
    assert shape("a b OR c") == "(a AND b) OR c"
    assert shape("a NEAR/3 b c") == "(a NEAR/3 b) AND c"
    assert shape("a AND b NEAR/2 c OR d") == "(a AND (b NEAR/2 c)) OR d"
    assert shape("a NOT b") == "a AND NOT b"
    assert shape("a AND NOT b OR c") == "(a AND NOT b) OR c"
    assert shape("(a OR b) AND c") == "(a OR b) AND c"


def test_near_takes_or_groups_and_chains():
    root = parse_query("(a OR b*) NEAR/5 \"c d\" NEAR/2 e").root
    assert isinstance(root, Near) and root.distance == 2
    assert isinstance(root.left, Near) and isinstance(root.left.left, Or)


def test_or_and_chains_are_flat():
    root = parse_query("a OR (b OR (c OR d))").root
    assert isinstance(root, Or) and len(root.children) == 4


def test_double_not_cancels():
    assert shape("a AND NOT NOT b") == "a AND b"


def test_lowercase_operators_are_ordinary_words():
    root = parse_query("war and peace").root
    assert isinstance(root, And)
    assert [t.words for t in root.children] == [("war",), ("and",), ("peace",)]


def test_quoted_operator_is_a_term():
    assert parse_query('"AND"').root.words == ("and",)


def test_terms_listed_in_query_order():
    query = parse_query("(armenia OR yerevan) AND NOT baku")
    assert [t.text for t in query.terms] == ["armenia", "yerevan", "baku"]


def test_query_with_unicode_scripts():
    query = parse_query("Армени* OR Հայաստան OR أرمينيا OR ＡＲＭＥＮＩＡ")
    assert [t.words for t in query.terms] == [
        ("армени",), ("հայաստան",), ("ارمينيا",), ("armenia",)
    ]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("armenia AND azerbaijan AND", 26, "expected a term or '(' after AND"),
        ("(armenia AND", 12, "expected a term or '(' after AND"),
        ("a AND OR b", 6, "after AND, found 'OR'"),
        ("AND a", 0, "expected a term or '('"),
        ("a OR", 4, "after OR"),
        ("a NOT", 5, "after NOT"),
        ("", 0, "empty query"),
        ("   ", 0, "empty query"),
        ("(a OR b", 7, "')' to close the '(' at position 0"),
        ("a)", 1, "without a matching '('"),
        ("()", 1, "inside the parentheses"),
        ('x ""', 2, "empty phrase"),
        ('x "unterminated', 15, "to close the phrase opened at position 2"),
        ("ar*nia", 2, "'*' only at the end"),
        ('"arm* azer"', 4, "'*' only at the end"),
        ("a NEAR/x b", 7, "whole number"),
        ("a NEAR/0 b", 7, "whole number"),
        ("a NEAR/ b", 7, "whole number"),
        ("a NEAR b", 6, "after NEAR (e.g. NEAR/5)"),
        ('title:"ar*nia"', 9, "'*' only at the end"),
        ("title:ar*nia", 8, "'*' only at the end"),
        ("a NEAR/3 NOT b", 2, "NOT inside a NEAR operand"),
        ("(a AND b) NEAR/3 c", 10, "AND inside a NEAR operand"),
        ("NEAR/3 a", 0, "expected a term or '('"),
        ("title:", 6, "after 'title:'"),
        ("title: a", 6, "after 'title:'"),
        ("a *", 2, "at least one letter or digit"),
        ("foo-*", 0, "letters or digits right before '*'"),
        ("NOT sport", 0, "at least one term that must be present"),
        ("a OR NOT b", 0, "at least one term that must be present"),
        ("NOT (a AND b)", 0, "at least one term that must be present"),
    ],
)
def test_errors_name_position_and_expectation(text, position, fragment):
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.position == position, str(error)
    assert str(error).startswith(f"position {position}: expected ")
    assert fragment in str(error)
    assert error.expected and error.expected in str(error)


def test_not_with_a_positive_term_is_fine():
    root = parse_query("armenia NOT food").root
    assert isinstance(root, And) and isinstance(root.children[1], Not)


# --------------------------------------------------------------------------- pathological


@pytest.mark.timeout(10)
def test_ten_thousand_nested_parentheses_give_a_clear_error():
    text = "(" * 10_000 + "a" + ")" * 10_000
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    assert caught.value.position == MAX_DEPTH
    assert "nested parentheses" in str(caught.value)


@pytest.mark.timeout(10)
def test_nesting_up_to_the_cap_works():
    text = "(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH
    assert shape(text) == "a"


@pytest.mark.timeout(10)
def test_unbalanced_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(QueryError):
        parse_query("(" * 10_000)
    with pytest.raises(QueryError):
        parse_query(")" * 10_000)


@pytest.mark.timeout(10)
def test_ten_thousand_ors():
    query = parse_query(" OR ".join(f"word{i}" for i in range(10_000)))
    assert isinstance(query.root, Or) and len(query.root.children) == 10_000
    assert len(query.terms) == 10_000


@pytest.mark.timeout(10)
def test_ten_thousand_ands_and_nots():
    query = parse_query(" ".join(f"w{i}" for i in range(10_000)) + " " + "NOT " * 10_001 + "x")
    assert isinstance(query.root, And) and len(query.root.children) == 10_001
    assert isinstance(query.root.children[-1], Not)


@pytest.mark.timeout(10)
def test_near_chains():
    query = parse_query(" NEAR/2 ".join(f"w{i}" for i in range(150)))
    assert len(query.terms) == 150
    with pytest.raises(QueryError) as caught:  # each NEAR nests the tree one level deeper
        parse_query(" NEAR/2 ".join(f"w{i}" for i in range(10_000)))
    assert f"at most {MAX_TREE_DEPTH} levels" in str(caught.value)


@pytest.mark.timeout(10)
def test_deepest_legal_queries_compile_match_and_explain():
    # The evaluators are plain recursive functions: the depth caps must keep
    # them far from the interpreter's recursion limit.
    alternating = "x"
    for i in range(MAX_DEPTH - 1):
        alternating = f"(x{i % 3} {'AND' if i % 2 else 'OR'} NOT q{i} {alternating})"
    chain = " NEAR/3 ".join(["x"] * (MAX_TREE_DEPTH - 1))
    index = compile_topics([Topic("deep", "Deep", alternating), Topic("chain", "Chain", chain)])
    article = Article(id="1", url="", canonical_url="", title="x", text="x x0 x1 x2 " * 50)
    assert {m.topic_id for m in index.match(article)} == {"deep", "chain"}
    # the verdict line, exactly: "NO MATCH" contains "MATCH" too
    assert index.explain("deep", article).splitlines()[0] == "topic deep (Deep): MATCH"
    assert index.explain("chain", article).splitlines()[0] == "topic chain (Chain): MATCH"


@pytest.mark.timeout(10)
@pytest.mark.parametrize("text", ["AND", "OR", "NOT", "NEAR/2", "( )", ")(", '"', '""', "*",
                                  "title:", "OR OR OR", "NOT NOT NOT", "a AND AND b"])
def test_lone_operators_and_punctuation(text):
    with pytest.raises(QueryError):
        parse_query(text)


@pytest.mark.timeout(10)
def test_regex_like_characters_are_plain_text():
    # No regex is ever built from a term: punctuation just separates words.
    assert parse_query("a.b[c]").root.words == ("a", "b", "c")
    assert parse_query("x+y?").root.words == ("x", "y")
    with pytest.raises(QueryError) as caught:
        parse_query("a.b[c]*")  # the '*' follows ']', so there is no prefix to extend
    assert "before '*'" in str(caught.value)
    assert parse_query("a.b[c*").root.prefix


@pytest.mark.timeout(10)
def test_huge_single_term_and_garbage():
    assert parse_query("x" * 100_000).root.words == ("x" * 100_000,)
    with pytest.raises(QueryError):
        parse_query("!@#$%^&")
    with pytest.raises(QueryError):
        parse_query("\x00\x01")
