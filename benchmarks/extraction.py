"""Article-extraction quality and speed: our parser against trafilatura, same run.

    .venv/bin/python benchmarks/extraction.py [DATA_ROOT] [--quick] [--only ours] [-v]

DATA_ROOT (default ../shared/data relative to the project root) holds three corpora,
each read when present (see its README.md for the metrics):

- extraction-dev/      Zyte article-extraction benchmark pages: 4-token shingle
                       multisets, precision averaged over non-empty predictions, recall
                       over non-empty truths, F1 of the two means, mean per-page F1.
- indonesian-pages/    the same metric, plus pages leaking a clutter line ("Baca juga"…).
- trafilatura-eval-dev/  trafilatura's own evaluation corpus: whitespace-normalised
                       substring match of "with" / "without" snippets; a page is lost
                       when not one of its "with" snippets is found.

Every corpus is split deterministically by a hash of the page id into a TUNE half
(look at it, tune on it) and a CHECK half (only ever scored): the figures that count
are the CHECK ones. `-v` prints per-page scores of the tune half only, on purpose.
Speed is one timed pass over all pages of a corpus after a warm-up page, in wall-clock
pages/s and in pages per CPU second of this process (steady when the machine is shared).
`--quick` scores at most 40 pages per half of each corpus.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import hashlib
import importlib
import json
import re
import sys
import time
import tracemalloc
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT.parent / "shared" / "data"
SPLITS = ("tune", "check")
# dateutil warns about odd timezone names in page dates; it would break up the tables.
warnings.filterwarnings("ignore", module="dateutil")
QUICK_PAGES = 40
_TOKEN = re.compile(r"\w+")
# Indonesian furniture lines that must never reach Article.text (issue 12's list).
_CLUTTER_LINE = re.compile(
    r"^\W*(?:baca juga|baca berita tanpa iklan|simak breaking news|video rekomendasi|close ads|"
    r"bagikan artikel ini|login untuk|penulis\W*$|sumber\W{0,3}\w{0,20}\W*$)|whatsapp channel",
    re.IGNORECASE | re.MULTILINE,
)


def split_of(page_id: str) -> str:
    """'tune' or 'check', stable across runs and machines: a salted hash of the id.

    The salt keeps this split independent of the one that chose the dev pages
    (trafilatura-eval-dev holds the URLs whose sha1 starts with 0-7)."""
    digest = hashlib.sha256(f"newswatch-split-1:{page_id}".encode()).digest()
    return SPLITS[digest[0] & 1]


# --- Zyte metric -------------------------------------------------------------------------


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


def clutter_leaks(truth: str, prediction: str) -> int:
    """Clutter lines in the prediction beyond those the truth itself keeps."""
    return max(0, len(_CLUTTER_LINE.findall(prediction)) - len(_CLUTTER_LINE.findall(truth)))


def zyte_metric(pairs: Iterable[tuple[str, str]]) -> dict:
    precisions, recalls, f1s, leaks = [], [], [], 0
    for truth, prediction in pairs:
        precision, recall, f1 = page_scores(truth, prediction)
        if precision is not None:
            precisions.append(precision)
        if recall is not None:
            recalls.append(recall)
        f1s.append(f1)
        leaks += clutter_leaks(truth, prediction) > 0
    p = sum(precisions) / len(precisions) if precisions else 0.0
    r = sum(recalls) / len(recalls) if recalls else 0.0
    return {
        "F1": 2 * p * r / (p + r) if p + r else 0.0, "P": p, "R": r,
        "page F1": sum(f1s) / len(f1s) if f1s else 0.0,
        "empty": len(f1s) - len(precisions), "leaks": leaks, "pages": len(f1s),
    }


# --- trafilatura's snippet metric --------------------------------------------------------


def _fold(text: str) -> str:
    return " ".join(text.split())


def snippet_counts(with_: list[str], without: list[str], prediction: str) -> tuple[int, int, int, int]:
    """(true positives, false negatives, false positives, true negatives) for one page."""
    text = _fold(prediction)
    found = sum(_fold(s) in text for s in with_)
    leaked = sum(_fold(s) in text for s in without)
    return found, len(with_) - found, leaked, len(without) - leaked


def snippet_metric(pages: Iterable[tuple[list[str], list[str], str]]) -> dict:
    tp = fn = fp = tn = lost = count = 0
    for with_, without, prediction in pages:
        page = snippet_counts(with_, without, prediction)
        tp, fn, fp, tn = tp + page[0], fn + page[1], fp + page[2], tn + page[3]
        lost += bool(with_) and page[0] == 0
        count += 1
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"P": p, "R": r, "F1": 2 * p * r / (p + r) if p + r else 0.0, "lost": lost, "pages": count}


# --- corpora -----------------------------------------------------------------------------


@dataclass(slots=True)
class Page:
    id: str
    data: bytes
    url: str
    truth: str = ""
    with_: list[str] = field(default_factory=list)
    without: list[str] = field(default_factory=list)

    @property
    def split(self) -> str:
        return split_of(self.id)


def _read_page(folder: Path, page_id: str) -> bytes | None:
    for path in (folder / "html" / f"{page_id}.html.gz", folder / "html" / f"{page_id}.html"):
        if path.exists():
            data = path.read_bytes()
            return gzip.decompress(data) if path.suffix == ".gz" else data
    return None


def load(folder: Path) -> list[Page]:
    """Pages of a ground-truth.json corpus (Zyte layout)."""
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id, item in sorted(truth.items()):
        data = _read_page(folder, page_id)
        if data is not None:
            pages.append(Page(page_id, data, item.get("url") or "", item.get("articleBody") or ""))
    return pages


def load_snippets(folder: Path) -> list[Page]:
    """Pages of trafilatura's evaldata.json corpus (the URL is the page id)."""
    items = json.loads((folder / "evaldata.json").read_text(encoding="utf-8"))
    pages = []
    for key, item in sorted(items.items()):
        path = folder / "html" / item["file"]
        if path.exists():
            url = key.split("::", 1)[-1]
            url = url if url.startswith("http") else f"https://{url}"
            pages.append(Page(key, path.read_bytes(), url, "", list(item.get("with") or []),
                              list(item.get("without") or [])))
    return pages


@dataclass(frozen=True, slots=True)
class Corpus:
    name: str
    folder: str
    marker: str  # the file that says the corpus is there
    metric: str  # "zyte" or "snippets"
    loader: Callable[[Path], list[Page]]


CORPORA = (
    Corpus("Zyte (extraction-dev)", "extraction-dev", "ground-truth.json", "zyte", load),
    Corpus("Indonesian (indonesian-pages)", "indonesian-pages", "ground-truth.json", "zyte", load),
    Corpus("trafilatura eval (trafilatura-eval-dev)", "trafilatura-eval-dev", "evaldata.json",
           "snippets", load_snippets),
)


# --- extractors --------------------------------------------------------------------------


def ours(data: bytes, url: str) -> str:
    from worker.parser import ParseError, parse_html

    try:
        return parse_html(data, url).text
    except ParseError:
        return ""


def trafilatura_precision(data: bytes, url: str) -> str:
    import trafilatura

    return trafilatura.extract(data, url=url, favor_precision=True, include_comments=False) or ""


def trafilatura_standard(data: bytes, url: str) -> str:
    import trafilatura

    return trafilatura.extract(data, url=url, include_comments=False) or ""


EXTRACTORS: dict[str, Callable[[bytes, str], str]] = {
    "newswatch": ours,
    "trafilatura favor_precision": trafilatura_precision,
    "trafilatura standard": trafilatura_standard,
}


def run(extract: Callable[[bytes, str], str], pages: list[Page],
        memory: bool) -> tuple[list[str], float, float, float]:
    """(predictions, pages/s, pages per CPU second, peak traced MB or 0).

    Pages per CPU second counts this process's own time only: on a machine shared with
    other work, wall-clock rates of two extractors timed one after the other also
    measure how busy the machine was at each moment."""
    # Warm-up: imports and lazy initialisation, including our second opinion's (an empty
    # page asks for it), which a long-running worker pays once, not per page.
    extract(pages[0].data, pages[0].url)
    extract(b"<html><body><p>-</p></body></html>", "https://example.org/")
    gc.collect()
    start, cpu_start = time.perf_counter(), time.process_time()
    predictions = [extract(page.data, page.url) for page in pages]
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak = 0
    if memory:
        tracemalloc.start()
        for page in pages:
            extract(page.data, page.url)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return predictions, len(pages) / elapsed, len(pages) / max(cpu, 1e-9), peak / 1e6


def score(corpus: Corpus, pages: list[Page], predictions: list[str]) -> dict:
    if corpus.metric == "zyte":
        return zyte_metric((page.truth, text) for page, text in zip(pages, predictions, strict=True))
    return snippet_metric(
        (page.with_, page.without, text) for page, text in zip(pages, predictions, strict=True))


def _verbose(corpus: Corpus, name: str, pages: list[Page], predictions: list[str]) -> None:
    for page, text in zip(pages, predictions, strict=True):
        if page.split != "tune":
            continue  # the check half is scored, never looked at
        if corpus.metric == "zyte":
            p, r, f1 = page_scores(page.truth, text)
            print(f"  {name[:14]:14} {page.id[:40]:40} P={p or 0:.3f} R={r or 0:.3f} F1={f1:.3f}")
        else:
            tp, fn, fp, _ = snippet_counts(page.with_, page.without, text)
            print(f"  {name[:14]:14} {page.id[:60]:60} found={tp}/{tp + fn} leaked={fp}")


def select(pages: list[Page], quick: bool) -> list[Page]:
    if not quick:
        return pages
    chosen = []
    for split in SPLITS:
        half = sorted((p for p in pages if p.split == split),
                      key=lambda p: hashlib.sha256(p.id.encode()).digest())
        chosen.extend(half[:QUICK_PAGES])
    return chosen


def report(corpus: Corpus, folder: Path, names: list[str], quick: bool, memory: bool,
           verbose: bool) -> None:
    pages = select(corpus.loader(folder), quick)
    if not pages:
        print(f"\n{corpus.name}: no pages at {folder}")
        return
    sizes = {split: sum(p.split == split for p in pages) for split in SPLITS}
    print(f"\n### {corpus.name} — {len(pages)} pages (tune {sizes['tune']}, check {sizes['check']})")
    columns = ["F1", "P", "R", "page F1", "empty", "leaks"] if corpus.metric == "zyte" else ["P", "R", "F1", "lost"]
    extra = ["pages/s", "pages/cpu-s"] + (["peak MB"] if memory else [])
    print("| extractor | split | pages | " + " | ".join(columns + extra) + " |")
    print("| --- " * (3 + len(columns) + len(extra)) + "|")
    for name in names:
        predictions, speed, cpu_speed, peak = run(EXTRACTORS[name], pages, memory)
        if verbose:
            _verbose(corpus, name, pages, predictions)
        for split in (*SPLITS, "all"):
            index = [i for i, p in enumerate(pages) if split in ("all", p.split)]
            row = score(corpus, [pages[i] for i in index], [predictions[i] for i in index])
            cells = [f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in columns]
            cells.extend((f"{speed:.1f}", f"{cpu_speed:.1f}"))
            if memory:
                cells.append(f"{peak:.1f}")
            print(f"| {name} | {split} | {row['pages']} | " + " | ".join(cells) + " |", flush=True)


def report_captures(data_root: Path) -> None:
    """The text-capture scores of benchmarks/captures.py, when that module is there."""
    try:
        captures = importlib.import_module("captures")
    except ImportError:
        return
    print("\n### Text captures (benchmarks/captures.py: parse_text on text dumps of the pages)")
    print("| corpus | split | extractor | F1 | P | R | leaks | pages | pages/s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in captures.score_captures(data_root, "both"):
        print(f"| {row['corpus']} | {row['split']} | {row['extractor']} | {row['f1']:.3f} | "
              f"{row['precision']:.3f} | {row['recall']:.3f} | {row['leaks']} | {row['pages']} | "
              f"{row['pages_s']:.0f} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_root", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--quick", action="store_true", help=f"at most {QUICK_PAGES} pages per half")
    parser.add_argument("--only", choices=["ours", "trafilatura"], help="run one side only")
    parser.add_argument("--corpus", choices=[c.folder for c in CORPORA], action="append",
                        help="this corpus only (repeatable)")
    parser.add_argument("--memory", action="store_true", help="also a tracemalloc pass (slow)")
    parser.add_argument("-v", "--verbose", action="store_true", help="per-page scores, tune half")
    args = parser.parse_args(argv)
    names = list(EXTRACTORS)
    if args.only == "ours":
        names = names[:1]
    elif args.only == "trafilatura":
        names = names[1:]
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    ran = False
    for corpus in CORPORA:
        folder = args.data_root / corpus.folder
        if args.corpus and corpus.folder not in args.corpus:
            continue
        if not (folder / corpus.marker).is_file():
            print(f"skipped: no {corpus.name} data at {folder}")
            continue
        report(corpus, folder, names, args.quick, args.memory, args.verbose)
        ran = True
    report_captures(args.data_root)
    if not ran:
        print("nothing to measure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
