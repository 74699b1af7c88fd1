"""Train the text-capture line model on the tune halves and write worker/parser/capture_model.py.

    .venv/bin/python benchmarks/train_capture_model.py [--data ../shared/data] [--cv] [--write]

Only pages that `captures.split_of` puts in the "tune" half are read: the "check"
half stays unseen. Every line of a tune capture is labelled from the page's truth:
- Zyte and Indonesian pages (an articleBody): a line of 4+ tokens is article text when
  most of its 4-token shingles occur in the truth; a shorter line (a subheading) when
  its words occur in the truth and it sits between article lines;
- trafilatura-eval pages (snippets): a line holding a "with" snippet is article text, one
  holding a "without" snippet is not, other lines are not labelled (weight 0).
The features are worker.parser.capture.line_features; the model is an L2-regularised
logistic regression fitted by Newton's method (numpy, training only: the parser reads
the weights as plain constants). Deterministic: same data, same file.

--cv splits the tune half in two folds by page id (a second hash, not the tune/check
one), trains on one fold and scores the other with the benchmark metrics, for a grid
of regularisation and decision settings, and prints the out-of-fold figures.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from captures import CORPORA, DEFAULT_DATA, leaks_in, load_pages, snippet_counts, split_of  # noqa: E402

from worker.parser import capture  # noqa: E402
from worker.parser.body import filter_text  # noqa: E402
from worker.parser.text import join_paragraphs  # noqa: E402

MODEL_FILE = ROOT / "worker" / "parser" / "capture_model.py"
_TOKEN = re.compile(r"\w+")
# Share of a line's shingles found in the truth for it to count as article text.
BODY_SHARE = 0.5
# Newton iterations: the L2-regularised problem converges well within these.
ITERATIONS = 30


WEIGHTING = "one"


def _weight(text: str) -> float:
    """A line's weight in training: the metrics count words, so long lines matter more."""
    if WEIGHTING == "one":
        return 1.0
    tokens = len(_TOKEN.findall(text))
    return math.sqrt(max(tokens, 1)) if WEIGHTING == "sqrt" else math.log1p(tokens)


def _fold(page_id: str) -> int:
    return hashlib.sha256(f"fold:{page_id}".encode()).digest()[0] % 2


def _shingles(tokens: list[str]) -> list[tuple[str, ...]]:
    return list(zip(tokens, tokens[1:], tokens[2:], tokens[3:], strict=False))


def label_by_truth(lines: list[capture._Line], truth: str) -> tuple[list[float], list[float]]:
    """(labels, weights) of the lines of a page with an articleBody."""
    truth_tokens = _TOKEN.findall(truth)
    truth_shingles = set(_shingles(truth_tokens))
    joined = f" {' '.join(truth_tokens)} "
    labels: list[float | None] = []
    for line in lines:
        tokens = _TOKEN.findall(line.text)
        if len(tokens) >= 4:
            grams = _shingles(tokens)
            labels.append(float(sum(g in truth_shingles for g in grams) >= BODY_SHARE * len(grams)))
        else:
            labels.append(None)
    body = [i for i, value in enumerate(labels) if value]
    first, last = (body[0], body[-1]) if body else (0, -1)
    for i, line in enumerate(lines):
        if labels[i] is None:
            tokens = _TOKEN.findall(line.text)
            inside = first < i < last and bool(tokens)
            labels[i] = float(inside and f" {' '.join(tokens)} " in joined)
    return [float(v) for v in labels], [_weight(line.text) for line in lines]


def _fold_space(text: str) -> str:
    return " ".join(text.split())


def _holds(text: str, snippets: list[str]) -> bool:
    """A snippet inside the line, or the line inside a snippet that spans several lines."""
    return any(s in text or (len(text) >= 30 and text in s) for s in snippets)


def label_by_snippets(lines: list[capture._Line], with_: list[str], without: list[str]
                      ) -> tuple[list[float], list[float]]:
    """(labels, weights) of the lines of a page with "with"/"without" snippets."""
    good = [_fold_space(s) for s in with_ if s.strip()]
    bad = [_fold_space(s) for s in without if s.strip()]
    labels, weights = [], []
    for line in lines:
        text = line.text
        if _holds(text, good):
            labels.append(1.0)
            weights.append(_weight(text))
        elif _holds(text, bad):
            labels.append(0.0)
            weights.append(_weight(text))
        else:
            labels.append(0.0)
            weights.append(0.0)
    return labels, weights


def prepare(data: Path) -> tuple[list[dict], list[str]]:
    """Tune pages of every corpus with their lines, feature matrix, labels and weights."""
    pages = []
    for corpus, folder in CORPORA.items():
        if not (data / folder).is_dir():
            continue
        for page in load_pages(data / folder):
            if split_of(page["id"]) != "tune":
                continue
            lines = capture.prepared_lines(page["capture"])
            if "with" in page:
                labels, weights = label_by_snippets(lines, page["with"], page["without"])
            else:
                labels, weights = label_by_truth(lines, page["truth"])
            pages.append({**page, "corpus": corpus, "lines": lines, "labels": labels,
                          "weights": weights})
    names = list(capture.FEATURE_NAMES)
    for page in pages:
        page["x"] = np.array(capture.line_features(page["lines"], page["url"])).reshape(
            len(page["lines"]), len(names))
    return pages, names


def fit(blocks: list[tuple[np.ndarray, list[float], list[float]]], l2: float) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method on (features, labels, weights)
    blocks; the bias is not penalised."""
    x = np.vstack([b[0] for b in blocks])
    x = np.hstack([x, np.ones((x.shape[0], 1))])
    y = np.concatenate([np.array(b[1]) for b in blocks])
    s = np.concatenate([np.array(b[2]) for b in blocks])
    keep = s > 0
    x, y, s = x[keep], y[keep], s[keep]
    penalty = np.full(x.shape[1], l2)
    penalty[-1] = 0.0
    w = np.zeros(x.shape[1])
    for _ in range(ITERATIONS):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        gradient = x.T @ (s * (p - y)) + penalty * w
        hessian = (x * (s * p * (1 - p))[:, None]).T @ x + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-7:
            break
    return w[:-1], float(w[-1])


CONTEXT_NAMES = list(capture.CONTEXT_FEATURES)


def _context_matrix(page: dict, odds: np.ndarray) -> np.ndarray:
    rows = capture.context_features(page["lines"], [float(v) for v in odds])
    return np.array(rows).reshape(len(rows), len(CONTEXT_NAMES))


def fit_model(pages: list[dict], l2: float, l2_context: float) -> tuple:
    """Line model on all pages; context model on the line model's verdicts for pages it
    was not fitted on (two inner folds), so that it learns how far to trust them."""
    line_model = fit([(p["x"], p["labels"], p["weights"]) for p in pages], l2)
    if l2_context < 0:
        return (*line_model, None, 0.0)
    blocks = []
    for k in (0, 1):
        inner = fit([(p["x"], p["labels"], p["weights"]) for p in pages if _fold(f"inner:{p['id']}") != k], l2)
        for p in pages:
            if _fold(f"inner:{p['id']}") == k:
                odds = p["x"] @ inner[0] + inner[1]
                blocks.append((_context_matrix(p, odds), p["labels"], p["weights"]))
    return line_model + fit(blocks, l2_context)


def predict(page: dict, model: tuple) -> list[float]:
    w, b, cw, cb = model
    if not len(page["lines"]):
        return []
    odds = page["x"] @ w + b
    if cw is not None:
        odds = _context_matrix(page, odds) @ cw + cb
    return [float(v) for v in odds]


def page_text(page: dict, model: tuple, **decision: float) -> str:
    odds = predict(page, model)
    _, paragraphs = capture.learned_body(page["lines"], odds, **decision)
    return join_paragraphs(filter_text(paragraphs))


def _counter(text: str):
    from captures import _shingle_counts

    return _shingle_counts(text)


def scores(pages: list[dict], texts: dict[str, str]) -> dict[str, dict]:
    """Benchmark metrics per corpus for the given predictions."""
    out: dict[str, dict] = {}
    for corpus in CORPORA:
        chosen = [p for p in pages if p["corpus"] == corpus]
        if not chosen:
            continue
        if "with" in chosen[0]:
            tp = fn = fp = lost = 0
            for p in chosen:
                found, missed, leaked = snippet_counts(texts[p["id"]], p["with"], p["without"])
                tp, fn, fp = tp + found, fn + missed, fp + leaked
                lost += bool(p["with"]) and not found
            prec, rec = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
            out[corpus] = {"f1": 2 * prec * rec / max(prec + rec, 1e-9), "p": prec, "r": rec,
                           "lost": lost, "pages": len(chosen)}
            continue
        precisions, recalls, leaks = [], [], 0
        for p in chosen:
            expected, predicted = _counter(p["truth"]), _counter(texts[p["id"]])
            common = sum((expected & predicted).values())
            if predicted:
                precisions.append(common / sum(predicted.values()))
            if expected:
                recalls.append(common / sum(expected.values()))
            leaks += leaks_in(p["truth"], texts[p["id"]])
        prec = sum(precisions) / max(len(precisions), 1)
        rec = sum(recalls) / max(len(recalls), 1)
        out[corpus] = {"f1": 2 * prec * rec / max(prec + rec, 1e-9), "p": prec, "r": rec,
                       "leaks": leaks, "pages": len(chosen)}
    return out


def cross_validate(pages: list[dict], l2s, contexts, decisions: list[dict]) -> None:
    folds = [[p for p in pages if _fold(p["id"]) == k] for k in (0, 1)]
    print("fold sizes:", [len(f) for f in folds])
    for l2, l2_context in ((a, c) for a in l2s for c in contexts):
        models = [fit_model(folds[1 - k], l2, l2_context) for k in (0, 1)]
        for decision in decisions:
            if True:
                texts = {}
                for k in (0, 1):
                    for p in folds[k]:
                        texts[p["id"]] = page_text(p, models[k], **decision)
                result = scores(pages, texts)
                settings = " ".join(f"{k}={v}" for k, v in decision.items())
                print(f"l2={l2:<4} ctx={l2_context:<4} {settings} " + "  ".join(
                    f"{c}: F1 {r['f1']:.3f} (P {r['p']:.3f} R {r['r']:.3f}"
                    + (f", lost {r['lost']}" if "lost" in r else f", leaks {r['leaks']}") + ")"
                    for c, r in result.items()), flush=True)


def _constants(names: list[str], weights) -> str:
    return "".join(f"    {name!r}: {value:.4f},\n" for name, value in zip(names, weights, strict=True)
                   if abs(value) >= 5e-5)


def write_model(names: list[str], model: tuple, l2: float, l2_context: float) -> None:
    w, b, cw, cb = model
    context = _constants(CONTEXT_NAMES, cw) if cw is not None else ""
    MODEL_FILE.write_text(
        '"""Weights of the text-capture line model (generated, do not edit).\n\n'
        "Written by benchmarks/train_capture_model.py from the tune halves of the benchmark\n"
        f"corpora (L2 {l2}, context L2 {l2_context}); the features are\n"
        "worker.parser.capture.line_features and context_features.\n"
        '"""\n\n'
        f"BIAS = {b:.4f}\n\nWEIGHTS = {{\n{_constants(names, w)}}}\n\n"
        f"CONTEXT_BIAS = {cb:.4f}\n\nCONTEXT_WEIGHTS: dict[str, float] = {{\n{context}}}\n",
        encoding="utf-8",
    )


def _decisions(spec: str) -> list[dict]:
    """Every combination of a grid "name=v1,v2;name=v3" of learned_span's settings."""
    grid: list[dict] = [{}]
    for part in filter(None, spec.split(";")):
        name, values = part.split("=")
        grid = [{**g, name: float(v)} for g in grid for v in values.split(",")]
    return grid


def main(argv: list[str] | None = None) -> int:
    global WEIGHTING
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--cv", action="store_true", help="cross-validate inside the tune half")
    parser.add_argument("--write", action="store_true", help="train on all tune pages and write the model")
    parser.add_argument("--l2", type=float, default=3.0)
    parser.add_argument("--l2-context", type=float, default=10.0, help="negative: no context model")
    parser.add_argument("--grid", default="3", help="l2 values for --cv, comma-separated")
    parser.add_argument("--contexts", default="10", help="context-model l2 values for --cv")
    parser.add_argument("--decide", default="", help="decision grid for --cv, e.g. offset=0.5,1;edge=0")
    parser.add_argument("--weighting", default="log", choices=["one", "sqrt", "log"])
    args = parser.parse_args(argv)
    WEIGHTING = args.weighting
    pages, names = prepare(Path(args.data))
    labelled = sum(sum(1 for s in p["weights"] if s) for p in pages)
    positive = sum(sum(1 for y, s in zip(p["labels"], p["weights"], strict=True) if s and y) for p in pages)
    print(f"{len(pages)} tune pages, {labelled} labelled lines ({positive} article text), "
          f"{len(names)} features")
    if args.cv:
        floats = lambda text: [float(v) for v in text.split(",")]  # noqa: E731
        cross_validate(pages, floats(args.grid), floats(args.contexts), _decisions(args.decide))
    if args.write:
        write_model(names, fit_model(pages, args.l2, args.l2_context), args.l2, args.l2_context)
        print(f"wrote {MODEL_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
