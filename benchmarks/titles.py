"""Titles without the site name: accuracy when only <title> (and the page) is left.

    .venv/bin/python benchmarks/titles.py [--data ../shared/data] [--split tune|check|both] [-v]

For every page of ../shared/data (Zyte extraction-dev, indonesian-pages,
trafilatura-eval-dev) that has a JSON-LD `headline` or an `og:title`, that value is
the truth (the headline the publisher gives search engines). It is then hidden from
the parser: JSON-LD scripts and the og:/twitter: title tags are cut out of the HTML,
and the page is parsed with `parse_html`, which must now find the headline from
<title>, <h1> and the site name alone. A title is right when it equals the truth
after folding case, whitespace and quote styles. Pages whose truth itself still
carries the site name at one end ("… - IGN": og:site_name or a label of the host)
are skipped: that truth is no bare headline.

References in the same run: the raw <title> text, and the first <h1>.
Split: the same hash of the page id as benchmarks/captures.py.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from captures import DEFAULT_DATA, SPLITS, split_of  # noqa: E402

_LD = re.compile(r"<script[^>]+ld\+json[^>]*>.*?</script>", re.IGNORECASE | re.DOTALL)
_TITLE_META = re.compile(
    r"<meta[^>]+(?:property|name)\s*=\s*[\"']?(?:og:title|twitter:title)[\"'\s][^>]*>", re.IGNORECASE
)
_SEPARATORS = re.compile(r"\s+[-|–—:·•»/]\s+")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\xa0": " "})


def fold(title: str) -> str:
    return " ".join(title.translate(_QUOTES).split()).casefold().strip(" .")


def pages(data_root: Path) -> list[dict]:
    """[{id, corpus, url, html}] of every corpus present."""
    found = []
    for corpus in ("extraction-dev", "indonesian-pages"):
        folder = data_root / corpus
        if not (folder / "ground-truth.json").is_file():
            continue
        truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
        for page_id, item in sorted(truth.items()):
            gz, plain = folder / "html" / f"{page_id}.html.gz", folder / "html" / f"{page_id}.html"
            if gz.exists() or plain.exists():
                data = gzip.decompress(gz.read_bytes()) if gz.exists() else plain.read_bytes()
                found.append({"id": page_id, "corpus": corpus, "url": item.get("url") or "",
                              "html": data})
    folder = data_root / "trafilatura-eval-dev"
    if (folder / "evaldata.json").is_file():
        evaldata = json.loads((folder / "evaldata.json").read_text(encoding="utf-8"))
        for key, item in sorted(evaldata.items()):
            path = folder / "html" / item["file"]
            if path.exists():
                url = key if key.startswith("http") else ""
                found.append({"id": key, "corpus": "trafilatura-eval-dev", "url": url,
                              "html": path.read_bytes()})
    return found


def truth_and_hidden(page: dict) -> tuple[str, str, str] | None:
    """(true headline, HTML without it, raw <title>), or None when the page gives no truth."""
    from worker.parser.document import parse_tree, to_text
    from worker.parser.metadata import extract_metadata

    text = to_text(page["html"])
    root = parse_tree(text)
    if root is None:
        return None
    meta = extract_metadata(root, page["url"] or "https://example.invalid/")
    headline = next((o["headline"] for o in meta.json_ld
                     if isinstance(o.get("headline"), str) and o["headline"].strip()), "")
    og = next((el.get("content") for el in root.iter("meta")
               if el.get("property") == "og:title" and el.get("content")), "")
    truth = " ".join(html.unescape(headline or og or "").split())
    title_el = root.find(".//title")
    raw = " ".join("".join(title_el.itertext()).split()) if title_el is not None else ""
    if not truth or not raw or _names_the_site(truth, meta.site_name, page["url"]):
        return None
    return truth, _TITLE_META.sub("", _LD.sub("", text)), raw


def _names_the_site(truth: str, site_name: str, url: str) -> bool:
    """Whether the publisher's own headline still carries its site name ("… - IGN"): such
    a truth is no bare headline to score against."""
    host = urlsplit(url).hostname or ""
    labels = {label for label in host.lower().split(".") if len(label) > 3} - {"www"}
    parts = [p.strip() for p in _SEPARATORS.split(truth)]
    if len(parts) < 2:
        return False
    edges = {fold(parts[0]), fold(parts[-1])}
    compact = {re.sub(r"\W", "", edge) for edge in edges}
    return fold(site_name) in edges or any(label in c for label in labels for c in compact)


def ours(hidden: str, url: str, raw: str) -> str:
    from worker.parser import parse_html

    return parse_html(hidden, url).title


def raw_title(hidden: str, url: str, raw: str) -> str:
    return raw


def first_h1(hidden: str, url: str, raw: str) -> str:
    from worker.parser.document import parse_tree

    root = parse_tree(hidden)
    h1 = root.find(".//h1") if root is not None else None
    return " ".join("".join(h1.itertext()).split()) if h1 is not None else ""


METHODS: dict[str, Callable[[str, str, str], str]] = {
    "newswatch parse_html": ours, "raw <title>": raw_title, "first <h1>": first_h1,
}


def score_titles(data_root: str, split: str, verbose: bool = False) -> list[dict]:
    """One row per corpus, split and method: pages and share of exact headlines."""
    wanted = SPLITS if split == "both" else (split,)
    prepared: dict[tuple[str, str], list[tuple[dict, str, str, str]]] = {}
    for page in pages(Path(data_root)):
        part = split_of(page["id"])
        if part not in wanted:
            continue
        found = truth_and_hidden(page)
        if found is None:
            continue
        truth, hidden, raw = found
        prepared.setdefault((page["corpus"], part), []).append((page, truth, hidden, raw))
    rows = []
    for (corpus, part), items in sorted(prepared.items()):
        for name, method in METHODS.items():
            right = 0
            for page, truth, hidden, raw in items:
                got = method(hidden, page["url"], raw)
                right += fold(got) == fold(truth)
                if verbose and name == "newswatch parse_html" and fold(got) != fold(truth):
                    print(f"    {corpus[:10]} {page['id'][:40]:40} got {got!r}\n{'':56}want {truth!r}")
            rows.append({"corpus": corpus, "split": part, "method": name, "pages": len(items),
                         "accuracy": right / len(items)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="the shared data folder")
    parser.add_argument("--split", default="both", choices=["tune", "check", "both"])
    parser.add_argument("-v", "--verbose", action="store_true", help="list the misses (ours)")
    args = parser.parse_args(argv)
    rows = score_titles(args.data, args.split, args.verbose)
    if not rows:
        print(f"skipped: no benchmark data under {args.data}")
        return 0
    print("| corpus | split | method | pages | exact headline |")
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        print(f"| {row['corpus']} | {row['split']} | {row['method']} | {row['pages']} "
              f"| {row['accuracy']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
