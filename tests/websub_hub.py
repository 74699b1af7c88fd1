"""A WebSub hub for the tests, on 127.0.0.1: takes (un)subscription requests, verifies
intent against the subscriber's real callback, then distributes signed content."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from servers import HTTPServer, Request


@dataclass
class Verification:
    mode: str
    callback: str
    topic: str
    status: int  # the callback's answer
    echoed: bool  # it answered with the challenge


@dataclass
class LocalHub:
    lease: int = 3600
    verifies: bool = True  # False: accepts requests and never verifies them
    server: HTTPServer = field(default_factory=HTTPServer)
    requests: list[dict[str, str]] = field(default_factory=list)
    verifications: list[Verification] = field(default_factory=list)
    # topic -> (callback, secret) of every verified subscription
    subscribers: dict[str, tuple[str, str]] = field(default_factory=dict)

    def start(self) -> LocalHub:
        self.server.routes["/hub"] = self._request
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url("/hub")

    def _request(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        form = {k: v[0] for k, v in urllib.parse.parse_qs(request.body.decode()).items()}
        self.requests.append(form)
        # Verified after the answer, as a hub does (§5.3: asynchronously).
        if self.verifies:
            threading.Thread(target=self._verify, args=(form,), daemon=True).start()
        return 202, {"Content-Type": "text/plain"}, b"accepted"

    def _verify(self, form: dict[str, str]) -> None:
        mode, callback, topic = form["hub.mode"], form["hub.callback"], form["hub.topic"]
        status, echoed = self.challenge(callback, mode, topic, lease=self.lease)
        self.verifications.append(Verification(mode, callback, topic, status, echoed))
        if echoed and mode == "subscribe":
            self.subscribers[topic] = (callback, form.get("hub.secret", ""))
        elif echoed and mode == "unsubscribe":
            self.subscribers.pop(topic, None)

    @staticmethod
    def challenge(callback: str, mode: str, topic: str, lease: int | None = 3600) -> tuple[int, bool]:
        """One verification GET: (status, whether the challenge came back)."""
        challenge = secrets.token_urlsafe(16)
        query = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": challenge}
        if lease is not None:
            query["hub.lease_seconds"] = str(lease)
        try:
            with urllib.request.urlopen(f"{callback}?{urllib.parse.urlencode(query)}", timeout=10) as answer:
                return answer.status, answer.read().decode() == challenge
        except urllib.error.HTTPError as error:
            return error.code, False

    def publish(self, topic: str, body: bytes, method: str = "sha256", tamper: bool = False,
                content_type: str = "application/atom+xml") -> int:
        """Distribute `body` to the topic's subscriber, signed; returns the callback's status."""
        callback, secret = self.subscribers[topic]
        digest = hmac.new(secret.encode(), body, getattr(hashlib, method)).hexdigest()
        if tamper:
            digest = digest[:-1] + ("0" if digest[-1] != "0" else "1")
        request = urllib.request.Request(callback, data=body, method="POST", headers={
            "Content-Type": content_type, "X-Hub-Signature": f"{method}={digest}",
            "Link": f'<{self.url}>; rel="hub", <{topic}>; rel="self"'})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code
