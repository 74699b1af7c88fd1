"""Article-extraction quality and speed: our parser against trafilatura, same run.

    .venv/bin/python benchmarks/extraction.py [FOLDER ...] [--only ours]

FOLDER holds html/<id>.html.gz (or .html) and ground-truth.json
({id: {"articleBody": ..., "url": ...}}); default ../shared/data/extraction-dev/
relative to the project root. The metric is the one of the Zyte article-extraction
benchmark (see shared/data/README.md): 4-token shingle multisets, precision
averaged over non-empty predictions, recall over non-empty truths, F1 of the means.
Speed is one timed pass after a warm-up page; peak memory is tracemalloc's peak
over a second pass (Python allocations; libxml2's own buffers are not traced,
for either extractor, since both use lxml).
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import re
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_FOLDER = ROOT.parent / "shared" / "data" / "extraction-dev"
_TOKEN = re.compile(r"\w+")
_RELATED_LINE = re.compile(r"^\W*baca juga\b", re.IGNORECASE | re.MULTILINE)


def shingles(text: str, size: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    if not tokens:
        return Counter()
    if len(tokens) < size:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1))


def page_scores(truth: str, prediction: str) -> tuple[float | None, float | None, float]:
    """(precision or None when prediction empty, recall or None when truth empty, page F1)."""
    expected, predicted = shingles(truth), shingles(prediction)
    tp = sum((expected & predicted).values())
    precision = tp / sum(predicted.values()) if predicted else None
    recall = tp / sum(expected.values()) if expected else None
    p, r = precision or 0.0, recall or 0.0
    return precision, recall, (2 * p * r / (p + r) if p + r else 0.0)


def load(folder: Path) -> list[tuple[str, bytes, str, str]]:
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id, item in sorted(truth.items()):
        gz, plain = folder / "html" / f"{page_id}.html.gz", folder / "html" / f"{page_id}.html"
        if gz.exists():
            data = gzip.decompress(gz.read_bytes())
        elif plain.exists():
            data = plain.read_bytes()
        else:
            continue
        pages.append((page_id, data, item.get("url") or "", item.get("articleBody") or ""))
    return pages


def ours(data: bytes, url: str) -> str:
    from worker.parser import ParseError, parse_html

    try:
        return parse_html(data, url).text
    except ParseError:
        return ""


def trafilatura_precision(data: bytes, url: str) -> str:
    import trafilatura

    return trafilatura.extract(data, url=url, favor_precision=True, include_comments=False) or ""


def trafilatura_default(data: bytes, url: str) -> str:
    import trafilatura

    return trafilatura.extract(data, url=url, include_comments=False) or ""


EXTRACTORS: dict[str, Callable[[bytes, str], str]] = {
    "newswatch parse_html": ours,
    "trafilatura favor_precision": trafilatura_precision,
    "trafilatura default": trafilatura_default,
}


def run(name: str, extract: Callable[[bytes, str], str], pages: list, verbose: bool) -> dict:
    extract(pages[0][1], pages[0][2])  # warm-up: imports and lazy initialisation
    predictions = []
    gc.collect()
    start = time.perf_counter()
    for _, data, url, _ in pages:
        predictions.append(extract(data, url))
    elapsed = time.perf_counter() - start
    tracemalloc.start()
    for _, data, url, _ in pages:
        extract(data, url)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    precisions, recalls, f1s = [], [], []
    leaks = 0
    for (page_id, _, _, truth), prediction in zip(pages, predictions, strict=True):
        precision, recall, f1 = page_scores(truth, prediction)
        if precision is not None:
            precisions.append(precision)
        if recall is not None:
            recalls.append(recall)
        f1s.append(f1)
        leaks += bool(_RELATED_LINE.search(prediction))
        if verbose:
            print(f"  {name[:12]:12} {page_id[:24]:24} P={precision or 0:.3f} "
                  f"R={recall or 0:.3f} F1={f1:.3f}")
    p = sum(precisions) / len(precisions) if precisions else 0.0
    r = sum(recalls) / len(recalls) if recalls else 0.0
    return {
        "name": name, "f1": 2 * p * r / (p + r) if p + r else 0.0, "precision": p, "recall": r,
        "page_f1": sum(f1s) / len(f1s), "pages_s": len(pages) / elapsed,
        "peak_mb": peak / 1e6, "leaks": leaks, "empty": len(pages) - len(precisions),
    }


def report(folder: Path, names: list[str], verbose: bool) -> None:
    pages = load(folder)
    print(f"\n{folder} — {len(pages)} pages")
    print("| extractor | F1 | precision | recall | mean page F1 | pages/s | peak MB "
          "| empty | 'Baca juga' pages |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in names:
        row = run(name, EXTRACTORS[name], pages, verbose)
        print(f"| {row['name']} | {row['f1']:.3f} | {row['precision']:.3f} | {row['recall']:.3f} "
              f"| {row['page_f1']:.3f} | {row['pages_s']:.1f} | {row['peak_mb']:.1f} "
              f"| {row['empty']} | {row['leaks']} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, default=[DEFAULT_FOLDER])
    parser.add_argument("--only", choices=["ours", "trafilatura"], help="run one side only")
    parser.add_argument("-v", "--verbose", action="store_true", help="per-page scores")
    args = parser.parse_args(argv)
    names = list(EXTRACTORS)
    if args.only == "ours":
        names = names[:1]
    elif args.only == "trafilatura":
        names = names[1:]
    ran = False
    for folder in args.folders:
        if not (folder / "ground-truth.json").is_file():
            print(f"skipped: no benchmark data at {folder} (needs ground-truth.json and html/)")
            continue
        report(folder, names, args.verbose)
        ran = True
    if not ran:
        print("nothing to measure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
