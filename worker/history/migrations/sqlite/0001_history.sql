-- Every parsed article, its matches and alert ids; `body` is the Article as JSON
-- (zlib-compressed when that pays, see worker/history/base.py).
CREATE TABLE history_articles (
    id INTEGER PRIMARY KEY,              -- the rowid of the word index
    article_id TEXT NOT NULL UNIQUE,
    seen_at REAL NOT NULL,               -- unix time it was stored
    published REAL,
    source_id TEXT NOT NULL,
    language TEXT,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    body BLOB NOT NULL,
    words BLOB NOT NULL,                 -- the words indexed, compressed: a contentless
                                         -- FTS5 table needs them again to delete a row
    matches TEXT NOT NULL,               -- JSON [{"topic", "score", "terms"}]
    alerts TEXT NOT NULL                 -- JSON {"topic id": ["alert id", ...]}
);
CREATE INDEX history_articles_seen ON history_articles (seen_at);
-- The words as the topic matcher normalises them, space-separated: the ascii tokenizer
-- splits on spaces only (normalised words hold no ASCII punctuation), so the index and
-- the matcher agree on every script. Contentless and detail=none: presence is all the
-- narrowing needs; the matcher decides phrases and NEAR on the stored text.
CREATE VIRTUAL TABLE history_words USING fts5 (
    words, content = '', detail = none, tokenize = 'ascii'
);
-- One row per (alert, article carrying it): an article folded into an earlier story's
-- alert carries that alert's id too.
CREATE TABLE history_alerts (
    alert_id TEXT NOT NULL,
    article_id TEXT NOT NULL,
    topic_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (alert_id, article_id)
);
CREATE INDEX history_alerts_topic ON history_alerts (topic_id, at);
CREATE INDEX history_alerts_article ON history_alerts (article_id);
