"""Shared fixtures. The tripwire is autouse: no test may leave 127.0.0.0/8."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import types
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
sys.path.insert(0, str(TESTS / "tripwire"))
import loopback_only  # noqa: E402

loopback_only.install()

SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def loopback_tripwire():
    """Fail the test if it (or the code under test) tried to leave loopback."""
    before = len(loopback_only.violations)
    yield
    new = loopback_only.violations[before:]
    assert not new, f"non-loopback network use: {new}"


@pytest.fixture(autouse=True)
def root_logging_restored():
    """A test that runs the CLI in-process (`worker.cli.main`) installs newswatch's log
    handler on the stderr pytest captured for that test; left in place, every later log
    line (a mail server thread's, say) would be written to that closed stream."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


# --------------------------------------------------------------- markers, applied from what a test uses
#
# `pytest -m pure` (`make test-fast`) is the pure suite: every test marked neither services,
# subprocess, browser, chaos nor corpus (corpus-wide quality floors, marked by hand: they need
# no service, only time). The full `pytest` (`make test`) runs them all. A test is marked from
# the fixtures in its closure and the names its code (and the code of those fixtures) refers to,
# so a new test is marked without anyone remembering to. A fixture that reaches a service only for some of its params
# (`request.getfixturevalue("redis_url")`) marks those params itself:
# `pytest.param("redis", marks=pytest.mark.services)`; the service fixtures below refuse to run
# for a test that is not marked, so a miss shows up at once.

MARKED_BY_FIXTURE = {
    "redis_url": "services", "postgres_database": "services", "postgres_url": "services",
    "celery_bin": "subprocess",
    "browser": "browser",
}
MARKED_BY_NAME = {
    # private redis-server / rabbitmq-server processes, the machine's RabbitMQ
    "PrivateRedis": "services", "PrivateRabbitMQ": "services", "RABBITMQ_URL": "services",
    # newswatch or celery as a child process (tests/helpers.py, tests/processes.py)
    "run_newswatch": "subprocess", "newswatch_command": "subprocess", "subprocess_env": "subprocess",
    "NewswatchRun": "subprocess", "CeleryProcesses": "subprocess",
    # selenium driving chromium
    "webdriver": "browser",
}


IMPURE = ("services", "subprocess", "browser", "chaos", "corpus")


def _names_in(function: object) -> set[str]:
    """Every global or attribute name the function's code (nested functions included) refers to."""
    code = getattr(function, "__code__", None)
    names: set[str] = set()
    pending = [code] if code else []
    while pending:
        code = pending.pop()
        names.update(code.co_names)
        pending.extend(const for const in code.co_consts if isinstance(const, types.CodeType))
    return names


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        names = _names_in(item.function)
        for definitions in item._fixtureinfo.name2fixturedefs.values():
            names.update(_names_in(definitions[-1].func))
        wanted = {MARKED_BY_FIXTURE[f] for f in item.fixturenames if f in MARKED_BY_FIXTURE}
        wanted |= {MARKED_BY_NAME[n] for n in names if n in MARKED_BY_NAME}
        for marker in sorted(wanted):
            if not item.get_closest_marker(marker):
                item.add_marker(marker)
        if not any(item.get_closest_marker(marker) for marker in IMPURE):
            item.add_marker("pure")


def _require_marker(request: pytest.FixtureRequest, marker: str) -> None:
    if not request.node.get_closest_marker(marker):
        pytest.fail(f"{request.node.nodeid} uses `{request.fixturename}` but is not marked `{marker}`: "
                    f"mark the fixture param that asks for it (pytest.param(..., marks=pytest.mark.{marker}))")


REDIS_TEST_URL = os.environ.get("NEWSWATCH_TEST_REDIS", "redis://127.0.0.1:6379/13")


@pytest.fixture
def redis_url(request):
    """A real Redis database for one test, emptied before and after."""
    import redis

    _require_marker(request, "services")
    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.fail(f"Redis is not running at {REDIS_TEST_URL}: run the tests through `make test`")
    client.flushdb()
    yield REDIS_TEST_URL
    client.flushdb()
    client.close()


@pytest.fixture
def celery_bin(request) -> str:
    _require_marker(request, "subprocess")
    path = shutil.which("celery", path=str(Path(sys.executable).parent))
    assert path, "celery is not installed in this environment"
    return path


# --------------------------------------------------------------- loopback servers for scenarios

from scenario import ARTICLE_PATH, OFFTOPIC_PATH, html  # noqa: E402
from servers import HTTPServer, SMTPServer  # noqa: E402


@pytest.fixture
def news_site():
    server = HTTPServer().start()
    base = f"http://127.0.0.1:{server.port}"
    feed = (TESTS / "fixtures" / "e2e" / "kompas-feed.xml").read_text().replace("{base}", base)
    server.routes.update({
        "/rss/global": (200, {"Content-Type": "application/rss+xml; charset=utf-8"}, feed.encode()),
        ARTICLE_PATH: html((TESTS / "fixtures" / "kompas_article.html").read_bytes()),
        OFFTOPIC_PATH: html((TESTS / "fixtures" / "e2e" / "offtopic-article.html").read_bytes()),
        "/robots.txt": (200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n"),
    })
    yield server
    server.stop()


@pytest.fixture
def receiver():
    server = HTTPServer().start()
    server.routes["/hook"] = lambda request: (200, {"Content-Type": "text/plain"}, b"ok")
    yield server
    server.stop()


@pytest.fixture
def smtp():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shared_server():
    """One HTTP server for a whole test module: stopping one takes 0.5 s (serve_forever's
    poll interval), so modules with many small tests share it and reset its routes."""
    http = HTTPServer().start()
    yield http
    http.stop()


@pytest.fixture
def empty_server(shared_server):
    """The module's shared server with no routes and no requests left by an earlier test."""
    shared_server.routes.clear()
    shared_server.requests.clear()
    return shared_server


@pytest.fixture
def hook_server(empty_server):
    """A webhook receiver: answers 200 to POST /hook."""
    empty_server.routes["/hook"] = (200, {"Content-Type": "text/plain"}, b"ok")
    return empty_server


# --------------------------------------------------------------- PostgreSQL (history store)

POSTGRES_TEST_SERVER = os.environ.get("NEWSWATCH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


@pytest.fixture(scope="session")
def postgres_database():
    """A database of its own on the machine's PostgreSQL for this test run, dropped after."""
    import psycopg

    name = f"newswatch_test_{os.getpid()}"
    try:
        admin = psycopg.connect(f"{POSTGRES_TEST_SERVER}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is not running at {POSTGRES_TEST_SERVER} ({error}): run the tests "
                    "through `make test` (scripts/ensure-services.sh starts it)")
    admin.execute(f"DROP DATABASE IF EXISTS {name}")
    admin.execute(f"CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0")
    yield f"{POSTGRES_TEST_SERVER}/{name}"
    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


@pytest.fixture
def postgres_url(request, postgres_database):
    """The test database, emptied of history (tables and migrations) before each test."""
    import psycopg

    _require_marker(request, "services")
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS history_alerts, history_articles, history_migrations")
    return postgres_database
