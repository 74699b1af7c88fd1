"""The one interface every alert channel implements, and the registry of channel types.

A channel type is a module with two functions:
`build(channel) -> Sender` and `option_problems(options) -> list[(key, message)]`.
Adding a type (Telegram, …) is one new module plus one line in `CHANNEL_TYPES`.
Modules are imported on first use so Apprise's import cost is only paid by
those who use it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

from worker.models import Alert, Channel, DeliveryResult

from ..errors import NewswatchError

CHANNEL_TYPES: dict[str, str] = {
    "email": "worker.alerts.email",
    "webhook": "worker.alerts.webhook",
    "apprise": "worker.alerts.apprise",
}


@runtime_checkable
class Sender(Protocol):
    """Delivers alerts for one channel. Never raises for delivery failures: it reports them."""

    def send(self, alert: Alert) -> DeliveryResult: ...

    def send_digest(self, alerts: list[Alert]) -> DeliveryResult: ...


class UnknownChannelType(NewswatchError, ValueError):
    pass


def _channel_module(channel_type: str) -> ModuleType:
    try:
        return import_module(CHANNEL_TYPES[channel_type])
    except KeyError:
        raise UnknownChannelType(
            f"unknown channel type {channel_type!r} (expected one of: {', '.join(CHANNEL_TYPES)})"
        ) from None


def build_sender(channel: Channel) -> Sender:
    """The sender for a channel, chosen by `channel.type`."""
    build: Callable[[Channel], Sender] = _channel_module(channel.type).build
    return build(channel)


def channel_option_problems(channel_type: str, options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, message) for every unknown, missing or invalid type-specific option.

    Generic keys (id, type, mode, every, retry) are ignored: the config loader owns them.
    """
    try:
        module = _channel_module(channel_type)
    except UnknownChannelType as error:
        return [("type", str(error))]
    return list(module.option_problems(options))
