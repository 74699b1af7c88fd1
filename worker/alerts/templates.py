"""The default alert templates (Jinja2), overridable per channel.

A channel's `template: DIR` may hold files with any of these names; those
replace the defaults, the others stay. Names ending in `.html` are
autoescaped; `.txt` ones are plain text. Each template sees the context built
by `render.alert_context` (alerts) or `render.digest_context` (digests).
"""

from __future__ import annotations

ALERT_SUBJECT = "[{{ topic.name }}] {{ article.title }}"

ALERT_TEXT = """\
{{ article.title }}

Topic:     {{ topic.name }}
Source:    {{ source_label }}
{% if article.authors %}
Author:    {{ article.authors|join(", ") }}
{% endif %}
Published: {{ published.text }}
Matched:   {{ terms|join(", ") }} (score {{ "%.1f"|format(match.score) }})

{% for snippet in snippets %}
  … {{ snippet|highlight(terms) }} …

{% endfor %}
Read it: {{ link }}
{% if also_reported_by %}
Also reported by: {{ also_reported_by|join(", ") }}
{% endif %}

--
newswatch alert {{ id }}
"""

ALERT_HTML = """\
<!DOCTYPE html>
<html lang="{{ article.language or 'en' }}">
<head><meta charset="utf-8"><title>{{ article.title }}</title></head>
<body style="font-family: Arial, Helvetica, sans-serif; line-height: 1.45; color: #222;">
{% include "article.html" %}
<p style="color: #888; font-size: 12px;">newswatch alert {{ id }}</p>
</body>
</html>
"""

# One article block, shared by the alert and digest HTML.
ARTICLE_HTML = """\
<div style="margin: 0 0 20px 0;">
  <p style="margin: 0; color: #666; font-size: 13px;">{{ topic.name }}</p>
  <h2 style="margin: 4px 0 6px 0; font-size: 19px;">
    {% if link %}
    <a href="{{ link }}" style="color: #1a4e8a; text-decoration: none;">{{ article.title }}</a>
    {% else %}
    {{ article.title }}
    {% endif %}
  </h2>
  <p style="margin: 0 0 8px 0; color: #555; font-size: 13px;">
    <strong>{{ source_label }}</strong>
    {% if article.authors %} · {{ article.authors|join(", ") }}{% endif %}
    · {{ published.text }}
  </p>
  {% for snippet in snippets %}
  <p style="margin: 0 0 6px 0;">… {{ snippet|highlight(terms) }} …</p>
  {% endfor %}
  <p style="margin: 8px 0 0 0; font-size: 13px; color: #555;">
    Matched: {{ terms|join(", ") }} (score {{ "%.1f"|format(match.score) }})
    {% if also_reported_by %}<br>Also reported by: {{ also_reported_by|join(", ") }}{% endif %}
  </p>
  {% if link %}
  <p style="margin: 8px 0 0 0;"><a href="{{ link }}">Read the article</a></p>
  {% endif %}
</div>
"""

DIGEST_SUBJECT = """\
[newswatch] {{ count }} new alert{{ "s" if count != 1 }}: \
{% for group in groups %}\
{{ group.topic.name }} ({{ group.alerts|length }}){{ ", " if not loop.last }}\
{% endfor %}"""

DIGEST_TEXT = """\
{{ count }} new alert{{ "s" if count != 1 }}

{% for group in groups %}
== {{ group.topic.name }} ({{ group.alerts|length }}) ==

{% for item in group.alerts %}
* {{ item.article.title }}
  {{ item.source_label }} · {{ item.published.text }}
  Matched: {{ item.terms|join(", ") }}
{% if item.snippets %}
  … {{ item.snippets[0]|highlight(item.terms) }} …
{% endif %}
  {{ item.link }}

{% endfor %}
{% endfor %}
--
newswatch digest {{ id }}
"""

DIGEST_HTML = """\
<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>newswatch digest</title></head>
<body style="font-family: Arial, Helvetica, sans-serif; line-height: 1.45; color: #222;">
<h1 style="font-size: 20px;">{{ count }} new alert{{ "s" if count != 1 }}</h1>
{% for group in groups %}
<h2 style="font-size: 17px; border-bottom: 1px solid #ddd;">
  {{ group.topic.name }} ({{ group.alerts|length }})
</h2>
{% for item in group.alerts %}
{% with topic=item.topic, article=item.article, link=item.link, source_label=item.source_label,
         published=item.published, snippets=item.snippets[:1], terms=item.terms, match=item.match,
         also_reported_by=item.also_reported_by %}
{% include "article.html" %}
{% endwith %}
{% endfor %}
{% endfor %}
<p style="color: #888; font-size: 12px;">newswatch digest {{ id }}</p>
</body>
</html>
"""

DEFAULT_TEMPLATES: dict[str, str] = {
    "alert.subject.txt": ALERT_SUBJECT,
    "alert.txt": ALERT_TEXT,
    "alert.html": ALERT_HTML,
    "article.html": ARTICLE_HTML,
    "digest.subject.txt": DIGEST_SUBJECT,
    "digest.txt": DIGEST_TEXT,
    "digest.html": DIGEST_HTML,
}
