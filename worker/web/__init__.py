"""`newswatch web`: the read-only status page and /healthz.

Flask, because the page is a few server-rendered Jinja2 templates (Jinja2 is already
a dependency and Flask renders it natively, with autoescaping), Werkzeug parses HTTP
Basic for us, and the test client needs no server. Waitress serves it: a pure-Python
production WSGI server with a thread pool, no compiler needed, on any address.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import threading
import time
from typing import Any

from flask import Flask, Response, jsonify, render_template, request

from ..errors import NewswatchError
from ..history import HistoryUnavailable, open_history
from ..models import Config
from ..store import Store, open_store
from .status import build_page

log = logging.getLogger("newswatch.web")

USER = "newswatch"
HISTORY_RETRY = 30.0  # seconds before trying an unreachable history store again


class WebError(NewswatchError, ValueError):
    """The page cannot be served as asked (e.g. off loopback without a password)."""


def parse_bind(bind: str) -> tuple[str, int]:
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise WebError(f"--bind {bind!r}: expected HOST:PORT, e.g. 127.0.0.1:8080")
    return host.strip("[]") or "0.0.0.0", int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it could resolve anywhere


class Sources:
    """The store and the history the page reads, opened once; history reopened after an
    outage at most every HISTORY_RETRY seconds."""

    def __init__(self, config: Config, store: Store | None = None) -> None:
        self.config = config
        self.store = store or open_store(config.settings)
        self._history: Any = None
        self._history_note: str | None = None
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def history(self) -> tuple[Any, str | None]:
        if self.config.settings.history <= 0:
            return None, "history is off (settings.history: 0)"
        with self._lock:
            if self._history is None and time.monotonic() >= self._retry_at:
                try:
                    self._history = open_history(self.config.settings)
                    self._history_note = None
                except HistoryUnavailable as error:
                    self._retry_at = time.monotonic() + HISTORY_RETRY
                    self._history_note = f"history unavailable: {error}"
            return self._history, self._history_note

    def history_failed(self, error: Exception) -> str:
        with self._lock:
            history, self._history = self._history, None
            self._retry_at = time.monotonic() + HISTORY_RETRY
            self._history_note = f"history unavailable: {' '.join(str(error).split())}"
        if history is not None:
            with contextlib.suppress(Exception):  # broken already
                history.close()
        return self._history_note

    def close(self) -> None:
        if self._history is not None:
            self._history.close()
        self.store.close()


def create_app(config: Config, sources: Sources | None = None,
               config_path: str | None = None) -> Flask:
    from ..websub.callback import websub_blueprint
    from ..websub.pushes import PushHandOff

    sources = sources or Sources(config)
    app = Flask(__name__)
    app.config["sources"] = sources
    password = config.settings.web_password
    # WebSub callbacks: hubs cannot log in; each push is checked by its signature instead.
    pushes = PushHandOff(config, config_path)
    app.config["websub_pushes"] = pushes
    app.register_blueprint(websub_blueprint(sources.store, config.settings, pushes.push))

    @app.before_request
    def _authenticate() -> Response | None:
        if request.path == "/healthz" or request.path.startswith("/websub/") or not password:
            return None
        auth = request.authorization
        given = (auth.password or "") if auth and auth.type == "basic" else ""
        user_ok = auth is not None and hmac.compare_digest((auth.username or "").encode(), USER.encode())
        if user_ok and hmac.compare_digest(given.encode(), password.encode()):
            return None
        return Response("401 Unauthorized: HTTP Basic, user newswatch and settings.web_password\n",
                        401, {"WWW-Authenticate": 'Basic realm="newswatch", charset="UTF-8"',
                              "Content-Type": "text/plain; charset=utf-8"})

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Content-Type-Options"] = "nosniff"
        # Read-only and script-free: nothing may load from elsewhere or run.
        response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
        return response

    @app.get("/")
    def status_page() -> str:
        history, note = sources.history()
        try:
            page = build_page(config, sources.store, history, note)
        except Exception as error:
            if history is None or not isinstance(error, history.unavailable):
                raise
            page = build_page(config, sources.store, None, sources.history_failed(error))
        return render_template("status.html", page=page, settings=config.settings)

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        return jsonify(health(config, sources)), 200

    return app


def health(config: Config, sources: Sources) -> dict[str, Any]:
    """{"status": "ok"|"degraded", ...}: degraded when the store or the history cannot be
    read, or a source has been failing longer than source_down_after."""
    body: dict[str, Any] = {"status": "ok"}
    now = time.time()
    try:
        states = [sources.store.source_state(s.id) for s in config.sources]
        down = [s.source_id for s in states if s.failing_since and s.failures
                and now - s.failing_since >= config.settings.source_down_after]
        body["store"] = "ok"
        body["sources"] = {"total": len(states), "down": down}
        body["deliveries"] = sources.store.delivery_counts()
    except Exception as error:  # noqa: BLE001 - reported, not raised
        body["store"] = f"error: {type(error).__name__}"
        down = []
    history, _note = sources.history()
    if history is None:
        body["history"] = "off" if config.settings.history <= 0 else "unavailable"
    else:
        try:
            body["history"] = {"articles": history.count()}
        except Exception as error:  # noqa: BLE001
            sources.history_failed(error)
            body["history"] = "unavailable"
    if body["store"] != "ok" or body["history"] == "unavailable" or down:
        body["status"] = "degraded"
    return body


def serve(config: Config, bind: str, config_path: str | None = None) -> None:
    """Serve until interrupted; refuses a non-loopback address without web_password."""
    host, port = parse_bind(bind)
    if not is_loopback(host) and not config.settings.web_password:
        raise WebError(f"--bind {bind}: not a loopback address, so the page needs a password: "
                       "set settings.web_password (HTTP Basic, user newswatch)")
    from waitress import serve as waitress_serve

    sources = Sources(config)
    app = create_app(config, sources, config_path)
    log.info("status page on http://%s:%d/ (%s)", host, port,
             "HTTP Basic, user newswatch" if config.settings.web_password else "no password: loopback")
    try:
        # A request body over the WebSub push cap is refused (413) by waitress before it
        # is buffered; nothing else here takes a body.
        waitress_serve(app, host=host, port=port, threads=4, ident="newswatch",
                       max_request_body_size=config.settings.websub_max_body + 65536,
                       _quiet=True)
    finally:
        app.config["websub_pushes"].close()
        sources.close()
