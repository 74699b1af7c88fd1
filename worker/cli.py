"""The `newswatch` command.

Exit codes: 0 ok, 1 runtime failure, 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from .config import ConfigError, config_path, load_config
from .errors import NewswatchError
from .logs import setup_logging
from .models import Config

if TYPE_CHECKING:  # the commands import these when they run: `newswatch --help` stays quick
    from .backtest import Report
    from .embedded import EmbeddedDispatcher
    from .history import History
    from .models import Article
    from .runtime import Runtime

# A command: its parsed arguments in, its exit code out.
Handler = Callable[[argparse.Namespace], int]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UsageError(NewswatchError):
    """Bad arguments: exit 2 with the message."""


def _config(args: argparse.Namespace) -> Config:
    return load_config(args.config)


# ------------------------------------------------------------------------------ commands


def cmd_check(args: argparse.Namespace) -> int:
    config = _config(args)
    mode = "distributed (Redis)" if config.settings.redis_url else "embedded (SQLite)"
    print(f"configuration ok: {len(config.sources)} sources, {len(config.topics)} topics, "
          f"{len(config.channels)} channels; mode: {mode}")
    return EXIT_OK


@contextmanager
def _embedded(config: Config, config_arg: str | None) -> Iterator[tuple[Runtime, EmbeddedDispatcher]]:
    """The embedded runtime and its dispatcher, shut down cleanly whatever happens."""
    from .embedded import EmbeddedDispatcher
    from .runtime import Runtime

    dispatcher = EmbeddedDispatcher()
    runtime = Runtime(config, dispatcher, config_path=str(config_path(config_arg)))
    dispatcher.runtime = runtime
    try:
        yield runtime, dispatcher
    finally:
        dispatcher.shutdown()
        runtime.close()


def cmd_once(args: argparse.Namespace) -> int:
    from .embedded import run_once
    from .progress import Progress

    config = _config(args)
    progress = Progress() if Progress.wanted() else None
    if progress:
        # The live line and the closing table replace the per-task lines on a terminal;
        # errors still print, and the failures are listed in the table.
        logging.getLogger().setLevel(logging.ERROR)
    with _embedded(config, args.config) as (runtime, dispatcher):
        run_once(runtime, dispatcher, progress)
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    config = _config(args)
    if config.settings.redis_url:
        return _run_celery(args)
    from .embedded import run_forever

    if config.settings.metrics_port:
        from . import metrics

        metrics.serve(config.settings.metrics_port, config.settings.metrics_address)
    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"newswatch: embedded mode, {len(config.sources)} sources, state in "
          f"{config.settings.state_path}; Ctrl-C stops", file=sys.stderr)
    with _embedded(config, args.config) as (runtime, dispatcher):
        run_forever(runtime, dispatcher, stop)
    return EXIT_OK


def _run_celery(args: argparse.Namespace) -> int:
    """With redis_url: a Celery worker with the beat scheduler inside, as `celery … worker -B`."""
    if args.config:
        os.environ["NEWSWATCH_CONFIG"] = str(args.config)
    from .app import app

    app.worker_main(["worker", "--beat", "--loglevel=INFO", "--concurrency=4"])
    return EXIT_OK


def _read_document(target: str, config: Config | None) -> tuple[bytes, str, str | None]:
    """(body, url, content type) of a URL (fetched through the safe fetcher) or a file."""
    if target.startswith(("http://", "https://")):
        from .fetch import Fetcher
        from .models import Settings

        fetcher = Fetcher(config.settings if config else Settings())
        try:
            response = fetcher.get(target, accept="text/html,application/xhtml+xml")
        finally:
            fetcher.close()
        return response.body, response.url, response.content_type
    path = Path(target)
    if not path.is_file():
        raise UsageError(f"{target}: no such file (give a file path or an http(s) URL)")
    return path.read_bytes(), path.resolve().as_uri(), None


def _parsed_article(args: argparse.Namespace, config: Config | None) -> Article:
    """The Article of a URL or file: HTML or a text capture, decided by the content
    (a saved page may be called .txt, a capture .html), never by the name."""
    from .parser import parse_html, parse_text
    from .parser.capture import looks_like_html
    from .parser.document import to_text

    body, url, content_type = _read_document(args.target, config)
    url = args.url or url
    text = to_text(body, content_type)
    if looks_like_html(text):
        return parse_html(text, url, content_type=content_type)
    return parse_text(text, url)


def _require(kind: str, ident: str, known: list[str]) -> None:
    if ident not in known:
        raise UsageError(f"no {kind} {ident!r} in the config ({kind}s: {', '.join(known) or 'none'})")


def _optional_config(args: argparse.Namespace) -> Config | None:
    try:
        return _config(args)
    except ConfigError:
        if args.config:
            raise
        return None


def cmd_parse(args: argparse.Namespace) -> int:
    article = _parsed_article(args, _optional_config(args))
    json.dump(article.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
    print()
    if not article.text:
        # SPEC: never fail silently. The JSON still shows what was found (title, dates).
        print(f"newswatch parse: no article body found in {args.target}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def cmd_match(args: argparse.Namespace) -> int:
    from .topics import compile_topics

    config = _config(args)
    _require("topic", args.topic, [t.id for t in config.topics])
    article = _parsed_article(args, config)
    print(compile_topics(config.topics).explain(args.topic, article))
    return EXIT_OK


def cmd_test_alert(args: argparse.Namespace) -> int:
    from .alerts.base import build_sender
    from .alerts.sample import sample_alert

    config = _config(args)
    _require("channel", args.channel, [c.id for c in config.channels])
    sender = build_sender(config.channel(args.channel))
    result = sender.send(sample_alert(args.channel))
    if result.ok:
        print(f"{args.channel}: sent ({result.detail})")
        return EXIT_OK
    kind = "permanent error" if result.permanent else "failed"
    print(f"{args.channel}: {kind}: {result.detail}", file=sys.stderr)
    return EXIT_FAILURE


class SourceStatus(TypedDict):
    """One source in `newswatch status` (its JSON, and a row of its table)."""

    id: str
    last_poll: str
    result: str
    http: int | None
    next_due: str
    failures: int
    error: str | None
    failing_since: str | None
    push: str  # its WebSub subscription, as the status page says it ("" without one)


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def cmd_status(args: argparse.Namespace) -> int:
    from .store import open_store
    from .websub.subscriber import describe

    config = _config(args)
    store = open_store(config.settings)
    now = time.time()
    try:
        scheduled = store.scheduled()
        subscriptions = {sub.source_id: sub for sub in store.subscriptions()}
        sources: list[SourceStatus] = []
        for source in config.sources:
            state = store.source_state(source.id)
            sources.append({
                "id": source.id, "last_poll": _when(state.last_poll),
                "result": state.last_status or "never polled", "http": state.http,
                "next_due": _when(scheduled.get(source.id) or state.next_due),
                "failures": state.failures, "error": state.last_error,
                "failing_since": _when(state.failing_since) if state.failing_since else None,
                "push": describe(subscriptions.get(source.id), now, _when),
            })
        deliveries = [
            {"alert": d.alert_id, "channel": d.channel_id, "topic": d.topic_id,
             "state": d.state, "attempts": d.attempts, "updated": _when(d.updated_at),
             "title": d.alert.get("article", {}).get("title", ""), "error": d.last_error}
            for d in store.recent_deliveries(args.limit)
        ]
        counts = store.delivery_counts()
        queues = _queue_depths(config)
    finally:
        store.close()
    if args.json:
        json.dump({"sources": sources, "deliveries": deliveries, "delivery_counts": counts,
                   "queues": queues}, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return EXIT_OK
    pushed = any(s["push"] for s in sources)  # the column only where WebSub is in use
    rows: list[list[object]] = [
        [s["id"], s["last_poll"], s["result"], s["http"] or "-", s["next_due"], s["failures"],
         (s["error"] or "")[:60], *([s["push"] or "-"] if pushed else [])] for s in sources]
    _table(["source", "last poll", "result", "http", "next due", "fails", "error"] + ["push"] * pushed,
           rows)
    print(f"\ndeliveries: {counts.get('pending', 0)} pending, {counts.get('sent', 0)} sent, "
          f"{counts.get('failed', 0)} failed")
    if queues:
        print("queues: " + ", ".join(f"{name} {depth}" for name, depth in queues.items()))
    if deliveries:
        _table(["updated", "channel", "topic", "state", "tries", "title / error"],
               [[d["updated"], d["channel"], d["topic"], d["state"], d["attempts"],
                 (d["error"] if d["state"] == "failed" else d["title"])[:60]]
                for d in deliveries])
    return EXIT_OK


# ------------------------------------------------------------------------------ history


def _span(seconds: float) -> str:
    """86400 -> '1d', 5400 -> '90m': the largest unit that divides it."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _since(text: str, config: Config) -> float:
    """--since as seconds, within the history kept."""
    from .durations import parse_duration

    seconds = parse_duration(text)
    if seconds is None or seconds <= 0:
        raise UsageError(f"--since {text!r}: not a time span (use e.g. 12h, 7d)")
    keep = config.settings.history
    if keep <= 0:
        raise UsageError("history is off (settings.history: 0): no articles are kept to look back on")
    if seconds > keep:
        raise UsageError(f"--since {text}: out of range, history keeps {_span(keep)} "
                         "(settings.history)")
    return seconds


def _draft(config: Config, topic_id: str | None, query: str, label: str) -> None:
    """Refuse a draft query that does not parse, with the position, as config would."""
    from .backtest import draft_topic
    from .topics import QueryError

    try:
        draft_topic(config, topic_id, query)
    except QueryError as error:
        raise UsageError(f"{label}: {error}") from None


@contextmanager
def _history(config: Config) -> Iterator[History]:
    from .history import open_history

    history = open_history(config.settings)  # HistoryUnavailable: exit 1, one line
    try:
        yield history
    finally:
        history.close()


NO_HISTORY = "no articles stored yet"


def _print_report(args: argparse.Namespace, report: Report, text: str) -> None:
    if args.json:
        json.dump(report.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print(text)


def _empty(args: argparse.Namespace, topic: bool) -> int:
    if args.json:
        empty = {"matches": [], "per_day": {}, **({"new": [], "gone": []} if topic else {}),
                 "stored": 0, "note": NO_HISTORY}
        json.dump(empty, sys.stdout, indent=2)
        print()
    else:
        print(NO_HISTORY)
    return EXIT_OK


def cmd_backtest(args: argparse.Namespace) -> int:
    import time

    from .backtest import backtest, render

    config = _config(args)
    if args.topic is None and args.query is None:
        raise UsageError("backtest needs --topic ID, --query Q, or both")
    if args.topic is not None:
        _require("topic", args.topic, [t.id for t in config.topics])
    if args.query is not None:
        _draft(config, args.topic, args.query, "--query")
    window = _since(args.since, config)
    with _history(config) as history:
        if history.count() == 0:
            return _empty(args, topic=args.topic is not None)
        report = backtest(history, config, args.topic, args.query, time.time() - window)
    _print_report(args, report, render(report, args.since))
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    import time

    from .backtest import render_search, search

    config = _config(args)
    _draft(config, None, args.query, "QUERY")
    window = _since(args.since, config)
    with _history(config) as history:
        if history.count() == 0:
            return _empty(args, topic=False)
        report = search(history, config, args.query, time.time() - window)
    _print_report(args, report, render_search(report, args.since))
    return EXIT_OK


def cmd_web(args: argparse.Namespace) -> int:
    from .web import WebError, serve

    config = _config(args)
    try:
        serve(config, args.bind, str(config_path(args.config)))
    except WebError as error:
        raise UsageError(str(error)) from None
    except OSError as error:  # the port is taken, or not ours to bind
        raise UsageError(f"web: cannot listen on {args.bind}: {error.strerror or error}") from None
    return EXIT_OK


def _queue_depths(config: Config) -> dict[str, int]:
    """Messages waiting in each Celery queue (Redis broker only; embedded mode has none)."""
    if not config.settings.redis_url:
        return {}
    import redis

    from .queues import QUEUES

    client = redis.Redis.from_url(config.settings.redis_url, socket_timeout=5)
    try:
        return {name: int(client.llen(name)) for name in QUEUES}
    except redis.exceptions.RedisError:
        return {}
    finally:
        client.close()


def _table(header: list[str], rows: list[list[object]]) -> None:
    from .terminal import table

    print("\n".join(table(header, rows)))


# ------------------------------------------------------------------------------ parser


def _config_option(default: object) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=default,
                        help="YAML file or folder of *.yaml (default: $NEWSWATCH_CONFIG or ./config)")
    return common


def build_parser() -> argparse.ArgumentParser:
    # --config goes before or after the command; after it, it wins. (A subcommand's own
    # default would otherwise overwrite the value given before the command.)
    parser = argparse.ArgumentParser(
        prog="newswatch", parents=[_config_option(None)],
        description="Scheduled news monitoring: fetch sources, detect topics, send alerts.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[_config_option(argparse.SUPPRESS)], help=help_text,
                                  description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    add("run", cmd_run, "Run continuously: embedded without redis_url, Celery worker+beat with it.")
    add("once", cmd_once, "Poll every source once, send the alerts, and exit (for cron).")
    add("check", cmd_check, "Validate the configuration; list every problem as file:line.")
    parse = add("parse", cmd_parse, "Print the normalised article of a URL or a file (HTML or a "
                "text capture, told apart by content) as JSON; exit 1 when no body is found.")
    parse.add_argument("target", metavar="URL|FILE")
    parse.add_argument("--url", help="the page's URL when parsing a file (for links and ids)")
    match = add("match", cmd_match, "Explain whether a topic matches a URL or a file (HTML or text).")
    match.add_argument("--topic", required=True, metavar="ID")
    match.add_argument("target", metavar="URL|FILE")
    match.add_argument("--url", help="the page's URL when parsing a file")
    test_alert = add("test-alert", cmd_test_alert, "Send a sample alert through one channel.")
    test_alert.add_argument("channel", metavar="CHANNEL")
    status = add("status", cmd_status, "Show each source's health and the recent deliveries.")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument("--limit", type=int, default=20, help="recent deliveries to list")
    backtest = add("backtest", cmd_backtest,
                   "Run a topic, or a draft query, over the stored articles: what would have "
                   "alerted, per day, and what is new or gone against what really alerted.")
    backtest.add_argument("--topic", metavar="ID", help="a configured topic (its query and filters)")
    backtest.add_argument("--query", metavar="Q",
                          help="a draft query (with the topic's languages, sources, min_score "
                               "when --topic is given); @lists of the config may be used")
    backtest.add_argument("--since", default="7d", metavar="SPAN",
                          help="how far back, e.g. 12h, 7d (default 7d; at most settings.history)")
    backtest.add_argument("--json", action="store_true", help="one JSON object")
    search = add("search", cmd_search, "Stored articles matching a query, newest first.")
    search.add_argument("query", metavar="QUERY", help="the topic query language, @lists included")
    search.add_argument("--since", default="7d", metavar="SPAN", help="how far back (default 7d)")
    search.add_argument("--json", action="store_true", help="one JSON object")
    web = add("web", cmd_web, "Serve the read-only status page and /healthz.")
    web.add_argument("--bind", default="127.0.0.1:8080", metavar="HOST:PORT",
                     help="where to listen (default 127.0.0.1:8080); any other than loopback "
                          "needs settings.web_password")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging()
    try:
        handler: Handler = args.handler
        return handler(args)
    except ConfigError as error:
        print("newswatch: invalid configuration:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as error:
        print(f"newswatch: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_FAILURE
    except Exception as error:  # noqa: BLE001 - the one place that turns a crash into exit 1
        from .history.base import HistoryUnavailable
        from .logs import redact

        if isinstance(error, HistoryUnavailable):
            print(f"newswatch: history store unavailable: {redact(str(error))}", file=sys.stderr)
            return EXIT_FAILURE

        print(f"newswatch: {type(error).__name__}: {redact(str(error))}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
