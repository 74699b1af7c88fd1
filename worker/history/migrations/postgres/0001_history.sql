-- Every parsed article, its matches and alert ids; `body` is the Article as JSON
-- (zlib-compressed when that pays, see worker/history/base.py).
CREATE TABLE history_articles (
    id BIGSERIAL PRIMARY KEY,
    article_id TEXT NOT NULL UNIQUE,
    seen_at DOUBLE PRECISION NOT NULL,   -- unix time it was stored
    published DOUBLE PRECISION,
    source_id TEXT NOT NULL,
    language TEXT,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    body BYTEA NOT NULL,
    -- The words as the topic matcher normalises them, as lexemes taken verbatim
    -- (array_to_tsvector: no parser, no stemming, no stop words, like the 'simple'
    -- configuration but with the matcher's own folding), so every language is indexed
    -- and the index never disagrees with the matcher.
    words TSVECTOR NOT NULL,
    matches JSONB NOT NULL,
    alerts JSONB NOT NULL
);
-- The body is compressed already: TOAST should not try again.
ALTER TABLE history_articles ALTER COLUMN body SET STORAGE EXTERNAL;
CREATE INDEX history_articles_seen ON history_articles (seen_at);
CREATE INDEX history_articles_words ON history_articles USING GIN (words);
CREATE INDEX history_articles_source ON history_articles (source_id, seen_at);
-- One row per (alert, article carrying it): an article folded into an earlier story's
-- alert carries that alert's id too.
CREATE TABLE history_alerts (
    alert_id TEXT NOT NULL,
    article_id TEXT NOT NULL,
    topic_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (alert_id, article_id)
);
CREATE INDEX history_alerts_topic ON history_alerts (topic_id, at);
CREATE INDEX history_alerts_article ON history_alerts (article_id);
