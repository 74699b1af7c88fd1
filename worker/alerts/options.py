"""Checks on channel options shared by the channel types.

Each check returns (key, message) pairs so the config validator can print
`file:line: channels[i].key: message` for every problem at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from ..durations import parse_duration

Problem = tuple[str, str]

# Keys of every channel, validated by the config loader rather than the channel.
GENERIC_KEYS = frozenset({"id", "type", "mode", "every", "retry"})
# Keys every channel type understands because they only shape the rendered text.
RENDER_KEYS = frozenset({"timezone", "subject", "template"})

_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\]+\.[^@\s<>(),;:\"\[\]\\]+$")


def key_problems(
    options: Mapping[str, Any], required: Iterable[str], optional: Iterable[str], channel_type: str
) -> list[Problem]:
    required = list(required)
    known = set(required) | set(optional) | GENERIC_KEYS
    expected = ", ".join(sorted(known - GENERIC_KEYS))
    problems = [
        (key, f"unknown key for a {channel_type} channel (expected: {expected})") for key in options if key not in known
    ]
    for key in required:
        value = options.get(key)
        if value is None or value == "" or value == []:
            problems.append((key, f"missing: a {channel_type} channel needs `{key}`"))
    return problems


def is_address(text: str) -> bool:
    """A bare mailbox (user@example.org) with nothing a header could be split on."""
    return bool(_ADDRESS.match(text))


def mailbox_address(text: str) -> str | None:
    """The address of "user@example.org" or "Name <user@example.org>", None if malformed."""
    if any(char in text for char in "\r\n\x00"):
        return None
    _, address = parseaddr(text)
    return address if address and is_address(address) else None


def parse_seconds(value: Any) -> float | None:
    """10, 2.5, "10s", "500ms", "1m" -> seconds; None when not a positive duration."""
    seconds = parse_duration(value)
    return seconds if seconds else None


def render_problems(options: Mapping[str, Any]) -> list[Problem]:
    """Problems with `timezone`, `subject` and `template`, where present."""
    problems: list[Problem] = []
    zone = options.get("timezone")
    if zone is not None:
        try:
            ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(("timezone", f"unknown time zone {zone!r} (use an IANA name such as Asia/Jakarta)"))
    subject = options.get("subject")
    if subject is not None:
        if not isinstance(subject, str):
            problems.append(
                (
                    "subject",
                    "must be a text template such as '[{{ topic.name }}] {{ article.title }}'",
                )
            )
        else:
            try:
                SandboxedEnvironment().parse(subject)
            except TemplateSyntaxError as error:
                problems.append(("subject", f"template error: {error.message}"))
    template = options.get("template")
    if template is not None and (not isinstance(template, str) or not Path(template).expanduser().is_dir()):
        problems.append(("template", f"{template!r} is not a directory of templates"))
    return problems


def timeout_problems(options: Mapping[str, Any]) -> list[Problem]:
    if "timeout" in options and parse_seconds(options["timeout"]) is None:
        return [("timeout", f"{options['timeout']!r} is not a positive duration (e.g. 10 or 10s)")]
    return []
