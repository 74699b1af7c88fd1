"""Apprise channel: any Apprise URL (Slack, Telegram, Teams, ntfy, …) gets title + body.

Apprise URLs carry tokens in every part, so details never quote them: a
failing URL is named by its position and scheme only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import apprise as apprise_lib

from worker.models import Alert, Channel, DeliveryResult

from .options import Problem, key_problems, render_problems
from .render import Renderer, RenderError

# Bodies are rendered as plain text: every Apprise service can show that as is.
BODY_FORMAT = apprise_lib.NotifyFormat.TEXT


def urls_of(options: Mapping[str, Any]) -> list[str]:
    urls: list[str] = []
    if isinstance(options.get("url"), str) and options["url"]:
        urls.append(options["url"])
    if isinstance(options.get("urls"), list):
        urls.extend(str(url) for url in options["urls"] if url)
    return urls


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else "?"


def _new_apprise() -> apprise_lib.Apprise:
    # Memory-only state: a worker must not scatter Apprise cache files on disk.
    try:
        asset = apprise_lib.AppriseAsset(storage_mode=apprise_lib.PersistentStoreMode.MEMORY)
    except (AttributeError, TypeError):  # Apprise before persistent storage existed
        asset = apprise_lib.AppriseAsset()
    return apprise_lib.Apprise(asset=asset)


def option_problems(options: Mapping[str, Any]) -> list[Problem]:
    problems = key_problems(
        options,
        required=[],
        optional=["url", "urls", "subject", "template", "timezone"],
        channel_type="apprise",
    )
    urls = options.get("urls")
    if urls is not None and (not isinstance(urls, list) or not all(isinstance(u, str) for u in urls)):
        problems.append(("urls", "must be a list of Apprise URLs"))
    url = options.get("url")
    if url is not None and not isinstance(url, str):
        problems.append(("url", "must be an Apprise URL"))
    if not urls_of(options):
        problems.append(("url", "missing: an apprise channel needs `url` or `urls`"))
    checks = [("url", options.get("url"))] if isinstance(options.get("url"), str) else []
    if isinstance(urls, list):
        checks += [("urls", value) for value in urls if isinstance(value, str)]
    for index, (key, value) in enumerate(checks):
        if value and not _new_apprise().add(value):
            # Name the scheme only: the rest of an Apprise URL is usually a token.
            problems.append((key, f"URL #{index + 1} ({_scheme(value)}://…) is not one Apprise understands"))
    problems += render_problems(options)
    return problems


class AppriseSender:
    def __init__(self, channel: Channel) -> None:
        self.channel_id = channel.id
        self.urls = urls_of(channel.options)
        self.renderer = Renderer(channel.options)

    def send(self, alert: Alert) -> DeliveryResult:
        try:
            rendered = self.renderer.alert(alert)
        except RenderError as error:
            return DeliveryResult(ok=False, permanent=True, detail=f"apprise: {error}")
        return self._notify(rendered.subject, rendered.text)

    def send_digest(self, alerts: list[Alert]) -> DeliveryResult:
        if not alerts:
            return DeliveryResult(ok=True, detail="digest empty: nothing sent")
        try:
            rendered = self.renderer.digest(alerts)
        except RenderError as error:
            return DeliveryResult(ok=False, permanent=True, detail=f"apprise: {error}")
        return self._notify(rendered.subject, rendered.text)

    def _notify(self, title: str, body: str) -> DeliveryResult:
        client = _new_apprise()
        for index, url in enumerate(self.urls):
            if not client.add(url):
                return DeliveryResult(
                    ok=False,
                    permanent=True,
                    detail=f"apprise: URL #{index + 1} ({_scheme(url)}://…) is not supported",
                )
        try:
            result = client.notify(title=title, body=body, body_format=BODY_FORMAT)
        except Exception as error:  # noqa: BLE001 - a plugin failure must not crash the task
            return DeliveryResult(ok=False, detail=f"apprise: {type(error).__name__}")
        services = len(self.urls)
        if result:
            return DeliveryResult(ok=True, detail=f"apprise: sent to {services} service(s)")
        failed = getattr(result, "failed_count", None)
        counted = f"{failed} of {services}" if isinstance(failed, int) else f"{services}"
        # Not permanent: Apprise does not tell a bad token from a service outage.
        return DeliveryResult(ok=False, detail=f"apprise: delivery failed for {counted} service(s)")


def build(channel: Channel) -> AppriseSender:
    return AppriseSender(channel)
