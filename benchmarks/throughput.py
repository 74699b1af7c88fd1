"""Throughput of the distributed stack: real Redis, `celery worker` + `celery beat`, N local feeds.

    .venv/bin/python benchmarks/throughput.py                      # 10,000 sources, every 5m, 2 cycles
    .venv/bin/python benchmarks/throughput.py --sources 500 --interval 30s --cycles 3
    .venv/bin/python benchmarks/throughput.py --layout threads:2x32 --layout prefork:1x8
    .venv/bin/python benchmarks/throughput.py --full-text                    # what most users run

A feed server (benchmarks/_feedserver.py, its own process) serves N RSS feeds on
127.0.0.1 with 100 ms added latency per response: even-numbered sources answer 200
with 2 new items per poll, odd-numbered ones 304 to conditional requests; about 1 in
200 items mentions Armenia and Azerbaijan, so the shipped topic fires and its alert
goes to the webhook receiver in the same server process.

With --full-text, every source has `full_text: true`, lives on one of --hosts loopback
sites (feed and article pages on the same host, `per_host_interval` 250 ms as shipped
sites would want), and each new item's article page (a real news page from
../shared/data with the item's title, date and text put in) is fetched and parsed: the
work that dominates a real deployment.

Reference, in the same run and against the same feeds: a bare loop of
``requests.get`` + ``feedparser.parse`` (+ with --full-text ``requests.get(page)`` +
``trafilatura.extract`` for each of the 2 new items of a 200 answer), sequential and
with a thread pool as wide as the workers' total concurrency. Goal: a 5-minute cycle of 10,000 sources completes
within 5 minutes on 2 cores, poll-to-alert p95 < 5 s, every worker process < 250 MB.
Redis database 12 is flushed before and after (and nothing else is touched).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import feedparser
import redis
import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _feedserver import ARTICLE_URL, ITEMS_PER_FEED, NEW_PER_POLL, site  # noqa: E402

from worker.durations import parse_duration  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/12"  # the benchmark's own database: flushed, never another
CELERY = ROOT / ".venv" / "bin" / "celery"
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# --------------------------------------------------------------------------- processes


class Processes:
    """Every process this benchmark starts, each in its own process group, so all can be stopped."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], env: dict[str, str] | None = None,
              stdout: int | None = None) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "w")  # noqa: SIM115 - lives as long as the process
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout or log, stderr=log,
                                   start_new_session=True)
        self.started[name] = process
        return process

    def stop(self, name: str, timeout: float = 30.0) -> None:
        process = self.started.pop(name, None)
        if process is None or process.poll() is not None:
            return
        # SIGTERM to the main process only: a Celery warm shutdown lets prefork children finish
        # their task; signalling the whole group would kill them mid-task (WorkerLostError).
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        # prefork children left behind by a killed parent share its process group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    def stop_all(self) -> None:
        for name in list(self.started):
            self.stop(name)


def descendants(pid: int) -> list[int]:
    """pid and every process below it (prefork children), from /proc/<pid>/task/*/children."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    queue.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return found


def cpu_seconds(pid: int) -> float:
    """utime + stime + cutime + cstime: the process and its children it has already reaped."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(value) for value in fields[11:15]) / TICKS


def proc_mb(pid: int, file: str, field_name: str) -> float | None:
    """A kB field of /proc/<pid>/<file> in MB (None: the process is gone)."""
    try:
        with open(f"/proc/{pid}/{file}") as handle:
            for line in handle:
                if line.startswith(field_name):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def pss_mb(pid: int) -> float | None:
    """Proportional set size: shared pages (a prefork parent's imports) split among their users."""
    return proc_mb(pid, "smaps_rollup", "Pss:")


def peak_rss_mb(pid: int) -> float | None:
    return proc_mb(pid, "status", "VmHWM:")


@dataclass
class Meter:
    """CPU of whole process trees (alive processes + what they reaped) and each process's peak RSS."""

    roots: dict[str, int] = field(default_factory=dict)  # role -> pid
    peaks: dict[tuple[str, int], float] = field(default_factory=dict)
    pss_peaks: dict[tuple[str, int], float] = field(default_factory=dict)
    last_cpu: dict[int, float] = field(default_factory=dict)

    def cpu(self, role_prefix: str = "") -> float:
        total = 0.0
        for role, root in self.roots.items():
            if not role.startswith(role_prefix):
                continue
            for pid in descendants(root):
                seconds = cpu_seconds(pid)
                if seconds:
                    self.last_cpu[pid] = seconds
                total += self.last_cpu.get(pid, 0.0)
        return total

    def sample_rss(self) -> None:
        for role, root in self.roots.items():
            for pid in descendants(root):
                peak, pss = peak_rss_mb(pid), pss_mb(pid)
                name = role if pid == root else f"{role} child"
                if peak is not None:
                    self.peaks[(name, pid)] = max(peak, self.peaks.get((name, pid), 0.0))
                if pss is not None:
                    self.pss_peaks[(name, pid)] = max(pss, self.pss_peaks.get((name, pid), 0.0))


# --------------------------------------------------------------------------- config


def write_config(folder: Path, sources: int, interval: str, port: int, hosts: int = 0,
                 per_host_interval: str = "0s", database_url: str = "") -> Path:
    """A config folder like the shipped one: N sources, the shipped topic, one webhook channel."""
    folder.mkdir(parents=True, exist_ok=True)
    shipped = yaml.safe_load((ROOT / "config" / "topics.yaml").read_text())
    topics = [{**topic, "channels": ["bench-webhook"]} for topic in shipped["topics"]]
    (folder / "topics.yaml").write_text(yaml.safe_dump({"terms": shipped["terms"], "topics": topics},
                                                       allow_unicode=True))
    (folder / "channels.yaml").write_text(yaml.safe_dump({"channels": [{
        "id": "bench-webhook", "type": "webhook", "url": f"http://127.0.0.1:{port}/hook", "format": "json",
    }]}))
    (folder / "settings.yaml").write_text(yaml.safe_dump({"settings": {
        "redis_url": REDIS_URL, "allow_private_networks": True, "per_host_interval": per_host_interval,
        # Without full text every feed is its own site in effect (one 127.0.0.1 host); with it,
        # the sites are real hosts and keep the shipped per-site concurrency.
        **({} if hosts else {"per_host_concurrency": 256}), "tick_every": "1s",
        # The cycle measured is every source at its `every:` (benchmarks/adaptive.py
        # measures adaptive polling): its 304 feeds would otherwise be polled less.
        "adaptive": False,
        # Every parsed article kept for `history`, in PostgreSQL as docker-compose.yml runs it.
        **({"database_url": database_url} if database_url else {}),
    }}))
    # Written by hand: yaml.safe_dump of 10,000 mappings is slow and this is plainly valid YAML.
    lines = ["sources:"]
    for index in range(sources):
        base = site(index, hosts, port) if hosts else f"http://127.0.0.1:{port}"
        lines += [f"  - id: src-{index}", f"    url: {base}/f/{index}.xml",
                  "    kind: feed", f"    every: {interval}", "    language: id"]
        if hosts:
            lines.append("    full_text: true")
    (folder / "sources.yaml").write_text("\n".join(lines) + "\n")
    return folder


BENCH_DATABASE = "newswatch_bench"


def fresh_history_database(server: str) -> str:
    """An empty database of the benchmark's own on the machine's PostgreSQL ('' if none runs)."""
    try:
        import psycopg

        with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=3) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {BENCH_DATABASE} ENCODING 'UTF8' TEMPLATE template0")
    except Exception as error:  # noqa: BLE001 - any failure means: run without history
        print(f"no PostgreSQL at {server} ({error}): history off", file=sys.stderr)
        return ""
    return f"{server}/{BENCH_DATABASE}"


def parse_seconds(text: str) -> float:
    """An interval as the config writes it ("30s", "5m"), read by the config's own reader."""
    seconds = parse_duration(text)
    if seconds is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r}")
    return seconds


# --------------------------------------------------------------------------- feed server


class FeedServer:
    def __init__(self, processes: Processes, sources: int, extra_items: int, latency: float,
                 slow_every: int = 0, slow_latency: float = 0.0, hosts: int = 0) -> None:
        command = [sys.executable, str(ROOT / "benchmarks" / "_feedserver.py"), "--sources", str(sources),
                   "--extra-items", str(extra_items), "--latency", str(latency),
                   "--slow-every", str(slow_every), "--slow-latency", str(slow_latency),
                   "--hosts", str(hosts)]
        self.hosts = hosts
        self.process = processes.start("feedserver", command, stdout=subprocess.PIPE)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()  # blocks while the feeds are pre-rendered
        if not line.startswith("ready "):
            raise SystemExit(f"feed server did not start: {line!r}")
        self.port = int(line.split()[1])

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=60) as response:
            return json.loads(response.read())

    def url(self, source: int, path: str) -> str:
        return (site(source, self.hosts, self.port) if self.hosts else f"http://127.0.0.1:{self.port}") + path


# --------------------------------------------------------------------------- bare loop


@dataclass
class BareResult:
    label: str
    polls: int
    ok: int
    not_modified: int
    seconds: float
    cpu: float
    pages: int = 0

    def row(self) -> list[str]:
        return [self.label, str(self.polls), f"{self.ok}/{self.not_modified}", str(self.pages),
                f"{self.polls / self.seconds:.1f}" if self.seconds else "-",
                f"{self.pages / self.seconds:.1f}" if self.seconds else "-",
                f"{self.cpu / self.polls * 1000:.1f}" if self.polls else "-",
                f"{self.cpu / (self.polls + self.pages) * 1000:.1f}" if self.polls else "-"]


BARE_HEADER = ["bare loop", "polls", "200/304", "pages", "polls/s", "pages/s", "cpu ms/poll",
               "cpu ms/request"]


def bare_pass(label: str, feeds: FeedServer, order: list[int], threads: int, budget: float,
              etags: dict[int, str], full_text: bool) -> tuple[BareResult, list[int]]:
    """requests.get + feedparser.parse over `order` until done or `budget` seconds passed;
    with `full_text`, also requests.get + trafilatura.extract of the 2 newest items' pages.

    Sends If-None-Match when `etags` knows the source (what any poller does), records new ETags.
    """
    import trafilatura

    lock = threading.Lock()
    todo: Iterator[int] = iter(order)
    done: list[int] = []
    counts = Counter()
    deadline = time.monotonic() + budget

    def loop() -> None:
        session = requests.Session()
        while time.monotonic() < deadline:
            with lock:
                source = next(todo, None)
            if source is None:
                return
            headers = {"If-None-Match": etags[source]} if source in etags else {}
            response = session.get(feeds.url(source, f"/b/{source}.xml"), headers=headers, timeout=60)
            pages = 0
            if response.status_code == 200:
                parsed = feedparser.parse(response.content)
                assert len(parsed.entries) == ITEMS_PER_FEED, len(parsed.entries)
                if full_text and source % 2 == 0:  # the sources that publish: 2 new items a poll
                    for entry in parsed.entries[:NEW_PER_POLL]:
                        page = session.get(entry.link + "?bare", timeout=60)
                        assert trafilatura.extract(page.text), entry.link
                        pages += 1
            with lock:
                counts[response.status_code] += 1
                counts["pages"] += pages
                done.append(source)
                if response.headers.get("ETag"):
                    etags[source] = response.headers["ETag"]

    started, cpu = time.monotonic(), time.process_time()  # only the bare threads run now
    workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
    result = BareResult(label, len(done), counts[200], counts[304], elapsed, cpu, counts["pages"])
    return result, done


def bare_loops(feeds: FeedServer, sources: int, concurrency: int, budget: float,
               full_text: bool) -> list[BareResult]:
    results = []
    for label, threads, share in (("sequential", 1, 0.3), (f"{concurrency} threads", concurrency, 0.7)):
        etags: dict[int, str] = {}
        cold, done = bare_pass(f"bare {label}, cold", feeds, list(range(sources)), threads, budget * share / 2,
                               etags, full_text)
        # Same sources again with their validators: half 304, half 200 — the steady-state mix.
        warm, _ = bare_pass(f"bare {label}, conditional", feeds, done, threads, budget * share / 2, etags,
                            full_text)
        results += [cold, warm]
    return results


# --------------------------------------------------------------------------- analysis


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Snapshot:
    at: float  # wall clock
    polls: int
    cpu: float
    pages: int = 0


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    line = "  ".join(f"{{:>{w}}}" for w in widths)
    out = [line.format(*header), line.format(*("-" * w for w in widths))]
    out += [line.format(*row) for row in rows]
    return "\n".join(out)


def analyse(layout: str, n: int, interval: float, cycles: int, log: dict, snapshots: list[Snapshot],
            t0: float, ended: float, meter: Meter, worker_logs: list[Path]) -> dict:
    polls = sorted((tuple(p) for p in log["polls"]), key=lambda p: p[1])
    by_source: dict[int, list[tuple[float, int, int]]] = defaultdict(list)
    for source, at, status, lo in polls:
        by_source[source].append((at, status, lo))
    # Per cycle k: the k-th poll of every source.
    cycle_rows = []
    verdicts = []
    for k in range(1, cycles + 1):
        times = [entries[k - 1][0] for entries in by_source.values() if len(entries) >= k]
        done = len(times)
        if k == 1:
            span = max(times) - t0 if times else float("nan")
            within = done == n and span <= interval
            lateness = span
        else:
            gaps = [entries[k - 1][0] - entries[k - 2][0] for entries in by_source.values() if len(entries) >= k]
            # A source whose k-th poll has not come by the end is late by at least (end - (k-1)-th poll).
            missing = [ended - entries[k - 2][0] for entries in by_source.values() if len(entries) == k - 1]
            worst = max(gaps + missing) if gaps or missing else float("nan")
            # Sources whose k-th poll was not due yet when the run ended are not late: only
            # the gaps count, with the goal's 10 s of slack.
            within = worst <= interval + 10.0
            lateness = worst
            span = (max(times) - min(times)) if times else float("nan")
        verdicts.append(within)
        cycle_rows.append([str(k), f"{done}/{n}", f"{span:.0f}", f"{lateness:.0f}", "yes" if within else "NO"])
    # The steady state: once every source has had its first (cold, backlog-reading) poll,
    # every gap between two polls of a source, and every source still waiting at the end.
    cold_end = max((entries[0][0] for entries in by_source.values()), default=t0) \
        if len(by_source) == n else ended
    steady = [b[0] - a[0] for entries in by_source.values() for a, b in itertools.pairwise(entries)
              if a[0] >= cold_end]
    steady += [ended - entries[-1][0] for entries in by_source.values()
               if entries[-1][0] >= cold_end and ended - entries[-1][0] > interval]
    steady_row = {"cold_s": cold_end - t0, "steady_s": ended - cold_end, "gaps": len(steady),
                  "worst": max(steady, default=float("nan")),
                  "late": sum(1 for gap in steady if gap > interval + 10.0)}
    # Polls within much less than the interval: the same source dispatched twice.
    early = sum(1 for entries in by_source.values() for a, b in itertools.pairwise(entries)
                if b[0] - a[0] < interval * 0.5)

    # The first 200 answer of a source that carried item `seq` is the poll that found it.
    def found_at(source: int, seq: int) -> float | None:
        for at, status, lo in by_source.get(source, []):
            if status == 200 and lo <= seq < lo + ITEMS_PER_FEED:
                return at
        return None

    latencies: dict[int, list[float]] = defaultdict(list)  # window -> seconds
    unmatched = 0
    for arrived, url, _delivery in log["alerts"]:
        match = ARTICLE_URL.search(url)
        start = found_at(int(match.group(1)), int(match.group(2))) if match else None
        if start is None:
            unmatched += 1
            continue
        window = min(cycles, int((start - t0) // interval) + 1)
        latencies[window].append(arrived - start)

    pages = [tuple(p) for p in log.get("pages", [])]
    fetched_twice = sum(count - 1 for count in Counter((source, seq) for source, seq, _ in pages).values()
                        if count > 1)
    # Per time window of one interval: polls, new entries, pages, CPU, alerts.
    window_rows = []
    for k in range(1, cycles + 1):
        lo_t, hi_t = t0 + (k - 1) * interval, min(t0 + k * interval, ended)
        if k == cycles:
            hi_t = ended
        in_window = [p for p in polls if lo_t <= p[1] < hi_t]
        pages_in = sum(1 for _, _, at in pages if lo_t <= at < hi_t)
        new_entries = 0
        for source, at, status, lo in in_window:
            if status != 200:
                continue
            previous = [e for e in by_source[source] if e[0] < at and e[1] == 200]
            new_entries += ITEMS_PER_FEED if not previous else min(ITEMS_PER_FEED, lo - previous[-1][2])
        before = max((s for s in snapshots if s.at <= lo_t), key=lambda s: s.at, default=snapshots[0])
        after = min((s for s in snapshots if s.at >= hi_t), key=lambda s: s.at, default=snapshots[-1])
        cpu = after.cpu - before.cpu
        seconds = max(hi_t - lo_t, 1e-9)
        lat = latencies.get(k, [])
        window_rows.append([
            str(k), f"{seconds:.0f}", str(len(in_window)), f"{len(in_window) / seconds:.1f}", str(new_entries),
            str(pages_in), f"{cpu:.0f}", f"{cpu / len(in_window) * 1000:.1f}" if in_window else "-",
            f"{cpu / (len(in_window) + pages_in) * 1000:.1f}" if in_window else "-", str(len(lat)),
            f"{statistics.median(lat):.2f}" if lat else "-", f"{percentile(lat, 0.95):.2f}" if lat else "-",
        ])
    all_lat = [value for values in latencies.values() for value in values]
    total_cpu = snapshots[-1].cpu - snapshots[0].cpu
    warnings = Counter()
    for path in worker_logs:
        text = path.read_text(errors="replace") if path.exists() else ""
        warnings["pool full, connection discarded"] += text.count("Connection pool is full")
        warnings["poll errors"] += sum(1 for line in text.splitlines()
                                       if "task=poll_source" in line and "status=error" in line)
        warnings["tracebacks"] += text.count("Traceback")
    return {
        "layout": layout, "cycle_rows": cycle_rows, "window_rows": window_rows, "verdicts": verdicts,
        "early": early, "unmatched": unmatched, "alerts": len(log["alerts"]), "polls": len(polls),
        "seconds": ended - t0, "cpu": total_cpu, "latencies": all_lat, "warnings": warnings,
        "steady": steady_row,
        "peaks": sorted(meter.peaks.items()), "pss": dict(meter.pss_peaks), "pages": len(pages),
        "fetched_twice": fetched_twice,
    }


def report(result: dict, interval: float) -> None:
    print(f"\n=== layout {result['layout']} ===")
    print(f"polls: {result['polls']} in {result['seconds']:.0f} s = {result['polls'] / result['seconds']:.1f}/s;"
          f" worker+beat CPU {result['cpu']:.0f} s = {result['cpu'] / max(1, result['polls']) * 1000:.1f} ms/poll")
    print(f"worker startup CPU (not counted above) {result['startup_cpu']:.1f} s; on the same cores meanwhile: "
          f"feed server + receiver {result['feedserver_cpu']:.0f} s, redis-server {result['redis_cpu']:.0f} s")
    print("\nper cycle (k-th poll of every source); 'worst' = cycle 1: last poll after start, "
          "k>1: longest gap between a source's polls")
    print(table(["cycle", "polled", "span s", "worst s", f"within {interval:.0f}s"], result["cycle_rows"]))
    st = result["steady"]
    print(f"\ncold cycle (every source's first poll) took {st['cold_s']:.0f} s; steady state after it: "
          f"{st['steady_s']:.0f} s, {st['gaps']} gaps between polls, worst {st['worst']:.1f} s "
          f"(goal <= interval + 10 s = {interval + 10:.0f} s), {st['late']} over it")
    print("\nper window of one interval (polls of any cycle that started in it)")
    print(table(["window", "s", "polls", "polls/s", "new entries", "pages", "cpu s", "cpu ms/poll",
                 "cpu ms/request", "alerts", "p50 s", "p95 s"], result["window_rows"]))
    if result["hosts"]:
        print(f"article pages fetched: {result['pages']} (fetched more than once: {result['fetched_twice']}); "
              f"robots.txt fetched {result['robots']} times for {result['hosts']} sites")
    lat = result["latencies"]
    if lat:
        print(f"poll-to-alert over all {len(lat)} alerts: p50 {statistics.median(lat):.2f} s, "
              f"p95 {percentile(lat, 0.95):.2f} s, max {max(lat):.2f} s")
    print(f"alerts received: {result['alerts']} (not matched to a poll: {result['unmatched']}); "
          f"sources polled again within half an interval: {result['early']}")
    print("log counts: " + ", ".join(f"{k}: {v}" for k, v in result["warnings"].items()))
    print("\npeak RSS (VmHWM) and peak PSS per process")
    print(table(["process", "pid", "RSS MB", "PSS MB"],
                [[name, str(pid), f"{mb:.0f}", f"{result['pss'].get((name, pid), 0):.0f}"]
                 for (name, pid), mb in result["peaks"]]))


# --------------------------------------------------------------------------- one layout


def parse_layout(text: str) -> tuple[str, int, int]:
    pool, _, shape = text.partition(":")
    count, _, concurrency = shape.partition("x")
    if pool not in ("threads", "prefork", "solo") or not count.isdigit() or not concurrency.isdigit():
        raise argparse.ArgumentTypeError(f"layout must look like threads:2x32 or prefork:1x8, not {text!r}")
    return pool, int(count), int(concurrency)


def run_layout(args: argparse.Namespace, layout: str, workdir: Path, processes: Processes) -> dict:
    pool, count, concurrency = parse_layout(layout)
    interval = parse_seconds(args.interval)
    store = redis.Redis.from_url(REDIS_URL)
    store.flushdb()  # db 12 only
    extra = NEW_PER_POLL * (args.cycles + 4) + 4  # enough new items even with some early re-polls
    hosts = args.hosts if args.full_text else 0
    feeds = FeedServer(processes, args.sources, extra, args.latency, args.slow_every, args.slow_latency, hosts)
    database_url = fresh_history_database(args.postgres) if args.postgres else ""
    config = write_config(workdir / f"config-{pool}", args.sources, args.interval, feeds.port, hosts,
                          args.per_host_interval or ("250ms" if hosts else "0s"), database_url)
    env = {**os.environ, "NEWSWATCH_CONFIG": str(config)}
    for name in ("REDIS_URL", "NEWSWATCH_BROKER_URL"):
        env.pop(name, None)
    meter = Meter()
    # The feed server and redis-server share the 2 cores with the workers: measured, not charged.
    others = Meter(roots={"feedserver": feeds.process.pid})
    redis_pid = int(store.info("server")["process_id"])
    worker_logs = []
    for index in range(count):
        name = f"{pool}-worker{index + 1}"
        command = [str(CELERY), "-A", "worker.app", "worker", "--pool", pool, "--concurrency", str(concurrency),
                   "-n", f"bench{index + 1}@%h", "-Q", "newswatch,fetch", "--loglevel", "INFO",
                   "--without-gossip", "--without-mingle", "--without-heartbeat"]
        meter.roots[name] = processes.start(name, command, env).pid
        worker_logs.append(processes.logs / f"{name}.log")
    # Deliveries on their own worker, as docker-compose.yml runs them.
    deliver = [str(CELERY), "-A", "worker.app", "worker", "--pool", "threads", "--concurrency", "16",
               "-n", "deliver@%h", "-Q", "deliver", "--loglevel", "INFO",
               "--without-gossip", "--without-mingle", "--without-heartbeat"]
    meter.roots[f"{pool}-deliver"] = processes.start(f"{pool}-deliver", deliver, env).pid
    worker_logs.append(processes.logs / f"{pool}-deliver.log")
    deadline = time.monotonic() + 180
    while not all("ready." in path.read_text(errors="replace") for path in worker_logs):
        if time.monotonic() > deadline:
            raise SystemExit("workers were not ready within 180 s; see " + str(processes.logs))
        time.sleep(0.5)
    startup_cpu = meter.cpu()
    others_before, redis_before = others.cpu(), cpu_seconds(redis_pid)
    beat = [str(CELERY), "-A", "worker.app", "beat", "--loglevel", "INFO",
            "--schedule", str(workdir / f"{pool}-beat-schedule")]
    meter.roots["beat"] = processes.start(f"{pool}-beat", beat, env).pid
    print(f"[{layout}] workers ready (startup CPU {startup_cpu:.1f} s); beat started", flush=True)

    snapshots: list[Snapshot] = []
    t0 = None
    stop_at = time.time() + args.cycles * interval + 180  # bounded even if no poll ever comes
    last_print = 0.0
    while time.time() < stop_at:
        stats = feeds.get("/__stats")
        now = time.time()
        snapshots.append(Snapshot(now, stats["polls"], meter.cpu(), stats["pages"]))
        meter.sample_rss()
        if t0 is None and stats["polls"]:
            t0 = feeds.get("/__log")["polls"][0][1]  # the first poll's start opens cycle 1
            stop_at = t0 + args.cycles * interval + args.grace
        if now - last_print >= 15:
            last_print = now
            since = f"{now - t0:.0f}" if t0 else "-"
            print(f"[{layout}] t={since}s polls={stats['polls']} pages={stats['pages']} alerts={stats['alerts']} "
                  f"cpu={snapshots[-1].cpu:.0f}s", flush=True)
        time.sleep(1.0)
    ended = time.time()
    meter.sample_rss()
    final = feeds.get("/__stats")
    snapshots.append(Snapshot(ended, final["polls"], meter.cpu(), final["pages"]))
    others_cpu, redis_cpu = others.cpu() - others_before, cpu_seconds(redis_pid) - redis_before
    log = feeds.get("/__log")
    (processes.logs / f"{pool}-feedlog.json").write_text(json.dumps(log))  # kept with --keep
    processes.stop(f"{pool}-beat")
    for index in range(count):
        processes.stop(f"{pool}-worker{index + 1}")
    processes.stop(f"{pool}-deliver")
    processes.stop("feedserver")
    store.flushdb()
    if t0 is None:
        raise SystemExit(f"no poll reached the feed server; see logs in {processes.logs}")
    # CPU counted from the workers being ready: their startup (imports, config) is a one-off, shown apart.
    snapshots.insert(0, Snapshot(t0 - 1e-6, 0, startup_cpu))
    result = analyse(layout, args.sources, interval, args.cycles, log, snapshots, t0, ended, meter, worker_logs)
    result.update(startup_cpu=startup_cpu, feedserver_cpu=others_cpu, redis_cpu=redis_cpu,
                  robots=final["robots"], hosts=hosts)
    return result


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--interval", default="5m", help="every: of each source (s, m, h)")
    parser.add_argument("--cycles", type=int, default=2, help="run this many intervals after the first poll")
    parser.add_argument("--layout", action="append", type=str,
                        help="pool:PROCESSESxCONCURRENCY, repeatable (default prefork:1x8)")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to every feed response")
    parser.add_argument("--slow-every", type=int, default=0,
                        help="about 1 source in N answers after --slow-latency seconds (0: none)")
    parser.add_argument("--slow-latency", type=float, default=5.0)
    parser.add_argument("--grace", type=float, default=15.0, help="seconds after the last cycle for alerts")
    parser.add_argument("--bare-seconds", type=float, default=90.0, help="time budget of all bare loops")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (configs, logs)")
    parser.add_argument("--full-text", action="store_true",
                        help="sources with full_text: true; every new item's article page is fetched and parsed")
    parser.add_argument("--hosts", type=int, default=67, help="with --full-text: sites (loopback addresses)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432",
                        help="PostgreSQL server for the article history, as compose runs it ('' for none)")
    parser.add_argument("--per-host-interval", default=None,
                        help="the per_host_interval setting (default 250ms with --full-text, else 0s)")
    args = parser.parse_args()
    layouts = args.layout or ["prefork:1x8"]  # what docker-compose.yml runs
    for layout in layouts:
        parse_layout(layout)

    workdir = Path(tempfile.mkdtemp(prefix="newswatch-throughput-"))
    processes = Processes(workdir)
    # SIGTERM (and SIGHUP) end the run like Ctrl-C: through the finally below.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.default_int_handler)
    results, bare = [], []
    try:
        print(f"throughput: {args.sources} sources, every {args.interval}, {args.cycles} cycles, "
              f"{args.latency * 1000:.0f} ms latency"
              + (f", 1 in {args.slow_every} sources {args.slow_latency:g} s" if args.slow_every else "")
              + f"; logs in {workdir}", flush=True)
        _pool, count, concurrency = parse_layout(layouts[0])
        # The bare loops run first, alone on the machine, against the same (non-rotating) feeds.
        feeds = FeedServer(processes, args.sources, 0, args.latency, args.slow_every, args.slow_latency,
                           args.hosts if args.full_text else 0)
        bare = bare_loops(feeds, args.sources, count * concurrency, args.bare_seconds, args.full_text)
        processes.stop("feedserver")
        print(table(BARE_HEADER, [b.row() for b in bare]))
        for layout in layouts:
            results.append(run_layout(args, layout, workdir, processes))
            report(results[-1], parse_seconds(args.interval))
    except KeyboardInterrupt:
        print("interrupted: stopping everything", file=sys.stderr)
    finally:
        processes.stop_all()
        redis.Redis.from_url(REDIS_URL).flushdb()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if results:
        print("\n=== summary (goal: cycle within interval, poll-to-alert p95 < 5 s, each process < 250 MB) ===")
        rows = [[b.label, f"{b.polls / b.seconds:.1f}", f"{b.pages / b.seconds:.1f}",
                 f"{b.cpu / max(1, b.polls) * 1000:.1f}", "-", "-", "-", "-", "-"] for b in bare]
        for r in results:
            lat = r["latencies"]
            rows.append([
                f"newswatch {r['layout']}", f"{r['polls'] / r['seconds']:.1f}", f"{r['pages'] / r['seconds']:.1f}",
                f"{r['cpu'] / max(1, r['polls']) * 1000:.1f}",
                f"{statistics.median(lat):.2f}" if lat else "-", f"{percentile(lat, 0.95):.2f}" if lat else "-",
                f"{max(mb for _, mb in r['peaks']):.0f}" if r["peaks"] else "-",
                " ".join("yes" if v else "NO" for v in r["verdicts"]),
                f"{r['steady']['worst']:.0f} ({r['steady']['late']} late)",
            ])
        print(table(["run", "polls/s", "pages/s", "cpu ms/poll", "p50 s", "p95 s", "max RSS MB",
                     "cycles within", "steady worst gap s"], rows))


if __name__ == "__main__":
    main()
