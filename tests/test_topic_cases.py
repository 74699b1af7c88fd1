"""Precision and recall of the shipped topic on a labelled, multilingual set."""

from __future__ import annotations

from pathlib import Path

import yaml

from worker.config import load_config
from worker.models import Article, Topic
from worker.topics import compile_topics

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "data" / "topic_cases.yaml"
LANGUAGES = {"id", "en", "ru", "fr", "de", "es", "tr", "az", "hy", "ar"}


def shipped_topics() -> list[Topic]:
    """The topics of the shipped config/, with the named term lists they use."""
    return list(load_config(ROOT / "config").topics)


def load_cases() -> list[dict]:
    return yaml.safe_load(CASES.read_text(encoding="utf-8"))["cases"]


def test_labelled_set_covers_every_language_on_both_sides():
    cases = load_cases()
    assert len(cases) >= 60
    for expect in (True, False):
        assert {c["lang"] for c in cases if c["expect"] is expect} >= LANGUAGES


def test_shipped_topic_precision_and_recall():
    index = compile_topics(shipped_topics())
    tp = fp = fn = tn = 0
    wrong = []
    for number, case in enumerate(load_cases()):
        article = Article(
            id=f"case-{number}", url="", canonical_url="", title=case["title"],
            text=case["text"], language=case["lang"],
        )
        fired = any(m.topic_id == "armenia-azerbaijan" for m in index.match(article))
        if fired and case["expect"]:
            tp += 1
        elif fired:
            fp += 1
            wrong.append(f"false positive [{case['lang']}] {case['title']}")
        elif case["expect"]:
            fn += 1
            wrong.append(f"missed [{case['lang']}] {case['title']}")
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    print(f"\narmenia-azerbaijan: precision {precision:.3f} recall {recall:.3f} "
          f"(tp={tp} fp={fp} fn={fn} tn={tn})")
    for line in wrong:
        print("  " + line)
    assert precision >= 0.95, wrong
    assert recall >= 0.95, wrong


def test_shipped_topic_writes_no_term_twice():
    """Named term lists exist so that an alias list is written once: among the lists and
    the query's own terms, no two terms are the same once normalised (title:x and x are
    different terms; @name references are names, not terms)."""
    from worker.topics.query import parse_query, term_item

    config = load_config(ROOT / "config")
    (topic,) = config.topics
    placeholders = {name: (f"zzlist{index}",) for index, name in enumerate(config.terms)}
    own = [t for t in parse_query(topic.query, placeholders).terms if "zzlist" not in t.text]
    written = yaml.safe_load((ROOT / "config" / "topics.yaml").read_text(encoding="utf-8"))["terms"]
    listed = [term_item(str(item)) for items in written.values() for item in items
              if not str(item).startswith("@")]
    keys = [(t.words, t.prefix, t.title) for t in own + listed]
    repeated = sorted({" ".join(k[0]) for k in keys if keys.count(k) > 1})
    assert not repeated, repeated
    assert {"armenia_side", "azerbaijan_side", "baku_phrases"} <= {name for name, _ in topic.term_lists}


def test_explain_gives_the_matchers_verdict_on_every_case():
    """One semantics: `newswatch match --topic` says MATCH exactly when the matcher alerts."""
    topics = shipped_topics()
    index = compile_topics(topics)
    verdicts = set()
    for number, case in enumerate(load_cases()):
        article = Article(
            id=f"case-{number}", url="", canonical_url="", title=case["title"],
            text=case["text"], language=case["lang"],
        )
        fired = {m.topic_id for m in index.match(article)}
        for topic in topics:
            decision = index.decide(topic.id, article)
            assert decision.matched is (topic.id in fired), (topic.id, case["title"])
            assert decision.clauses.holds is decision.query_holds
            first_line = index.explain(topic.id, article).splitlines()[0]
            expected = "MATCH" if topic.id in fired else "NO MATCH"
            assert first_line == f"topic {topic.id} ({topic.name}): {expected}", case["title"]
            verdicts.add(expected)
    assert verdicts == {"MATCH", "NO MATCH"}  # the cases exercise both answers
