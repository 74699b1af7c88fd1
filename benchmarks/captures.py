"""Text captures: body F1 of parse_text on text dumps of pages with known article bodies.

    .venv/bin/python benchmarks/captures.py [--data ../shared/data] [--split tune|check|both] [-v]

Each page of ../shared/data/extraction-dev (Zyte), ../shared/data/indonesian-pages and
../shared/data/trafilatura-eval-dev is turned into a capture the way a text browser
prints it (benchmarks/_textdump.py: the <body> text, one line per block, all page
furniture left in), then read by `worker.parser.parse_text` with the page's URL.
Metrics (see ../shared/data/README.md): for Zyte and the Indonesian pages the Zyte
benchmark's, 4-token shingle multisets, precision averaged over non-empty
predictions, recall over non-empty truths, F1 of the two means; for the trafilatura
corpus its snippet metric, "with" snippets found are true positives, "without"
snippets found false positives, P/R/F1 over all snippets, and the pages where not
one "with" snippet was found are counted as lost.

Clutter leaks: pages whose predicted body has a paragraph of the known clutter
families ("Baca juga", "Baca berita tanpa iklan", WhatsApp channel, "Read more",
"Advertisement", share and login prompts…) that the ground truth does not have.

The pages are split once, by a hash of their id (`split_of`): "tune" is what the
capture reader was developed on, "check" was only ever scored. References, in the
same run and on the same captures: the whole capture (what a reader with no
clutter removal returns), and trafilatura 2.3.1 given the capture as HTML with one
<p> per line (when trafilatura is installed: `pip install -e .[bench]`).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
DEFAULT_DATA = ROOT.parent / "shared" / "data"
CORPORA = {"zyte": "extraction-dev", "indonesian": "indonesian-pages",
           "trafilatura-eval": "trafilatura-eval-dev"}
SPLITS = ("tune", "check")

_TOKEN = re.compile(r"\w+")
# Independent of the parser's own rules, so that the parser cannot grade itself.
CLUTTER = re.compile(
    r"^\W*(?:baca (?:juga|pula)|baca berita tanpa iklan|simak breaking news|video rekomendasi|"
    r"video lainnya|close ads|bagikan artikel|login untuk|penulis$|sumber afp$|komentar$|"
    r"read (?:more|also)\b|related (?:articles?|stories)\b|advertisement$|share (?:this|on)\b|"
    r"sign up for\b|subscribe (?:to|now)\b)|whatsapp channel|gabung kompas\.com\+",
    re.IGNORECASE,
)


def split_of(page_id: str) -> str:
    """'tune' or 'check': a fixed half of every corpus, whatever order pages load in."""
    return SPLITS[hashlib.sha256(page_id.encode("utf-8")).digest()[0] % 2]


def _shingle_counts(text: str) -> Counter:
    tokens = _TOKEN.findall(text or "")
    if len(tokens) < 4:
        return Counter([tuple(tokens)] if tokens else [])
    return Counter(zip(tokens, tokens[1:], tokens[2:], tokens[3:], strict=False))


def _page_pr(truth: str, prediction: str) -> tuple[float | None, float | None]:
    expected, predicted = _shingle_counts(truth), _shingle_counts(prediction)
    common = sum((expected & predicted).values())
    return (common / sum(predicted.values()) if predicted else None,
            common / sum(expected.values()) if expected else None)


def leaks_in(truth: str, prediction: str) -> int:
    """Clutter paragraphs of the prediction that the truth does not hold."""
    folded_truth = " ".join(truth.split()).casefold()
    return sum(
        1 for paragraph in prediction.split("\n")
        if CLUTTER.search(paragraph.strip())
        and " ".join(paragraph.split()).casefold() not in folded_truth
    )


def snippet_counts(prediction: str, with_: list[str], without: list[str]) -> tuple[int, int, int]:
    """(true positives, false negatives, false positives) of one page, as trafilatura's
    tests/eval_common.py counts them: whitespace-folded substring matches."""
    text = " ".join(prediction.split())
    found = sum(1 for snippet in with_ if " ".join(snippet.split()) in text)
    leaked = sum(1 for snippet in without if " ".join(snippet.split()) in text)
    return found, len(with_) - found, leaked


def load_pages(folder: Path) -> list[dict]:
    """[{id, url, truth, capture}] of one corpus, with the capture made from the HTML;
    pages of the trafilatura corpus carry "with" and "without" snippets instead of a truth."""
    from _textdump import dump_html

    if (folder / "evaldata.json").is_file():
        return _load_snippet_pages(folder, dump_html)
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id, item in sorted(truth.items()):
        gz, plain = folder / "html" / f"{page_id}.html.gz", folder / "html" / f"{page_id}.html"
        if not (gz.exists() or plain.exists()):
            continue
        data = gzip.decompress(gz.read_bytes()) if gz.exists() else plain.read_bytes()
        pages.append({"id": page_id, "url": item.get("url") or "",
                      "truth": item.get("articleBody") or "", "capture": dump_html(data)})
    return pages


def _load_snippet_pages(folder: Path, dump_html: Callable[[bytes], str]) -> list[dict]:
    evaldata = json.loads((folder / "evaldata.json").read_text(encoding="utf-8"))
    pages = []
    for key, item in sorted(evaldata.items()):
        path = folder / "html" / item["file"]
        if not path.is_file():
            continue
        # The key is "hard::file" or the page's URL; only a URL names the article.
        url = key if key.startswith(("http://", "https://")) else ""
        pages.append({"id": key, "url": url, "with": item.get("with") or [],
                      "without": item.get("without") or [], "capture": dump_html(path.read_bytes())})
    return pages


def read_with_parse_text(capture: str, url: str) -> str:
    from worker.parser import parse_text

    return parse_text(capture, url).text


def whole_capture(capture: str, url: str) -> str:
    return capture


def trafilatura_on_capture(capture: str, url: str) -> str:
    import trafilatura

    paragraphs = "".join(f"<p>{escape(line)}</p>\n" for line in capture.splitlines() if line.strip())
    html = f"<html><body>{paragraphs}</body></html>"
    return trafilatura.extract(html, url=url or None, include_comments=False) or ""


def extractors() -> dict[str, Callable[[str, str], str]]:
    found: dict[str, Callable[[str, str], str]] = {
        "newswatch parse_text": read_with_parse_text,
        "whole capture": whole_capture,
    }
    try:
        import trafilatura  # noqa: F401
    except ImportError:
        return found
    found["trafilatura (capture as <p> lines)"] = trafilatura_on_capture
    return found


def score(name: str, extract: Callable[[str, str], str], pages: list[dict], verbose: bool) -> dict:
    if pages and "with" in pages[0]:
        return score_snippets(name, extract, pages, verbose)
    precisions, recalls, leaks, leak_pages = [], [], 0, 0
    start = time.perf_counter()
    predictions = [extract(page["capture"], page["url"]) for page in pages]
    elapsed = time.perf_counter() - start
    for page, prediction in zip(pages, predictions, strict=True):
        precision, recall = _page_pr(page["truth"], prediction)
        if precision is not None:
            precisions.append(precision)
        if recall is not None:
            recalls.append(recall)
        found = leaks_in(page["truth"], prediction)
        leaks += found
        leak_pages += bool(found)
        if verbose:
            print(f"    {name[:20]:20} {page['id'][:30]:30} P={precision or 0:.3f} "
                  f"R={recall or 0:.3f} leaks={found}")
    p = sum(precisions) / len(precisions) if precisions else 0.0
    r = sum(recalls) / len(recalls) if recalls else 0.0
    return {"extractor": name, "f1": 2 * p * r / (p + r) if p + r else 0.0, "precision": p,
            "recall": r, "leaks": leaks, "leak_pages": leak_pages, "pages": len(pages),
            "empty": len(pages) - len(precisions),
            "pages_s": len(pages) / elapsed if elapsed else 0.0}


def score_snippets(name: str, extract: Callable[[str, str], str], pages: list[dict],
                   verbose: bool) -> dict:
    """The trafilatura corpus: P/R/F1 over all snippets of all pages, and pages lost."""
    tp = fn = fp = lost = empty = leak_pages = 0
    start = time.perf_counter()
    predictions = [extract(page["capture"], page["url"]) for page in pages]
    elapsed = time.perf_counter() - start
    for page, prediction in zip(pages, predictions, strict=True):
        found, missed, leaked = snippet_counts(prediction, page["with"], page["without"])
        tp, fn, fp = tp + found, fn + missed, fp + leaked
        lost += bool(page["with"]) and not found
        leak_pages += bool(leaked)
        empty += not prediction.strip()
        if verbose:
            print(f"    {name[:20]:20} {page['id'][:50]:50} found={found}/{len(page['with'])} "
                  f"leaked={leaked}/{len(page['without'])}")
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"extractor": name, "f1": 2 * p * r / (p + r) if p + r else 0.0, "precision": p,
            "recall": r, "leaks": fp, "leak_pages": leak_pages, "pages": len(pages), "empty": empty,
            "lost": lost, "pages_s": len(pages) / elapsed if elapsed else 0.0}


def score_captures(data_root: str, split: str, *, references: bool = True,
                   verbose: bool = False) -> list[dict]:
    """One row per corpus, split and extractor: F1, precision, recall, leaks, pages…

    `split` is "tune", "check" or "both"; corpora missing under `data_root` are
    skipped. With `references=False` only newswatch's parse_text is scored.
    """
    wanted = SPLITS if split == "both" else (split,)
    if any(name not in SPLITS for name in wanted):
        raise ValueError(f"split must be tune, check or both, not {split!r}")
    chosen = extractors()
    if not references:
        chosen = dict(list(chosen.items())[:1])
    rows = []
    for corpus, folder_name in CORPORA.items():
        folder = Path(data_root) / folder_name
        if not ((folder / "ground-truth.json").is_file() or (folder / "evaldata.json").is_file()):
            continue
        pages = load_pages(folder)
        for part in wanted:
            subset = [page for page in pages if split_of(page["id"]) == part]
            if not subset:
                continue
            for name, extract in chosen.items():
                row = score(name, extract, subset, verbose)
                rows.append({"corpus": corpus, "split": part, **row})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="the shared data folder")
    parser.add_argument("--split", default="both", choices=["tune", "check", "both"])
    parser.add_argument("-v", "--verbose", action="store_true", help="per-page scores")
    args = parser.parse_args(argv)
    rows = score_captures(args.data, args.split, verbose=args.verbose)
    if not rows:
        print(f"skipped: no benchmark data under {args.data}")
        return 0
    print("| corpus | split | extractor | F1 | precision | recall | clutter leaks (pages) "
          "| lost | empty | pages | pages/s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        # The snippet corpus has no clutter families: its leaks are "without" snippets found.
        leaks = f"{row['leaks']} ({row['leak_pages']})" + (" without-snippets" if "lost" in row else "")
        print(f"| {row['corpus']} | {row['split']} | {row['extractor']} | {row['f1']:.3f} "
              f"| {row['precision']:.3f} | {row['recall']:.3f} | {leaks} | {row.get('lost', '-')} "
              f"| {row['empty']} | {row['pages']} | {row['pages_s']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
