"""benchmarks/captures.py: the function benchmarks/extraction.py calls, on a tiny corpus."""

from __future__ import annotations

import json
import sys

import pytest
from helpers import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

from captures import leaks_in, score_captures, snippet_counts, split_of

ARTICLE = ("<p>Yerevan and Baku agreed on Tuesday to reopen two border crossings closed for three "
           "decades, officials said after a day of talks in Brussels.</p>"
           "<p>Baca juga: Ceasefire holds as observers arrive</p>"
           "<p>The leaders met for six hours and left without a joint statement, diplomats said "
           "on Wednesday morning.</p>")
TRUTH = ("Yerevan and Baku agreed on Tuesday to reopen two border crossings closed for three "
         "decades, officials said after a day of talks in Brussels. The leaders met for six hours "
         "and left without a joint statement, diplomats said on Wednesday morning.")
MENU = "".join(f"<li><a href='/{n}'>Section {n}</a></li>" for n in range(12))


def make_corpus(root):
    folder = root / "extraction-dev"
    (folder / "html").mkdir(parents=True)
    ids = [f"page{n}" for n in range(12)]
    truth = {}
    for page_id in ids:
        html = (f"<html><body><ul>{MENU}</ul><h1>Border crossings to reopen</h1>"
                f"<p>November 19, 2019 at 9:08 GMT</p><article>{ARTICLE}</article>"
                f"<ul>{MENU}</ul></body></html>")
        (folder / "html" / f"{page_id}.html").write_text(html, encoding="utf-8")
        truth[page_id] = {"articleBody": TRUTH, "url": f"https://example.org/{page_id}"}
    (folder / "ground-truth.json").write_text(json.dumps(truth), encoding="utf-8")
    return ids


def test_split_is_a_fixed_half():
    ids = [f"id-{n}" for n in range(400)]
    parts = [split_of(page_id) for page_id in ids]
    assert parts == [split_of(page_id) for page_id in ids]  # deterministic
    assert 150 < parts.count("tune") < 250 and set(parts) == {"tune", "check"}


def test_score_captures_rows(tmp_path):
    ids = make_corpus(tmp_path)
    rows = score_captures(str(tmp_path), "both")
    ours = [row for row in rows if row["extractor"] == "newswatch parse_text"]
    assert {row["split"] for row in ours} == {split_of(i) for i in ids}
    assert sum(row["pages"] for row in ours) == len(ids)
    for row in ours:
        assert row["corpus"] == "zyte"
        assert {"f1", "precision", "recall", "leaks", "pages"} <= set(row)
        assert row["f1"] > 0.95 and row["leaks"] == 0
    whole = next(row for row in rows if row["extractor"] == "whole capture")
    assert whole["leaks"] > 0 and whole["f1"] < ours[0]["f1"]
    only_ours = score_captures(str(tmp_path), "tune", references=False)
    assert {row["extractor"] for row in only_ours} == {"newswatch parse_text"}
    assert score_captures(str(tmp_path / "missing"), "both") == []
    with pytest.raises(ValueError):
        score_captures(str(tmp_path), "everything")


def test_a_leak_is_clutter_the_truth_does_not_have():
    assert leaks_in("Body text.", "Body text.\n\nBaca juga: Other story") == 1
    assert leaks_in("Read more: as the truth says", "Read more: as the truth says") == 0


def test_snippet_corpus_counts_found_leaked_and_lost_pages(tmp_path):
    folder = tmp_path / "trafilatura-eval-dev"
    (folder / "html").mkdir(parents=True)
    evaldata = {}
    for n in range(8):
        html = (f"<html><body><ul>{MENU}</ul><h1>Border crossings to reopen</h1>{ARTICLE}"
                f"<ul>{MENU}</ul></body></html>")
        (folder / "html" / f"p{n}.html").write_bytes(html.encode("utf-8"))
        evaldata[f"https://example.org/p{n}"] = {
            "file": f"p{n}.html", "with": ["reopen two border crossings", "left without a joint"],
            "without": ["Section 3", "Ceasefire holds"]}
    (folder / "evaldata.json").write_text(json.dumps(evaldata), encoding="utf-8")
    rows = score_captures(str(tmp_path), "both")
    ours = [row for row in rows if row["extractor"] == "newswatch parse_text"]
    assert sum(row["pages"] for row in ours) == 8
    for row in ours:
        assert row["corpus"] == "trafilatura-eval"
        assert row["f1"] == 1.0 and row["lost"] == 0 and row["leaks"] == 0
    whole = [row for row in rows if row["extractor"] == "whole capture"]
    assert all(row["leaks"] == 2 * row["pages"] and row["precision"] == 0.5 for row in whole)


def test_snippets_match_after_folding_whitespace():
    assert snippet_counts("a  b\nc d", ["a b c", "x"], ["c d", "y"]) == (1, 1, 1)


def test_training_labels_lines_from_the_truth_and_from_snippets():
    pytest.importorskip("numpy")  # the training extra: pip install -e .[train]
    from train_capture_model import label_by_snippets, label_by_truth

    from worker.parser import capture

    lines = capture.prepared_lines("Home\nNews\n" + ARTICLE.replace("<p>", "").replace("</p>", "\n")
                                   + "Storm warning issued for the North Sea coast tonight")
    texts = [line.text for line in lines]
    labels, weights = label_by_truth(lines, TRUTH)
    body = {text for text, label in zip(texts, labels, strict=True) if label}
    assert body == {texts[2], texts[4]}  # the two paragraphs, not the menu, box or teaser
    assert all(weight > 0 for weight in weights)
    labels, weights = label_by_snippets(lines, ["reopen two border crossings"], ["Storm warning"])
    assert (labels[2], weights[2]) == (1.0, weights[2]) and weights[2] > 0
    assert (labels[-1], weights[-1] > 0) == (0.0, True)
    assert weights[0] == 0.0  # neither kind of snippet: not labelled
