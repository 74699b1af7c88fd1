"""canonical_url is an address someone published; only the identity key folds http into https."""

from __future__ import annotations

from worker.dedup import article_id, identity_url, public_url
from worker.models import FeedEntry, Source
from worker.parser import parse_entry, parse_html

PAGE = "<html><head>{head}<title>A1</title></head><body><article>{body}</article></body></html>"
BODY = "<p>" + "Yerevan and Baku signed the ceasefire text on Tuesday night. " * 6 + "</p>"


def page(head: str = "") -> str:
    return PAGE.format(head=head, body=BODY)


def test_page_without_canonical_keeps_its_own_http_address():
    article = parse_html(page(), "http://host:18931/a1.html?utm_source=feed&utm_medium=rss#top")
    assert article.canonical_url == "http://host:18931/a1.html"
    assert article.to_dict()["canonical_url"] == "http://host:18931/a1.html"


def test_rel_canonical_is_shown_as_published():
    head = '<link rel="canonical" href="http://www.example.org/news/a1/?id=7&utm_campaign=x">'
    article = parse_html(page(head), "https://example.org/news/a1")
    assert article.canonical_url == "http://www.example.org/news/a1/?id=7"


def test_og_url_when_no_rel_canonical():
    head = '<meta property="og:url" content="/news/a1.html">'
    article = parse_html(page(head), "http://example.org/other?fbclid=1")
    assert article.canonical_url == "http://example.org/news/a1.html"


def test_the_same_article_over_http_and_https_has_one_id():
    over_http = parse_html(page(), "http://www.example.org/a1.html?utm_source=x")
    over_https = parse_html(page(), "https://example.org/a1.html/")
    assert over_http.canonical_url != over_https.canonical_url  # each its real address
    assert over_http.id == over_https.id  # one article for deduplication
    assert over_http.id == article_id(over_http.canonical_url)


def test_feed_entry_without_page_keeps_the_entry_address():
    entry = FeedEntry(url="http://host:18931/a1.html?utm_source=rss", title="A1",
                      content="<p>Yerevan and Baku.</p>")
    article = parse_entry(entry, Source(id="s", url="http://host:18931/feed.xml"))
    assert article.canonical_url == "http://host:18931/a1.html"
    assert article.id == article_id("https://host:18931/a1.html")


def test_public_url_keeps_what_identity_folds():
    url = "HTTP://WWW.Example.org:80/amp/Story/?b=2&a=1&utm_source=x&q=a%2Cb#frag"
    assert public_url(url) == "http://www.example.org/amp/Story/?b=2&a=1&q=a%2Cb"
    assert identity_url(url) == "https://example.org/amp/Story?a=1&b=2&q=a%2Cb"


def test_identity_is_idempotent_so_old_ids_stay_valid():
    key = identity_url("http://www.example.org/a1/?utm_source=x")
    assert identity_url(key) == key
    assert article_id(key) == article_id("http://www.example.org/a1/")


def test_public_url_leaves_non_addresses_alone():
    assert public_url("") == ""
    assert public_url("not a url") == "not a url"
    assert public_url("http://example.org:99999/x") == "http://example.org:99999/x"
