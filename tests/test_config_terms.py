"""Named term lists (`terms:`): @name in queries, lists naming lists, errors with file:line."""

from __future__ import annotations

import textwrap

import pytest

from worker.config import ConfigError, load_config
from worker.models import Article
from worker.topics import QueryError, compile_topics, parse_query


def write(tmp_path, text: str):
    path = tmp_path / "newswatch.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def topic_with_terms(tmp_path, terms: str, query: str):
    """A config of these `terms:` entries (from line 3) and one topic `t` with this query
    (its `query:` the line after the last entry + 2)."""
    entries = textwrap.indent(textwrap.dedent(terms).strip("\n") + "\n", "  ")
    return write(tmp_path, f"\nterms:\n{entries}topics:\n  - id: t\n    query: '{query}'\n")


def problems(path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(p) for p in caught.value.problems]


def article(title: str, text: str = "") -> Article:
    return Article(id="a", url="", canonical_url="", title=title, text=text)


def test_a_list_stands_for_the_or_of_its_terms_and_lists_name_lists(tmp_path):
    path = write(tmp_path, """
        terms:
          armenia_side: [armeni*, yerevan, "@leaders"]
          leaders: [pashinyan, "nikol pashinyan"]
          azerbaijan_side: [azerbaijan*, aliyev, "bakı"]
        topics:
          - id: conflict
            query: '@armenia_side NEAR/5 @azerbaijan_side OR karabakh'
    """)
    config = load_config(path)
    assert config.terms["armenia_side"] == ("armeni*", "yerevan", "pashinyan", "nikol pashinyan")
    (topic,) = config.topics
    assert dict(topic.term_lists)["armenia_side"][-1] == "nikol pashinyan"
    index = compile_topics(config.topics)
    assert index.match(article("Pashinyan meets Aliyev"))
    assert index.match(article("Talks in Baku", "Armenian delegation arrives in Bakı today"))
    assert not index.match(article("Pashinyan visits Paris"))
    match = index.match(article("Nikol Pashinyan and Azerbaijan's president"))[0]
    assert "Pashinyan" in match.terms and "Azerbaijan" in match.terms


def test_title_applies_to_every_term_of_a_list():
    lists = {"phrases": ("bahan baku", "baku tembak")}
    query = parse_query("baku AND NOT title:@phrases", lists)
    assert all(term.title for term in query.terms[1:])
    index = compile_topics([])
    assert len(index) == 0
    from worker.models import Topic

    index = compile_topics([Topic("t", "t", "baku AND NOT title:@phrases",
                                  term_lists=tuple(lists.items()))])
    assert index.match(article("Menteri tiba di Baku", "harga bahan baku naik"))
    assert not index.match(article("Harga bahan baku naik", "di Baku"))


def test_unknown_list_in_a_query_is_an_error_with_its_position(tmp_path):
    path = topic_with_terms(tmp_path, "known: [a]", "karabakh OR @nope")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:6: topics[0].query: position 12:"), problem
    assert "unknown list '@nope'" in problem and "@known" in problem


def test_unknown_list_inside_a_list_and_cycles_are_errors_where_written(tmp_path):
    path = topic_with_terms(tmp_path, """
        first: [a, "@second"]
        second:
          - b
          - "@first"
        lonely: [c, "@missing"]
        bad: [ok, "x*y"]
    """, "@first OR @lonely OR @bad")
    found = problems(path)
    assert f"{path}:6: terms.second[1]: '@first' makes a cycle: @first -> @second -> @first" in found
    assert f"{path}:7: terms.lonely[1]: no term list '@missing'" in found
    assert any(p.startswith(f"{path}:8: terms.bad[1]: position 1: expected '*' only at the end")
               for p in found), found
    assert len(found) == 3, found  # the topic is not reported again for its broken lists


def test_self_reference_and_bad_shapes(tmp_path):
    path = topic_with_terms(tmp_path, """
        me: [x, "@me"]
        empty: []
        nested: [[a, b]]
        "bad name!": [a]
    """, "@me")
    found = problems(path)
    assert f"{path}:3: terms.me[1]: '@me' makes a cycle: @me -> @me" in found
    assert f"{path}:4: terms.empty: must be a non-empty list of terms" in found
    assert any(p.startswith(f"{path}:5: terms.nested[0]: must be a term") for p in found), found
    assert any(p.startswith(f"{path}:6: terms.bad name!:") for p in found), found


def test_duplicate_list_across_files_is_reported(tmp_path):
    (tmp_path / "a.yaml").write_text("terms:\n  side: [a]\n")
    (tmp_path / "b.yaml").write_text("terms:\n  side: [b]\ntopics:\n  - id: t\n    query: '@side'\n")
    found = problems(tmp_path)
    assert found == [f"{tmp_path / 'b.yaml'}:2: terms.side: duplicate list (first at "
                     f"{tmp_path / 'a.yaml'}:2)"]


def test_query_errors_for_lists():
    with pytest.raises(QueryError) as caught:
        parse_query("a OR @", {})
    assert caught.value.position == 6
    with pytest.raises(QueryError) as caught:
        parse_query("a AND @x", {"x": ()})
    assert "empty" in str(caught.value) and caught.value.position == 6
    # a quoted "@x" is a phrase of the word x, not a list
    assert parse_query('"@x"').terms[0].words == ("x",)
