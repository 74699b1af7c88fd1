"""Email channel: multipart text + HTML over SMTP (STARTTLS or implicit TLS).

`smtp://user:pass@host:587` upgrades with STARTTLS whenever the server offers
it, and refuses to log in at all when it does not: a password is never sent
in clear. `smtps://host:465` speaks TLS from the first byte.
The Message-ID is derived from the alert id, so a retried alert is the same
message to the receiving side (mail systems collapse duplicates by it).
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cached_property
from typing import Any
from urllib.parse import unquote, urlsplit

from worker.models import Alert, Channel, DeliveryResult

from ..errors import NewswatchError
from .options import (
    Problem,
    is_address,
    key_problems,
    mailbox_address,
    parse_seconds,
    render_problems,
    timeout_problems,
)
from .redact import redact
from .render import Rendered, Renderer, RenderError, digest_id, header_value

DEFAULT_TIMEOUT = 30.0
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
MESSAGE_ID_DOMAIN = "newswatch"
# What may stand unquoted left of the @ in a Message-ID (RFC 5322 dot-atom, minus oddities).
_MESSAGE_ID_LOCAL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_+=\-]|\.(?!\.))*$")


class CleartextRefused(NewswatchError):
    """The server offers no STARTTLS and we hold a password: sending it would expose it."""


@dataclass(frozen=True, slots=True)
class SMTPTarget:
    scheme: str  # smtp | smtps
    host: str
    port: int
    username: str | None
    password: str | None

    def __repr__(self) -> str:  # never print the password by accident
        return f"SMTPTarget({self.scheme}://{self.host}:{self.port}, user={self.username!r})"


def parse_smtp_url(url: str) -> SMTPTarget:
    """smtp://user:pass@host:port or smtps://…; raises ValueError (without the password)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError("not a valid smtp:// or smtps:// URL") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError(f"scheme must be smtp:// or smtps://, not {parts.scheme or 'nothing'}")
    if not parts.hostname:
        raise ValueError("the URL names no host")
    return SMTPTarget(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or DEFAULT_PORTS[parts.scheme],
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def recipients_of(value: Any) -> list[str]:
    """`to` as a list: a single address or a list of them."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(item).strip() for item in value or [] if str(item).strip()]


def message_id(alert_id: str) -> str:
    """`<alert-id@newswatch>`; ids that are not a valid Message-ID part are hashed."""
    if len(alert_id) <= 200 and _MESSAGE_ID_LOCAL.match(alert_id) and not alert_id.endswith("."):
        local = alert_id
    else:
        local = "h" + hashlib.sha256(alert_id.encode("utf-8")).hexdigest()[:40]
    return f"<{local}@{MESSAGE_ID_DOMAIN}>"


def option_problems(options: Mapping[str, Any]) -> list[Problem]:
    problems = key_problems(
        options,
        required=["to", "from", "smtp_url"],
        optional=["subject", "template", "timezone", "timeout"],
        channel_type="email",
    )
    to = options.get("to")
    if to:
        if not isinstance(to, str | list) or not all(isinstance(x, str) for x in recipients_of(to)):
            problems.append(("to", "must be an address or a list of addresses"))
        else:
            bad = [address for address in recipients_of(to) if not is_address(address)]
            if bad:
                problems.append(("to", f"not an email address: {', '.join(map(repr, bad))}"))
    sender = options.get("from")
    if sender and (not isinstance(sender, str) or mailbox_address(sender) is None):
        problems.append(
            (
                "from",
                f"{sender!r} is not an email address (user@example.org or Name <user@example.org>)",
            )
        )
    smtp_url = options.get("smtp_url")
    if smtp_url:
        try:
            parse_smtp_url(str(smtp_url))
        except ValueError as error:
            problems.append(("smtp_url", str(error)))
    problems += timeout_problems(options)
    problems += render_problems(options)
    return problems


class EmailSender:
    def __init__(self, channel: Channel) -> None:
        options = channel.options
        self.channel_id = channel.id
        self.target = parse_smtp_url(str(options["smtp_url"]))
        self.from_header = header_value(str(options["from"]), limit=320)
        self.envelope_from = mailbox_address(str(options["from"])) or self.from_header
        self.recipients = [header_value(address, limit=320) for address in recipients_of(options["to"])]
        self.timeout = parse_seconds(options.get("timeout")) or DEFAULT_TIMEOUT
        self.renderer = Renderer(options)

    # ----------------------------------------------------------------- messages

    def message_for(self, alert: Alert) -> EmailMessage:
        message = self._message(self.renderer.alert(alert), message_id(alert.id))
        message["X-Newswatch-Alert"] = header_value(alert.id)
        message["X-Newswatch-Topic"] = header_value(alert.topic.id)
        return message

    def digest_message_for(self, alerts: list[Alert]) -> EmailMessage:
        ident = digest_id(alerts)
        message = self._message(self.renderer.digest(alerts), message_id(ident))
        message["X-Newswatch-Digest"] = ident
        return message

    def _message(self, rendered: Rendered, ident: str) -> EmailMessage:
        message = EmailMessage(policy=policy.SMTP)
        message["Subject"] = rendered.subject
        message["From"] = self.from_header
        message["To"] = ", ".join(self.recipients)
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = ident
        # RFC 3834: tells autoresponders (vacation replies) not to answer.
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
        return message

    # ----------------------------------------------------------------- delivery

    def send(self, alert: Alert) -> DeliveryResult:
        try:
            message = self.message_for(alert)
        except RenderError as error:
            return DeliveryResult(ok=False, permanent=True, detail=f"email: {error}")
        return self.deliver(message)

    def send_digest(self, alerts: list[Alert]) -> DeliveryResult:
        if not alerts:
            return DeliveryResult(ok=True, detail="digest empty: nothing sent")
        try:
            message = self.digest_message_for(alerts)
        except RenderError as error:
            return DeliveryResult(ok=False, permanent=True, detail=f"email: {error}")
        return self.deliver(message)

    def deliver(self, message: EmailMessage) -> DeliveryResult:
        result = self._deliver(message)
        secrets = [s for s in (self.target.password,) if s]
        return DeliveryResult(
            ok=result.ok,
            detail=redact(result.detail, secrets),
            permanent=result.permanent,
            retry_after=result.retry_after,
        )

    @cached_property
    def _tls_context(self) -> ssl.SSLContext:
        # Loading the system's CA store costs ~50 ms: once per sender, not per email.
        return ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        context = self._tls_context
        if self.target.scheme == "smtps":
            return smtplib.SMTP_SSL(self.target.host, self.target.port, timeout=self.timeout, context=context)
        client = smtplib.SMTP(self.target.host, self.target.port, timeout=self.timeout)
        try:
            client.ehlo()
            if client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
            elif self.target.password:
                raise CleartextRefused()
        except BaseException:
            client.close()
            raise
        return client

    def _deliver(self, message: EmailMessage) -> DeliveryResult:
        where = f"{self.target.host}:{self.target.port}"
        try:
            client = self._connect()
        except CleartextRefused:
            # Permanent: the same server will answer the same way; the config must change.
            return DeliveryResult(
                ok=False,
                permanent=True,
                detail=(
                    f"smtp: {where} does not offer STARTTLS; refusing to send the password "
                    "in clear (use smtps:// or a server with STARTTLS)"
                ),
            )
        except Exception as error:  # noqa: BLE001 - every failure becomes a result
            return _failure(error, where)
        try:
            if self.target.username and self.target.password:
                client.login(self.target.username, self.target.password)
            refused = client.send_message(message, from_addr=self.envelope_from, to_addrs=self.recipients)
        except Exception as error:  # noqa: BLE001
            return _failure(error, where)
        finally:
            _close(client)
        if refused:
            return DeliveryResult(
                ok=True,
                detail=f"smtp=250 {where} refused {len(refused)} of {len(self.recipients)} recipients",
            )
        return DeliveryResult(ok=True, detail=f"smtp=250 {where}")


def _close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _failure(error: BaseException, where: str) -> DeliveryResult:
    """One failure as a DeliveryResult; 5xx answers are permanent, the rest can be retried."""
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return DeliveryResult(
            ok=False,
            permanent=True,
            detail=f"smtp: authentication failed ({error.smtp_code}) at {where}",
        )
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return DeliveryResult(ok=False, permanent=True, detail=f"smtp: {where} does not support login (AUTH)")
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in error.recipients.values()})
        return DeliveryResult(
            ok=False,
            permanent=all(code >= 500 for code in codes),
            detail=f"smtp: recipients refused ({', '.join(map(str, codes))}) at {where}",
        )
    if isinstance(error, smtplib.SMTPResponseException):
        code = error.smtp_code
        what = {
            smtplib.SMTPSenderRefused: "sender refused",
            smtplib.SMTPDataError: "message refused",
        }.get(type(error), "server error")
        return DeliveryResult(ok=False, permanent=code >= 500, detail=f"smtp: {what} ({code}) at {where}")
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return DeliveryResult(ok=False, detail=f"smtp: {where} closed the connection")
    if isinstance(error, ConnectionRefusedError):
        return DeliveryResult(ok=False, detail="smtp: connection refused")
    if isinstance(error, TimeoutError):
        return DeliveryResult(ok=False, detail=f"smtp: timed out at {where}")
    if isinstance(error, ssl.SSLError):
        reason = getattr(error, "reason", None) or type(error).__name__
        return DeliveryResult(ok=False, detail=f"smtp: TLS error ({reason}) at {where}")
    if isinstance(error, OSError):
        return DeliveryResult(ok=False, detail=f"smtp: cannot reach {where} ({type(error).__name__})")
    return DeliveryResult(ok=False, detail=f"smtp: {type(error).__name__} at {where}")


def build(channel: Channel) -> EmailSender:
    return EmailSender(channel)
