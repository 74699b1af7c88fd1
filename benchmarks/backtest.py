"""Backtest speed over 100,000 stored articles, SQLite (FTS5) and PostgreSQL (tsvector).

    .venv/bin/python benchmarks/backtest.py [--articles 100000] [--stores sqlite,postgres]
        [--postgres postgresql://postgres@127.0.0.1:5432] [--keep DIR]

Articles: ~3 KB each, built deterministically (seeded) from the sentences of real
article bodies in ../shared/data (ground-truth texts; synthetic sentences when the
folder is absent), in Indonesian and English. 1% carry a text from the labelled set
that the shipped topic must fire on, 3% one it must stay silent on (look-alikes:
Armenian recipes, the Baku Grand Prix, "bahan baku"…), so the word index lets
through more articles than finally match.

Measured, per store, in the same run:
* ours: `worker.backtest.backtest` for the shipped topic armenia-azerbaijan over the
  whole window (word index -> candidates -> the real compiled matcher);
* reference: a plain loop that loads every stored article and calls `match`
  (`history.articles(since)` without narrowing, then `compile_topics(...).match`);
* the worst case for ours: a draft query whose term is in every article, so the
  index narrows nothing (`--query` with a common word).
Both sides must find the same matches; the ratio is what counts on a noisy machine.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from worker.backtest import backtest  # noqa: E402
from worker.config import load_config  # noqa: E402
from worker.history import open_history  # noqa: E402
from worker.models import Article, Settings, SourceInfo  # noqa: E402
from worker.topics import compile_topics  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
CASES = ROOT / "tests" / "data" / "topic_cases.yaml"
SOURCES = ["kompas-global", "antara-dunia", "tempo-dunia", "bbc-world", "aljazeera", "oc-media"]
WINDOW = 30 * 86400.0


def sentences(rng: random.Random) -> list[str]:
    found: list[str] = []
    for folder in ("extraction-dev", "indonesian-pages"):
        truth = DATA / folder / "ground-truth.json"
        if truth.exists():
            for item in json.loads(truth.read_text(encoding="utf-8")).values():
                body = item.get("articleBody") or ""
                found += [s.strip() + "." for s in body.replace("\n", " ").split(". ") if len(s) > 40]
    if len(found) < 500:  # no shared data: pseudo-words, still ~3 KB per article
        syllables = [c + v for c in "bcdgjklmnprstw" for v in "aeiou"]
        words = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(20000)]
        found = [" ".join(rng.choice(words) for _ in range(rng.randint(8, 25))).capitalize() + "."
                 for _ in range(20000)]
    return found


def corpus(count: int, seed: int = 7):
    rng = random.Random(seed)
    pool = sentences(rng)
    cases = yaml.safe_load(CASES.read_text(encoding="utf-8"))["cases"]
    on_topic = [c for c in cases if c["expect"]]
    look_alike = [c for c in cases if not c["expect"]]
    now = time.time()
    for number in range(count):
        title = rng.choice(pool)[:90]
        body = []
        while sum(map(len, body)) < 3000:
            body.append(rng.choice(pool))
        language = "en"
        roll = rng.random()
        if roll < 0.01 or roll > 0.97:
            case = rng.choice(on_topic if roll < 0.01 else look_alike)
            title, language = case["title"], case["lang"]
            body.insert(rng.randrange(len(body)), case["text"])
        text = "\n\n".join(" ".join(body[i:i + 4]) for i in range(0, len(body), 4))
        source = SOURCES[number % len(SOURCES)]
        yield Article(
            id=f"bench-{number}", url=f"https://{source}.example/{number}", canonical_url="",
            title=title, text=text, language=language,
            source=SourceInfo(source, source, f"{source}.example"),
        ), now - WINDOW * (number + 0.5) / count


def fill(history, count: int) -> float:
    started = time.monotonic()
    for article, at in corpus(count):
        history.record(article, [], [], at)
    return time.monotonic() - started


def reference_loop(history, topic, since: float) -> tuple[list[str], float]:
    """The plain way: load every stored article, call match."""
    started = time.monotonic()
    index = compile_topics([topic])
    found = [s.article.id for s in history.articles(since) if index.match(s.article)]
    return found, time.monotonic() - started


def measure(name: str, settings: Settings, config, count: int) -> dict:
    history = open_history(settings)
    stored = history.count()
    fill_s = None
    if stored != count:
        print(f"[{name}] storing {count:,} articles…", flush=True)
        fill_s = fill(history, count)
        stored = history.count()
    since = time.time() - WINDOW - 3600
    topic = config.topic("armenia-azerbaijan")
    report = backtest(history, config, topic.id, None, since)
    reference, reference_s = reference_loop(history, topic, since)
    ours = [h.stored.article.id for h in report.hits]
    assert sorted(ours) == sorted(reference), "backtest and the plain loop disagree"
    worst = backtest(history, config, None, "said OR the OR yang OR dan OR kata", since)
    history.close()
    return {"store": name, "stored": stored, "fill_s": fill_s, "matches": len(ours),
            "read": report.read, "backtest_s": report.seconds, "reference_s": reference_s,
            "worst_read": worst.read, "worst_s": worst.seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--keep", metavar="DIR", help="keep (and reuse) the SQLite file here")
    args = parser.parse_args()
    config = load_config(ROOT / "config")
    folder = Path(args.keep or tempfile.mkdtemp(prefix="newswatch-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    for name in args.stores.split(","):
        if name == "sqlite":
            settings = Settings(state_path=str(folder / f"history-{args.articles}.db"))
        else:
            import psycopg

            database = f"newswatch_bench_{args.articles}"
            with psycopg.connect(f"{args.postgres}/postgres", autocommit=True) as admin:
                exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                       (database,)).fetchone()
                if not exists:
                    admin.execute(f"CREATE DATABASE {database} ENCODING 'UTF8' TEMPLATE template0")
            settings = Settings(redis_url="redis://unused", database_url=f"{args.postgres}/{database}")
        results.append(measure(name, settings, config, args.articles))
    print()
    print(f"{'store':<9} {'stored':>8} {'matches':>7} {'read':>7} {'backtest':>9} {'plain loop':>11} "
          f"{'speed-up':>8} {'worst case (read, s)':>22}")
    for r in results:
        print(f"{r['store']:<9} {r['stored']:>8,} {r['matches']:>7} {r['read']:>7,} "
              f"{r['backtest_s']:>8.2f}s {r['reference_s']:>10.2f}s "
              f"{r['reference_s'] / r['backtest_s']:>7.1f}x {r['worst_read']:>12,} {r['worst_s']:>8.2f}s")
    for r in results:
        if r["fill_s"]:
            print(f"({r['store']}: storing took {r['fill_s']:.0f} s, "
                  f"{r['fill_s'] / r['stored'] * 1000:.2f} ms per article)")


if __name__ == "__main__":
    main()
