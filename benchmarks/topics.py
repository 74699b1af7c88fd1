"""Topic matching speed: our single Aho-Corasick index against one regex per topic.

    .venv/bin/python benchmarks/topics.py [--sizes 10,1000,10000] [--articles 20] [--seed 7]

Synthetic but deterministic (seeded): a vocabulary of 200,000 pseudo-words,
~5 KB articles drawn from it with a Zipf distribution (frequency ~ 1/rank),
plus the first words of four random topics' queries dropped in, so some
topics really match; topics of realistic boolean shapes (OR groups, AND, NOT,
NEAR/n, phrases, prefixes, title:) over words outside the 2,000 most frequent
(topic terms are names and keywords, not "the"), about five terms each, so
10,000 topics carry about 50,000 terms. Each article still contains a few
hundred of those terms at 10,000 topics, so hundreds of candidate topics are
evaluated per article.

Reference, in the same run: the naive approach, one compiled ``re`` regex per
topic (an alternation of its terms, each its own named group, anchored on
the spaces between words), run over the same normalised text topic by topic, and the
same boolean evaluation. Both sides share tokenisation, so the comparison is
term finding + evaluation. Checks, printed before the timings:

* overlap: keywords nested in each other (word / phrase / longer phrase /
  prefixes) all fire, inside the full 10,000-topic index;
* agreement: at each size our matches equal an exhaustive per-term search
  (``str.find`` of every key), and the naive matches (reported: the naive
  regex can lose terms that overlap an earlier alternative).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from worker.models import Article, Topic  # noqa: E402
from worker.topics import compile_topics  # noqa: E402
from worker.topics.index import Scan, TopicIndex, evaluate  # noqa: E402

ARTICLE_CHARS = 5_000
VOCABULARY = 200_000
TERM_MIN_RANK = 2_000  # topic terms are not among the 2,000 most frequent words
INJECTED_TOPICS = 4  # per article
CONSONANTS = "bcdfghjklmnprstvz"
VOWELS = "aeiou"


# --------------------------------------------------------------------------- synthetic data


def vocabulary(rng: random.Random, size: int) -> list[str]:
    words: dict[str, None] = {}
    while len(words) < size:
        syllables = rng.choice((2, 2, 3, 3, 3, 4))
        word = "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(syllables))
        words[word] = None
    return list(words)


def topic_query(rng: random.Random, vocab: list[str]) -> str:
    # Topic terms are mid- and low-frequency words, like names in real topics.
    def w() -> str:
        return vocab[rng.randrange(TERM_MIN_RANK, len(vocab))]

    def p() -> str:
        return f'"{w()} {w()}"'

    def x() -> str:
        word = w()
        return word[: max(5, len(word) - 2)] + "*"

    shape = rng.randrange(6)
    if shape == 0:
        return f"({w()} OR {w()} OR {w()}) AND ({w()} OR {w()})"
    if shape == 1:
        return f"{w()} OR {p()} OR {x()} OR {w()}"
    if shape == 2:
        return f"({w()} OR {w()}) NEAR/10 ({w()} OR {x()}) AND NOT {w()}"
    if shape == 3:
        return f"title:{w()} OR ({w()} AND {w()} AND NOT {w()}) OR {w()}"
    if shape == 4:
        return f"{p()} OR ({x()} AND ({w()} OR {w()} OR {w()}))"
    return f"{w()} {w()} OR {p()} OR {w()} NEAR/5 {w()}"


def make_topics(rng: random.Random, vocab: list[str], count: int) -> list[Topic]:
    return [Topic(f"t{i}", f"Topic {i}", topic_query(rng, vocab)) for i in range(count)]


@lru_cache(maxsize=2)
def zipf_cumulative(size: int) -> list[float]:
    return list(accumulate(1.0 / (rank + 10) for rank in range(size)))


def make_article(rng: random.Random, vocab: list[str], topics: list[Topic], n: int) -> Article:
    words: list[str] = []
    size = 0
    while size < ARTICLE_CHARS:
        chunk = rng.choices(vocab, cum_weights=zipf_cumulative(len(vocab)), k=50)
        words.extend(chunk)
        size += sum(len(x) + 1 for x in chunk)
    # A few whole topics' words placed side by side, so that some topics
    # (with their phrases and NEARs) really match, as in a real news stream.
    for _ in range(INJECTED_TOPICS):
        at = rng.randrange(len(words))
        words[at:at] = re.findall(r"[a-z]+", rng.choice(topics).query)[:4]
    text = " ".join(words)[:ARTICLE_CHARS]
    text = text.replace(" ", ". ", 1)
    title = " ".join(rng.choices(vocab[:3000], k=8))
    return Article(id=f"a{n}", url="", canonical_url="", title=title.capitalize(), text=text)


# --------------------------------------------------------------------------- reference matchers


class NaiveRegex:
    """One compiled regex per topic, run topic by topic."""

    def __init__(self, index: TopicIndex) -> None:
        self.index = index
        self.topics = []
        for compiled in index.topics:
            groups = []
            for term in compiled.query.terms:
                atom = index.atom_of(term)
                body = re.escape(" ".join(term.words))
                tail = "" if term.prefix else "(?= )"
                groups.append(f"(?P<a{atom}>{body}){tail}")
            # " (?:word(?= )|prefix|...)": the literal leading space lets re skip
            # quickly to word starts; the trailing one is only looked at, so
            # the next word can still match.
            alternation = "|".join(dict.fromkeys(groups))
            self.topics.append((compiled, re.compile(f" (?:{alternation})")))

    def match(self, scan: Scan, joined: str, word_at: dict[int, int]) -> list[str]:
        out = []
        for compiled, pattern in self.topics:
            hits: dict[int, list[int]] = {}
            for m in pattern.finditer(joined):
                hits.setdefault(int(m.lastgroup[1:]), []).append(word_at[m.start() + 1])
            if hits:
                scan.hits = hits
                if evaluate(compiled.program, scan):
                    out.append(compiled.topic.id)
        return out


def exhaustive(index: TopicIndex, scan: Scan, joined: str, word_at: dict[int, int]) -> list[str]:
    """Every key searched on its own with str.find: slow, obviously complete."""
    hits: dict[int, list[int]] = {}
    for (words, prefix), atom in index._atom_ids.items():
        key = " " + " ".join(words) + ("" if prefix else " ")
        at = joined.find(key)
        while at >= 0:
            hits.setdefault(atom, []).append(word_at[at + 1])
            at = joined.find(key, at + 1)
    scan.hits = hits
    return [c.topic.id for c in index.topics if evaluate(c.program, scan)]


def joined_text(scan: Scan) -> tuple[str, dict[int, int]]:
    """The normalised text the automaton runs over, and word start offsets."""
    parts, word_at, offset = [" "], {}, 1
    for i, word in enumerate(scan.norms):
        if i == scan.title_words:
            parts.append("\x01 ")
            offset += 2
        word_at[offset] = i
        parts.append(word + " ")
        offset += len(word) + 1
    if scan.title_words == len(scan.norms):
        parts.append("\x01 ")
    return "".join(parts), word_at


# --------------------------------------------------------------------------- checks


OVERLAP_TOPICS = [
    Topic("ov-word", "w", "karabakh"),
    Topic("ov-phrase", "p", '"nagorno karabakh"'),
    Topic("ov-long", "l", '"nagorno karabakh conflict"'),
    Topic("ov-inner", "i", '"karabakh conflict"'),
    Topic("ov-prefix", "x", "kara*"),
    Topic("ov-prefix-short", "y", "ka*"),
    Topic("ov-prefix-phrase", "z", '"nagorno kara"*'),
    Topic("ov-near", "n", "nagorno NEAR/2 conflict*"),
    Topic("ov-title", "t", "title:karabakh"),
]
OVERLAP_ARTICLE = Article(id="ov", url="", canonical_url="", title="Karabakh",
                          text="The Nagorno-Karabakh conflict")


def overlap_check(index: TopicIndex) -> bool:
    found = {m.topic_id for m in index.match(OVERLAP_ARTICLE)}
    expected = {t.id for t in OVERLAP_TOPICS}
    missing = expected - found
    print(f"overlap check ({len(index)} topics): "
          + ("ok, all 9 nested keywords fired" if not missing else f"MISSING {sorted(missing)}"))
    return not missing


# --------------------------------------------------------------------------- timing


def per_article_us(fn, articles, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for article in articles:
            fn(article)
        best = min(best, (time.perf_counter() - start) / len(articles))
    return best * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,1000,10000")
    parser.add_argument("--articles", type=int, default=20)
    parser.add_argument("--naive-articles", type=int, default=5,
                        help="articles timed for the (slow) naive matcher")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=7, help="timing rounds for ours")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]

    rng = random.Random(args.seed)
    vocab = vocabulary(rng, VOCABULARY)
    all_topics = make_topics(rng, vocab, max(sizes))
    articles = [make_article(rng, vocab, all_topics, n) for n in range(args.articles)]
    avg_chars = sum(len(a.title) + len(a.text) for a in articles) / len(articles)
    print(f"{len(articles)} articles of ~{avg_chars / 1000:.1f} KB, vocabulary {len(vocab):,} "
          f"words, seed {args.seed}")

    ok = True
    built: dict[int, tuple[TopicIndex, float]] = {}
    for size in sizes:
        start = time.perf_counter()
        index = compile_topics(all_topics[:size])
        built[size] = (index, time.perf_counter() - start)

    # Correctness before speed: ours == exhaustive search; naive compared too.
    checks: dict[int, tuple[float, int]] = {}
    naives = {size: NaiveRegex(index) for size, (index, _) in built.items()}
    for size, (index, _) in built.items():
        disagree_naive = matched = 0
        for article in articles:
            ours = index.matching_topic_ids(article)
            scan = index.scan(article)
            joined, word_at = joined_text(scan)
            if ours != exhaustive(index, scan, joined, word_at):
                print(f"  MISMATCH with exhaustive search: {size} topics, {article.id}")
                ok = False
            disagree_naive += ours != naives[size].match(index.scan(article), joined, word_at)
            matched += len(ours)
        checks[size] = (matched / len(articles), disagree_naive)

    # Ours: sizes interleaved, best of several rounds, so that load from other
    # processes hits every size alike instead of skewing the ratios.
    ours_us = dict.fromkeys(sizes, float("inf"))
    for _ in range(args.rounds):
        for size, (index, _) in built.items():
            ours_us[size] = min(ours_us[size], per_article_us(index.match, articles, repeat=1))

    naive_us_by_size: dict[int, float] = {}
    for size, (index, compile_s) in built.items():
        naive = naives[size]

        def run_naive(article: Article, naive: NaiveRegex = naive) -> None:
            scan = naive.index.scan(article)  # the same tokenisation as ours
            joined, word_at = joined_text(scan)
            naive.match(scan, joined, word_at)

        naive_us = per_article_us(run_naive, articles[: args.naive_articles], repeat=1)
        ours = ours_us[size]
        per_article, disagree_naive = checks[size]
        print(f"{size:>6,} topics ({index.term_count:>6,} distinct terms): compile "
              f"{compile_s:5.2f} s | ours {ours:6.0f} µs/article | naive {naive_us:9.0f} "
              f"µs/article | naive/ours {naive_us / ours:6.1f}x | "
              f"{per_article:.1f} matches/article; naive differed on {disagree_naive}")
        naive_us_by_size[size] = naive_us
    print("agreement with exhaustive per-term search: " + ("ok" if ok else "FAILED"))

    big = compile_topics(all_topics[: max(sizes)] + OVERLAP_TOPICS)
    ok &= overlap_check(big)

    small, large = min(sizes), max(sizes)
    print(f"\ncompile {large:,} topics: {built[large][1]:.2f} s (goal < 5 s)")
    print(f"ours({large:,}) / ours({small:,}): {ours_us[large] / ours_us[small]:.2f}x "
          "(goal <= 5x)")
    print(f"naive/ours at {large:,} topics: {naive_us_by_size[large] / ours_us[large]:.0f}x "
          "(goal >= 50x)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
