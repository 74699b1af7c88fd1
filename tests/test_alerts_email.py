"""Email channel against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import functools
import re
import shutil
import ssl
import subprocess
from email.message import EmailMessage
from typing import Any

import helpers
import pytest
from aiosmtpd.controller import Controller
from servers import SMTPServer, free_port, wait_for

from worker.alerts import build_sender, channel_option_problems
from worker.alerts.email import EmailSender, message_id, parse_smtp_url
from worker.alerts.render import digest_id
from worker.models import Alert, Channel, DeliveryResult

PASSWORD = "p@ss:w0rd/secret"
PASSWORD_IN_URL = "p%40ss%3Aw0rd%2Fsecret"


make_alert = functools.partial(helpers.make_alert, channel="desk-email")


def email_sender(smtp_url: str, **options: object) -> EmailSender:
    channel = Channel(
        id="desk-email",
        type="email",
        options={
            "to": ["desk@example.org", "night@example.org"],
            "from": "newswatch <newswatch@example.org>",
            "smtp_url": smtp_url,
            "timeout": 10,
            **options,
        },
    )
    sender = build_sender(channel)
    assert isinstance(sender, EmailSender)
    return sender


def send_through(url: str, alert: Alert | None = None, **server_options: Any) -> tuple[DeliveryResult, SMTPServer]:
    """Start an SMTPServer with `server_options`, send `alert` (the sample one by default) to
    `url` ("{port}" is the server's) and stop the server, after the email arrived if it was
    accepted. Returns the send's result and the stopped server, for what it saw."""
    server = SMTPServer(**server_options).start()
    try:
        result = email_sender(url.format(port=server.port)).send(alert or make_alert())
        if result.ok:
            wait_for(lambda: server.envelopes, timeout=10, what="the email")
    finally:
        server.stop()
    return result, server


def parts(message: EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@pytest.fixture
def trusted(certificate, monkeypatch):
    """Server context for the test certificate, trusted by the client through SSL_CERT_FILE."""
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


# --------------------------------------------------------------------------- the message


def test_multipart_text_and_html_with_subject_and_headers(smtp):
    alert = make_alert()
    result = email_sender(smtp.url, timezone="Asia/Jakarta").send(alert)
    assert result.ok and not result.permanent, result.detail
    (message,) = wait_for(lambda: smtp.messages, timeout=10, what="the email")

    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "[Armenia–Azerbaijan] PM Armenia Minta agar Relasi Militer dengan Rusia Diperkuat"
    assert message["Message-ID"] == "<alert-1@newswatch>"
    assert message["From"] == "newswatch <newswatch@example.org>"
    assert message["To"] == "desk@example.org, night@example.org"
    assert message["Date"] and message["Date"].datetime.tzinfo is not None
    assert message["Auto-Submitted"] == "auto-generated"

    bodies = parts(message)
    assert set(bodies) == {"text/plain", "text/html"}
    text, html = bodies["text/plain"], bodies["text/html"]
    for body in (text, html):
        assert "PM Armenia Minta agar Relasi Militer dengan Rusia Diperkuat" in body
        assert "Kompas.com" in body
        assert "2020-11-21 13:00 UTC" in body  # UTC time
        assert "2020-11-21 20:00 WIB" in body  # and the channel's local time
        assert "https://www.kompas.com/global/read/2020/11/21/" in body
    assert "<mark>Armenia</mark>" in html and "<mark>Azerbaijan</mark>" in html
    assert "<mark>" not in text and "*Armenia*" not in text
    assert "Matched:   Armenia, Pashinyan, Azerbaijan, Nagorno-Karabakh" in text


def test_message_id_is_the_same_on_every_send(smtp):
    sender = email_sender(smtp.url)
    alert = make_alert("retry-me")
    assert sender.send(alert).ok
    assert sender.send(alert).ok
    first, second = wait_for(lambda: len(smtp.messages) == 2 and smtp.messages, timeout=10, what="two emails")
    assert first["Message-ID"] == second["Message-ID"] == "<retry-me@newswatch>"


def test_message_id_of_unusual_alert_ids_is_still_valid():
    assert message_id("armenia-azerbaijan.desk.abc123") == "<armenia-azerbaijan.desk.abc123@newswatch>"
    odd = message_id("topic:a/b c>\r\nBcc: x")
    assert odd == message_id("topic:a/b c>\r\nBcc: x")
    assert odd.startswith("<h") and odd.endswith("@newswatch>") and " " not in odd


def test_header_injection_through_the_title_adds_no_header():
    evil = "Ceasefire holds\r\nBcc: victim@example.org\r\nX-Evil: 1"
    result, server = send_through("smtp://127.0.0.1:{port}", make_alert(title=evil))
    assert result.ok, result.detail
    (envelope,) = server.envelopes
    message = envelope.message
    for part in message.walk():
        assert "Bcc" not in part and "X-Evil" not in part
    head = re.split(rb"\r?\n\r?\n", envelope.raw, maxsplit=1)[0]
    assert not any(line.lower().startswith((b"bcc:", b"x-evil:")) for line in head.splitlines())
    assert envelope.rcpt_tos == ["desk@example.org", "night@example.org"]
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    assert message["Subject"] == "[Armenia–Azerbaijan] Ceasefire holds Bcc: victim@example.org X-Evil: 1"


def test_long_subject_is_capped(smtp):
    assert email_sender(smtp.url).send(make_alert(title="Karabakh " * 100)).ok
    (message,) = wait_for(lambda: smtp.messages, timeout=10, what="the email")
    assert len(message["Subject"]) <= 200 and message["Subject"].endswith("…")


def test_html_is_escaped(smtp):
    title = '<script>alert("x")</script> Armenia & Azerbaijan'
    link = "javascript:alert(1)"
    alert = make_alert(title=title, canonical_url=link, url=link)
    assert email_sender(smtp.url).send(alert).ok
    (message,) = wait_for(lambda: smtp.messages, timeout=10, what="the email")
    html = parts(message)["text/html"]
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Armenia &amp; Azerbaijan" in html
    assert "javascript:" not in html  # a non-http link is dropped, never made clickable
    assert title in parts(message)["text/plain"]


def test_custom_subject_template(smtp):
    sender = email_sender(smtp.url, subject="News on {{ topic.name }}: {{ article.source.name }}")
    assert sender.send(make_alert()).ok
    (message,) = wait_for(lambda: smtp.messages, timeout=10, what="the email")
    assert message["Subject"] == "News on Armenia–Azerbaijan: Kompas.com"


def test_template_directory_overrides_the_defaults(smtp, tmp_path):
    (tmp_path / "alert.txt").write_text("Custom: {{ article.title }}\n")
    assert email_sender(smtp.url, template=str(tmp_path)).send(make_alert()).ok
    (message,) = wait_for(lambda: smtp.messages, timeout=10, what="the email")
    bodies = parts(message)
    assert bodies["text/plain"].strip() == "Custom: PM Armenia Minta agar Relasi Militer dengan Rusia Diperkuat"
    assert "<mark>Armenia</mark>" in bodies["text/html"]  # untouched default


def test_digest_is_one_email_grouped_by_topic(smtp):
    first = make_alert("a-1")
    topic = dataclasses.replace(first.topic, id="south-caucasus", name="South Caucasus")
    second = dataclasses.replace(make_alert("b-1", title="Georgia watches Karabakh talks"), topic=topic)
    sender = email_sender(smtp.url)
    assert sender.send_digest([first, second]).ok
    (message,) = wait_for(lambda: smtp.messages, timeout=10, what="the digest")
    ident = digest_id([second, first])
    assert message["Message-ID"] == f"<{ident}@newswatch>"
    assert message["Subject"] == "[newswatch] 2 new alerts: Armenia–Azerbaijan (1), South Caucasus (1)"
    text = parts(message)["text/plain"]
    assert text.index("== Armenia–Azerbaijan (1) ==") < text.index("== South Caucasus (1) ==")
    assert "Georgia watches Karabakh talks" in text and "PM Armenia Minta" in text
    assert sender.send_digest([]).ok
    assert len(smtp.messages) == 1


# --------------------------------------------------------------------------- TLS and credentials


def test_password_is_never_sent_without_starttls():
    result, server = send_through(f"smtp://desk:{PASSWORD_IN_URL}@127.0.0.1:{{port}}",
                                  password=PASSWORD, auth_require_tls=False)
    assert not result.ok and result.permanent
    assert "STARTTLS" in result.detail
    assert PASSWORD not in result.detail and PASSWORD_IN_URL not in result.detail
    assert server.logins == []  # the server never saw AUTH
    assert server.envelopes == []


def test_starttls_then_login(trusted):
    result, server = send_through(f"smtp://desk:{PASSWORD_IN_URL}@127.0.0.1:{{port}}",
                                  tls_context=trusted, password=PASSWORD)
    assert result.ok, result.detail
    assert server.logins == [("desk", PASSWORD, True)]


def test_starttls_is_used_when_offered_even_without_credentials(trusted):
    # require_starttls makes the server refuse MAIL before STARTTLS: success proves the upgrade.
    controller = Controller(
        _Accept(), hostname="127.0.0.1", port=free_port(), tls_context=trusted, require_starttls=True
    )
    controller.start()
    try:
        result = email_sender(f"smtp://127.0.0.1:{controller.port}").send(make_alert())
    finally:
        controller.stop()
    assert result.ok, result.detail


class _Accept:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        return "250 OK"


def test_smtps_implicit_tls(trusted):
    # aiosmtpd only counts STARTTLS as TLS for AUTH; this connection is TLS from the first byte.
    result, server = send_through(f"smtps://desk:{PASSWORD_IN_URL}@127.0.0.1:{{port}}",
                                  ssl_context=trusted, password=PASSWORD, auth_require_tls=False)
    assert result.ok, result.detail
    assert server.logins == [("desk", PASSWORD, True)]


def test_wrong_password_is_permanent_and_not_echoed(trusted):
    result, _ = send_through(f"smtp://desk:wrong-{PASSWORD_IN_URL}@127.0.0.1:{{port}}",
                             tls_context=trusted, password=PASSWORD)
    assert not result.ok and result.permanent
    assert "authentication failed" in result.detail
    assert "wrong-" not in result.detail and "w0rd" not in result.detail


def test_untrusted_certificate_is_refused(certificate):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    result, server = send_through(f"smtp://desk:{PASSWORD_IN_URL}@127.0.0.1:{{port}}",
                                  tls_context=context, password=PASSWORD)  # the client does not trust it
    assert not result.ok and "TLS" in result.detail
    assert server.logins == []


# --------------------------------------------------------------------------- failures


def test_connection_refused_is_retryable():
    result = email_sender(f"smtp://desk:{PASSWORD_IN_URL}@127.0.0.1:{free_port()}").send(make_alert())
    assert not result.ok and not result.permanent
    assert result.detail == "smtp: connection refused"


@pytest.mark.parametrize(
    ("answer", "permanent"), [("550 5.1.1 no such user", True), ("451 4.3.0 try again later", False)]
)
def test_refused_recipients(answer, permanent):
    result, _ = send_through("smtp://127.0.0.1:{port}", rcpt_answer=answer)
    assert not result.ok and result.permanent is permanent
    assert answer[:3] in result.detail


def test_smtp_url_parsing_keeps_the_password_out_of_repr():
    target = parse_smtp_url(f"smtp://desk:{PASSWORD_IN_URL}@mail.example.org:587")
    assert (target.host, target.port, target.username, target.password) == ("mail.example.org", 587, "desk", PASSWORD)
    assert PASSWORD not in repr(target)
    assert parse_smtp_url("smtps://mail.example.org").port == 465
    assert parse_smtp_url("smtp://mail.example.org").port == 25


def test_option_problems():
    good = {"to": ["desk@example.org"], "from": "newswatch@example.org", "smtp_url": "smtp://u:p@mail.example.org:587"}
    assert channel_option_problems("email", good) == []
    assert (
        channel_option_problems(
            "email", {**good, "to": "desk@example.org", "timezone": "Asia/Jakarta", "subject": "[{{ topic.name }}]"}
        )
        == []
    )
    problems = dict(
        channel_option_problems(
            "email",
            {
                "to": ["desk@example.org", "not an address"],
                "from": "x\r\nBcc: y@example.org",
                "smtp_url": "http://mail.example.org",
                "subject": "{{ unclosed",
                "cc": ["a@example.org"],
            },
        )
    )
    assert set(problems) == {"to", "from", "smtp_url", "subject", "cc"}
    assert "not an address" in problems["to"]
    missing = [key for key, _ in channel_option_problems("email", {})]
    assert missing == ["to", "from", "smtp_url"]
