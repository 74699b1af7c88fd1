"""Topic detection: the query language and the compiled matcher.

    from worker.topics import compile_topics, parse_query
    index = compile_topics(config.topics)      # once, at start-up
    for match in index.match(article): ...     # per article
    print(index.explain("armenia-azerbaijan", article))

See ``query.py`` for the language, ``normalize.py`` for what counts as the
same word, ``index.py`` for how matching stays flat as topics grow.
"""

from .explain import explain
from .index import TopicIndex, TopicQueryError, compile_topics
from .normalize import normalize_words, tokenize
from .query import Query, QueryError, parse_query

__all__ = [
    "Query",
    "QueryError",
    "TopicIndex",
    "TopicQueryError",
    "compile_topics",
    "explain",
    "normalize_words",
    "parse_query",
    "tokenize",
]
