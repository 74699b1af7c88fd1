"""Real servers on 127.0.0.1 for the tests: HTTP (routes), SMTP (aiosmtpd), webhook receiver."""

from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# A route answers with (status, headers, body) or a callable taking the request.
Response = tuple[int, dict[str, str], bytes]
Route = Response | Callable[["Request"], Response]


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    connection: Any = field(default=None, repr=False, compare=False)  # the server's socket


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        # A client that hangs up (a killed worker, a fetcher that gave up) is part of the test.
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


@dataclass
class HTTPServer:
    """A threaded HTTP server on 127.0.0.1 that serves a dict of path -> route."""

    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def start(self, port: int = 0) -> HTTPServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # otherwise each keep-alive answer stalls 40 ms

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, self.path, dict(self.headers.items()), body, self.connection)
                owner.requests.append(request)
                route = owner.routes.get(self.path.split("?", 1)[0] if self.path not in owner.routes else self.path)
                if route is None:
                    status, headers, payload = 404, {"Content-Type": "text/plain"}, b"not found"
                elif callable(route):
                    status, headers, payload = route(request)
                else:
                    status, headers, payload = route
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_HEAD = _serve  # noqa: N815 - http.server dispatches on these names

        self._server = _QuietServer(("127.0.0.1", port), Handler)
        serve_in_background(self._server)
        return self

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start_on(self, port: int) -> HTTPServer:
        return self.start(port)

    def stop(self) -> None:
        if hasattr(self, "_server"):
            stop_serving(self._server)


@dataclass
class Envelope:
    """One accepted email as the server saw it: envelope addresses and the raw bytes."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)


class SMTPServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts.

    The knobs email tests need: STARTTLS (`tls_context`), implicit TLS (`ssl_context`),
    AUTH checked against `password`, and the answer to RCPT (`rcpt_answer`).
    """

    def __init__(self, port: int = 0, *, tls_context: Any = None, ssl_context: Any = None,
                 password: str | None = None, auth_require_tls: bool = True,
                 rcpt_answer: str = "250 OK") -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Envelope] = []
        self.logins: list[tuple[str, str, bool]] = []  # user, password, over TLS
        self._port = port
        self._tls_context, self._ssl_context = tls_context, ssl_context
        self._password, self._auth_require_tls = password, auth_require_tls
        self._rcpt_answer = rcpt_answer

    def start(self) -> SMTPServer:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        owner = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
                if owner._rcpt_answer.startswith("250"):
                    envelope.rcpt_tos.append(address)
                return owner._rcpt_answer

            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                raw = envelope.original_content or envelope.content
                owner.envelopes.append(Envelope(envelope.mail_from, list(envelope.rcpt_tos), raw))
                owner.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        def authenticator(server, session, envelope, mechanism, auth_data):
            assert isinstance(auth_data, LoginPassword)
            login, password = auth_data.login.decode(), auth_data.password.decode()
            over_tls = server.transport.get_extra_info("ssl_object") is not None
            owner.logins.append((login, password, over_tls))
            return AuthResult(success=password == owner._password, handled=False)

        options: dict[str, Any] = {}
        if self._password is not None:
            options.update(authenticator=authenticator, auth_require_tls=self._auth_require_tls)
        if self._tls_context is not None:
            options["tls_context"] = self._tls_context
        if self._ssl_context is not None:
            options["ssl_context"] = self._ssl_context
        if not self._port:
            self._port = free_port()
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self._port, **options)
        self._controller.start()
        return self

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self._port}"

    def stop(self) -> None:
        self._controller.stop()


# How often serve_forever looks for a shutdown request: stop() waits up to this long. The
# socketserver default (0.5 s) added half a second to every test that stops a server.
SHUTDOWN_POLL_INTERVAL = 0.01


def serve_in_background(server: socketserver.BaseServer) -> None:
    """Serve `server` from a daemon thread (and each connection from a daemon thread)."""
    if isinstance(server, socketserver.ThreadingMixIn):
        server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_INTERVAL},
                     daemon=True).start()


def stop_serving(server: socketserver.BaseServer) -> None:
    """Stop a server started with `serve_in_background` and close its socket."""
    server.shutdown()
    server.server_close()


class BackgroundServer:
    """Base of the test servers built on a socketserver: `serve` starts it, `url` names it,
    `stop` ends it."""

    _server: socketserver.TCPServer

    def serve(self, server: socketserver.TCPServer) -> None:
        self._server = server
        serve_in_background(server)

    def url(self, path: str = "/") -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def stop(self) -> None:
        stop_serving(self._server)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05,
             what: str = "condition") -> Any:
    """Poll `condition` until it is truthy or the deadline passes (never a bare sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
