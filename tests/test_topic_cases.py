"""Precision and recall of the shipped topic on a labelled, multilingual set."""

from __future__ import annotations

from pathlib import Path

import yaml

from worker.models import Article, Topic
from worker.topics import compile_topics

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "data" / "topic_cases.yaml"
LANGUAGES = {"id", "en", "ru", "fr", "de", "es", "tr", "az", "hy", "ar"}


def shipped_topics() -> list[Topic]:
    data = yaml.safe_load((ROOT / "config" / "topics.yaml").read_text(encoding="utf-8"))
    return [
        Topic(id=t["id"], name=t["name"], query=t["query"], channels=tuple(t["channels"]))
        for t in data["topics"]
    ]


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
