"""Native message shapes for chat services: Slack incoming webhooks and Discord webhooks.

Article text is untrusted: it is escaped for each service's markup so a title
cannot ping @everyone, forge a link or break the message layout. Lengths are
capped to the services' documented limits so a long article never gets the
whole message rejected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from worker.models import Alert

from .render import alert_context, digest_context, zone_of

# Slack: section text ≤ 3000, header ≤ 150, ≤ 50 blocks per message.
SLACK_SECTION_LIMIT = 3000
SLACK_HEADER_LIMIT = 150
SLACK_MAX_BLOCKS = 50
# Discord: content ≤ 2000, embed title ≤ 256, description ≤ 4096, ≤ 10 embeds,
# ≤ 6000 characters across all embeds, field value ≤ 1024.
DISCORD_CONTENT_LIMIT = 2000
DISCORD_TITLE_LIMIT = 256
DISCORD_DESCRIPTION_LIMIT = 4096
DISCORD_MAX_EMBEDS = 10
DISCORD_TOTAL_LIMIT = 6000
DISCORD_FIELD_LIMIT = 1024
DISCORD_COLOR = 0x1A4E8A


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _bold_terms(text: str, terms: Sequence[str], escape: Callable[[str], str], marker: str) -> str:
    """Escape `text` for the service and wrap the matched terms in its bold marker."""
    words = sorted({term for term in terms if term.strip()}, key=len, reverse=True)
    if not words:
        return escape(text)
    pattern = re.compile(rf"(?<!\w)(?:{'|'.join(re.escape(w) for w in words)})(?!\w)", re.I)
    out: list[str] = []
    position = 0
    for found in pattern.finditer(text):
        out.append(escape(text[position : found.start()]))
        out.append(f"{marker}{escape(found.group(0))}{marker}")
        position = found.end()
    out.append(escape(text[position:]))
    return "".join(out)


# --------------------------------------------------------------------------- Slack


def slack_escape(text: str) -> str:
    """Slack mrkdwn control characters: & < > (a `<!channel>` needs the `<`)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(url: str, label: str) -> str:
    # `|` ends the URL part of a Slack link and has no escape: swap it for a lookalike.
    label = slack_escape(_one_line(label)).replace("|", "∣")
    return f"<{slack_escape(url)}|{label}>" if url else label


def _slack_item_line(item: dict[str, Any]) -> str:
    article = item["article"]
    return (
        f"*{_slack_link(item['link'], article['title'])}*\n"
        f"{slack_escape(item['source_label'])} · {slack_escape(item['published']['text'])}"
    )


def slack_alert(alert: Alert, timezone: str | None = None) -> dict[str, Any]:
    item = alert_context(alert, zone_of(timezone))
    topic = item["topic"]["name"]
    article = item["article"]
    snippets = "\n".join(
        "> … " + _bold_terms(_one_line(snippet), item["terms"], slack_escape, "*") + " …"
        for snippet in item["snippets"]
    )
    context = f"Matched: {', '.join(item['terms'])} · score {item['match']['score']:.1f}"
    if item["also_reported_by"]:
        context += f" · Also reported by: {', '.join(item['also_reported_by'])}"
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "emoji": False,
                "text": _cap(_one_line(topic) or "newswatch", SLACK_HEADER_LIMIT),
            },
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _cap(_slack_item_line(item), SLACK_SECTION_LIMIT)},
        },
    ]
    if snippets:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _cap(snippets, SLACK_SECTION_LIMIT)},
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": _cap(slack_escape(context), SLACK_SECTION_LIMIT)}],
        }
    )
    # `text` is what notifications and screen readers show.
    fallback = f"[{topic}] {_one_line(article['title'])} ({item['source_label']})"
    return {"text": _cap(slack_escape(fallback), SLACK_SECTION_LIMIT), "blocks": blocks}


def slack_digest(alerts: Sequence[Alert], timezone: str | None = None) -> dict[str, Any]:
    digest = digest_context(alerts, zone_of(timezone))
    count = digest["count"]
    title = f"{count} new alert{'s' if count != 1 else ''}"
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "emoji": False, "text": title}}]
    room = SLACK_MAX_BLOCKS - len(blocks) - 1  # keep one block for the "… more" note
    shown = 0
    for group in digest["groups"]:
        if room < 2:
            break
        name = slack_escape(_one_line(group["topic"]["name"]))
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*{name}* ({len(group['alerts'])})"},
            }
        )
        room -= 1
        for item in group["alerts"]:
            if room < 1:
                break
            blocks.append(
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": _cap(_slack_item_line(item), SLACK_SECTION_LIMIT),
                    },
                }
            )
            room -= 1
            shown += 1
    if shown < count:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"… and {count - shown} more"}],
            }
        )
    topics = ", ".join(f"{g['topic']['name']} ({len(g['alerts'])})" for g in digest["groups"])
    return {
        "text": _cap(slack_escape(f"newswatch: {title}: {topics}"), SLACK_SECTION_LIMIT),
        "blocks": blocks,
    }


# --------------------------------------------------------------------------- Discord

# Lines we build start with "• " or "… ", so list/heading markers at line start cannot occur.
_DISCORD_MARKDOWN = re.compile(r"([\\*_~`|>\[\]()<])")


def discord_escape(text: str) -> str:
    """Backslash-escape Discord markdown so article text shows as written."""
    return _DISCORD_MARKDOWN.sub(r"\\\1", str(text))


def _discord_link(url: str, label: str) -> str:
    label = discord_escape(_one_line(label))
    if not url:
        return label
    return f"[{label}]({url.replace('(', '%28').replace(')', '%29').replace(' ', '%20')})"


def _discord_embed(item: dict[str, Any]) -> dict[str, Any]:
    article = item["article"]
    description = "\n".join(
        "… " + _bold_terms(_one_line(s), item["terms"], discord_escape, "**") + " …" for s in item["snippets"]
    )
    fields = [
        {
            "name": "Published",
            "value": _cap(item["published"]["text"], DISCORD_FIELD_LIMIT),
            "inline": True,
        },
        {
            "name": "Matched",
            "value": _cap(discord_escape(", ".join(item["terms"]) or "—"), DISCORD_FIELD_LIMIT),
            "inline": True,
        },
    ]
    if item["also_reported_by"]:
        fields.append(
            {
                "name": "Also reported by",
                "inline": False,
                "value": _cap(discord_escape(", ".join(item["also_reported_by"])), DISCORD_FIELD_LIMIT),
            }
        )
    embed: dict[str, Any] = {
        "title": _cap(_one_line(article["title"]), DISCORD_TITLE_LIMIT),
        "description": _cap(description, DISCORD_DESCRIPTION_LIMIT),
        "color": DISCORD_COLOR,
        "author": {"name": _cap(_one_line(item["source_label"]), DISCORD_TITLE_LIMIT)},
        "fields": fields,
        "footer": {"text": _cap(f"newswatch · {_one_line(item['topic']['name'])}", 2048)},
    }
    if item["link"]:
        embed["url"] = item["link"]
    if article.get("published"):
        embed["timestamp"] = article["published"]
    return embed


def discord_alert(alert: Alert, timezone: str | None = None) -> dict[str, Any]:
    item = alert_context(alert, zone_of(timezone))
    content = f"**{discord_escape(_one_line(item['topic']['name']))}**: new match"
    return {
        "content": _cap(content, DISCORD_CONTENT_LIMIT),
        "embeds": [_discord_embed(item)],
        # Article text must never ping anyone (@everyone, roles, users).
        "allowed_mentions": {"parse": []},
    }


def discord_digest(alerts: Sequence[Alert], timezone: str | None = None) -> dict[str, Any]:
    digest = digest_context(alerts, zone_of(timezone))
    count = digest["count"]
    groups = digest["groups"][:DISCORD_MAX_EMBEDS]
    per_embed = min(DISCORD_DESCRIPTION_LIMIT, (DISCORD_TOTAL_LIMIT - 500) // max(1, len(groups)))
    embeds = []
    for group in groups:
        lines = [
            f"• {_discord_link(item['link'], item['article']['title'])} — "
            f"{discord_escape(_one_line(item['source_label']))} · {item['published']['text']}"
            for item in group["alerts"]
        ]
        embeds.append(
            {
                "title": _cap(
                    f"{_one_line(group['topic']['name'])} ({len(group['alerts'])})",
                    DISCORD_TITLE_LIMIT,
                ),
                "description": _cap("\n".join(lines), per_embed),
                "color": DISCORD_COLOR,
            }
        )
    content = f"**newswatch**: {count} new alert{'s' if count != 1 else ''}"
    if len(digest["groups"]) > len(groups):
        content += f" ({len(digest['groups']) - len(groups)} more topics not shown)"
    return {"content": content, "embeds": embeds, "allowed_mentions": {"parse": []}}
