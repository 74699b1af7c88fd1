"""The status page: Flask's test client for the rules, headless Chromium for the page."""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import textwrap
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from helpers import ROOT, newswatch_command, subprocess_env

from worker.config import load_config
from worker.history import open_history
from worker.models import Article, SourceInfo
from worker.store import FAILED, PENDING, SENT, Delivery, SourceState, open_store
from worker.web import create_app
from worker.web.chart import HEIGHT

PASSWORD = "correct horse"
HOUR, DAY = 3600.0, 86400.0
NOW = time.time()
TODAY = datetime.fromtimestamp(NOW, UTC).date()
# Stories alerted per day (days ago -> count) in the known history.
STORIES = {1: 3, 3: 1, 5: 2}

CONFIG = """
    sources:
      - {{id: kompas, name: Kompas.com, url: "https://kompas.example/rss"}}
      - {{id: tempo, name: Tempo.co, url: "https://tempo.example/rss"}}
      - {{id: antara, name: ANTARA, url: "https://antara.example/rss"}}
    topics:
      - id: conflict
        name: Armenia–Azerbaijan
        query: 'armenia AND azerbaijan OR karabakh'
        channels: [mail, hook]
    channels:
      - {{id: mail, type: webhook, url: "http://127.0.0.1:9/mail"}}
      - {{id: hook, type: webhook, url: "http://127.0.0.1:9/hook"}}
    settings:
      state_path: {state}
      history: 7d
      source_down_after: 1h
      web_password: {password}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def site(tmp_path):
    """A config and a state file with known history, ledger and source health."""
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(CONFIG).format(state=tmp_path / "state.db",
                                                   password=f'"{PASSWORD}"'))
    config = load_config(path)
    history = open_history(config.settings)
    store = open_store(config.settings)
    number = 0
    for days_ago, count in STORIES.items():
        for _ in range(count):
            number += 1
            at = NOW - days_ago * DAY
            article = Article(id=f"a{number}", url=f"https://kompas.example/{number}",
                              canonical_url="", title=f"Story {number}: Karabakh talks",
                              source=SourceInfo("kompas", "Kompas.com", "kompas.example"))
            alerts = [("conflict", "mail", f"a{number}-mail"), ("conflict", "hook", f"a{number}-hook")]
            history.record(article, [], alerts, at)
            for _topic, channel, alert_id in alerts:
                store.create_delivery(Delivery(alert_id, article.id, "conflict", channel, {},
                                               created_at=at, updated_at=at))
                if channel == "mail":
                    store.finish_delivery(alert_id, SENT, None, at + 5)
                elif number == 1:
                    store.finish_delivery(alert_id, FAILED, "http=410", at + 5)
    # a republication of story 1 the same day: carries its alerts, is not a new story
    history.record(Article(id="a1-copy", url="https://tempo.example/x", canonical_url="",
                           title="Story 1 again", source=SourceInfo("tempo", "Tempo", "tempo.example")),
                   [], [("conflict", "mail", "a1-mail"), ("conflict", "hook", "a1-hook")],
                   NOW - 1 * DAY + 60)
    history.record(Article(id="quiet", url="https://antara.example/q", canonical_url="",
                           title="Harga cabai"), [], [], NOW - 2 * DAY)
    store.save_source_state(SourceState("kompas", last_poll=NOW - 60, last_status="ok", http=200,
                                        next_due=NOW + 240))
    store.save_source_state(SourceState("tempo", last_poll=NOW - 60, last_status="error",
                                        last_error="connection refused", failures=30,
                                        failing_since=NOW - 2 * HOUR, next_due=NOW + 600))
    store.save_source_state(SourceState("antara", last_poll=NOW - 60, last_status="error",
                                        last_error="http=503", http=503, failures=1,
                                        failing_since=NOW - 600, next_due=NOW + 300))
    history.close()
    store.close()
    return path, config


def basic(password: str) -> dict[str, str]:
    token = base64.b64encode(f"newswatch:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


# --------------------------------------------------------------------------- rules


def test_every_path_but_healthz_needs_the_password_and_the_page_is_read_only(site):
    _, config = site
    client = create_app(config).test_client()
    assert client.get("/").status_code == 401
    assert client.get("/", headers=basic("wrong")).status_code == 401
    denied = client.get("/nope", headers=basic("wrong"))
    assert denied.status_code == 401 and "Basic" in denied.headers["WWW-Authenticate"]
    page = client.get("/", headers=basic(PASSWORD))
    assert page.status_code == 200 and b"Story 1: Karabakh talks" in page.data
    assert client.post("/", headers=basic(PASSWORD)).status_code == 405
    health = client.get("/healthz")
    assert health.status_code == 200
    body = health.get_json()
    assert body["status"] == "degraded" and body["sources"]["down"] == ["tempo"]
    assert body["history"] == {"articles": 8} and body["store"] == "ok"


def test_healthz_is_ok_when_nothing_is_down(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(f"settings: {{state_path: '{tmp_path / 's.db'}'}}\n")
    client = create_app(load_config(path)).test_client()
    assert client.get("/healthz").get_json()["status"] == "ok"
    assert client.get("/").status_code == 200  # loopback, no password set: open


def test_history_unreachable_shows_a_note_and_degrades_healthz(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(f"settings: {{state_path: '{tmp_path / 's.db'}', "
                    f"database_url: 'postgresql://x@127.0.0.1:{free_port()}/none'}}\n")
    client = create_app(load_config(path)).test_client()
    page = client.get("/")
    assert page.status_code == 200 and b"history unavailable" in page.data
    assert client.get("/healthz").get_json()["status"] == "degraded"


def test_web_refuses_a_public_address_without_a_password(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(f"settings: {{state_path: '{tmp_path / 's.db'}'}}\n")
    result = subprocess.run([*newswatch_command(), "web", "--config", str(path), "--bind", "0.0.0.0:8080"],
                            env=subprocess_env(), cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "not a loopback address" in result.stderr and "web_password" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- in a browser


def chromium_paths() -> tuple[str, str]:
    browser = shutil.which("chromium") or "/usr/bin/chromium"
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not (os.path.exists(browser) and os.path.exists(driver)):
        pytest.fail("headless Chromium is not installed: run the tests through `make test` "
                    "(scripts/ensure-services.sh installs Debian's chromium and chromium-driver)")
    return browser, driver


@pytest.fixture
def browser(monkeypatch):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never download anything
    binary, driver_path = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1600", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-default-apps", "--disable-extensions",
                 "--disable-sync", "--metrics-recording-only", "--no-pings",
                 "--disable-domain-reliability", "--disable-client-side-phishing-detection",
                 # Nothing may leave loopback: every other host goes to a dead local proxy,
                 # and no name is resolved.
                 "--proxy-server=http://127.0.0.1:9",
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    # The DevTools network events, to read the status code the browser got.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    yield driver
    driver.quit()


@pytest.fixture
def web_server(site, tmp_path):
    path, _ = site
    port = free_port()
    log = open(tmp_path / "web.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen([*newswatch_command(), "web", "--config", str(path), "--bind", f"127.0.0.1:{port}"],
                               env=subprocess_env(), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=2).read()
            break
        except OSError:
            assert process.poll() is None, (tmp_path / "web.log").read_text()
            assert time.monotonic() < deadline, "newswatch web did not start"
            time.sleep(0.1)
    yield url
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    log.close()


def statuses(driver, url: str) -> list[int]:
    """HTTP statuses of the browser's responses for `url`, from its DevTools events."""
    import json

    found = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.responseReceived":
            response = message["params"]["response"]
            if response["url"] == url:
                found.append(response["status"])
    return found


def test_the_page_in_headless_chromium(web_server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": basic(PASSWORD)})
    browser.get(web_server + "/")
    assert browser.title == "newswatch status"
    assert statuses(browser, web_server + "/") == [200]
    browser.save_screenshot(str(tmp_path / "status.png"))
    if os.environ.get("NEWSWATCH_SCREENSHOT"):
        browser.save_screenshot(os.environ["NEWSWATCH_SCREENSHOT"])

    # the chart: one bar per day of the 7-day window, heights in proportion to the stories
    bars = browser.find_elements(By.CSS_SELECTOR, "#topic-conflict svg.chart rect.bar")
    days = [(TODAY - timedelta(days=n)).isoformat() for n in range(7, -1, -1)]
    assert [bar.get_attribute("data-day") for bar in bars] == days
    expected = {(TODAY - timedelta(days=n)).isoformat(): c for n, c in STORIES.items()}
    peak = max(STORIES.values())
    for bar in bars:
        count = expected.get(bar.get_attribute("data-day"), 0)
        assert int(bar.get_attribute("data-count")) == count
        drawn = bar.rect["height"]  # as laid out by the browser
        assert abs(drawn - count / peak * HEIGHT) < 1.0, (bar.get_attribute("data-day"), drawn)

    # the latest alerts, newest first, with each channel's delivery state
    rows = browser.find_elements(By.CSS_SELECTOR, "#topic-conflict table.alerts tr.alert")
    assert [row.get_attribute("data-article") for row in rows] == ["a1", "a2", "a3", "a4", "a5", "a6"]
    states = {
        (row.get_attribute("data-article"), span.get_attribute("data-channel")): span.get_attribute("data-state")
        for row in rows for span in row.find_elements(By.CSS_SELECTOR, ".state")
    }
    assert states[("a1", "mail")] == SENT and states[("a1", "hook")] == FAILED
    assert states[("a2", "hook")] == PENDING and states[("a2", "mail")] == SENT
    assert "a1-copy" not in [row.get_attribute("data-article") for row in rows]

    # sources: only the one failing longer than source_down_after is marked, in red
    sources = {row.get_attribute("data-source"): row
               for row in browser.find_elements(By.CSS_SELECTOR, "table.sources tr.source")}
    assert sorted(sources) == ["antara", "kompas", "tempo"]
    assert [s for s, row in sources.items() if row.get_attribute("data-down") == "true"] == ["tempo"]
    mark = sources["tempo"].find_element(By.CSS_SELECTOR, ".mark-down")
    assert mark.text.startswith("● down 2h")
    assert mark.value_of_css_property("color") in ("rgba(214, 54, 56, 1)", "rgb(214, 54, 56)")
    assert "connection refused" in sources["tempo"].text
    assert not sources["antara"].find_elements(By.CSS_SELECTOR, ".mark-down")

    # a wrong password gets 401, in the browser and on the wire
    browser.get_log("performance")  # drop the events so far
    browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": basic("wrong")})
    browser.get(web_server + "/")
    assert "Story" not in browser.find_element(By.TAG_NAME, "body").text
    assert statuses(browser, web_server + "/") == [401]
    request = urllib.request.Request(web_server + "/", headers=basic("wrong"))
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(request, timeout=10)
    denied.value.close()  # the error holds the response, and its socket
    assert denied.value.code == 401
