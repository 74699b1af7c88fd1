"""newswatch's one base exception.

Every error newswatch raises on purpose derives from :class:`NewswatchError`, so a
caller (an embedding program, a script, the CLI) can catch all of them in one place::

    try:
        config = load_config(path)
        ...
    except NewswatchError as error:
        print(f"newswatch: {error}")

Each error keeps the standard base it had before (``ConfigError`` is still a
``ValueError``, ``HistoryUnavailable`` still a ``RuntimeError``), so code that
catches those keeps working. The errors themselves live beside the code that
raises them:

- ``worker.config.ConfigError``: the configuration is invalid (file:line in the message)
- ``worker.topics.query.QueryError`` / ``worker.topics.index.TopicQueryError``: a topic query does not parse
- ``worker.fetch.client.FetchError`` / ``worker.fetch.limits.LimitExceeded``: a fetch gave no usable body
- ``worker.sources.common.SourceError``: a source's document is not a feed/page/sitemap
- ``worker.parser.errors.ParseError``: the input is not a document at all
- ``worker.alerts.base.UnknownChannelType``, ``worker.alerts.render.RenderError``,
  ``worker.alerts.email.CleartextRefused``: a channel cannot be built or cannot send
- ``worker.history.base.HistoryUnavailable``: the history store cannot be reached
- ``worker.web.WebError``: the status page cannot start as asked
- ``worker.cli.UsageError``: bad command-line arguments

This module imports nothing from newswatch, so any module may import it.
"""

from __future__ import annotations


class NewswatchError(Exception):
    """Base of every error newswatch raises on purpose; the message says what to do."""
