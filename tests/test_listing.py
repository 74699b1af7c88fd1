"""Source kinds end to end through the pipeline: autodiscovery, sitemap indexes, listing pages."""

from __future__ import annotations

import pytest
from helpers import loopback_fetcher
from servers import HTTPServer

from worker.listing import list_entries
from worker.models import Source
from worker.sources import SourceError
from worker.store import SourceState

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>One</title><link>/read/2020/11/21/one-story</link></item>
<item><title>Two</title><link>/read/2020/11/21/two-story</link></item></channel></rss>"""


@pytest.fixture
def site():
    server = HTTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def fetcher():
    with loopback_fetcher() as f:
        yield f


def paths(server: HTTPServer) -> list[str]:
    return [r.path for r in server.requests]


def test_a_feed_source_that_is_a_web_page_is_followed_to_its_feed(site, fetcher):
    site.routes["/home"] = (200, {"Content-Type": "text/html"}, b'<html><head>'
                            b'<link rel="alternate" type="application/rss+xml" href="/rss"></head>'
                            b'<body>news</body></html>')
    site.routes["/rss"] = (200, {"Content-Type": "application/rss+xml"}, RSS)
    source = Source("home", site.url("/home"))
    listing = list_entries(fetcher, source, SourceState("home"))
    assert [e.title for e in listing.entries] == ["One", "Two"]
    assert listing.entries[0].url == site.url("/read/2020/11/21/one-story")
    assert listing.state.feed_url == site.url("/rss")
    list_entries(fetcher, source, listing.state)  # the next poll asks the feed directly
    assert paths(site) == ["/home", "/rss", "/rss"]


def test_a_page_without_a_feed_is_a_clear_source_error(site, fetcher):
    site.routes["/home"] = (200, {"Content-Type": "text/html"}, b"<html><body>no feed</body></html>")
    with pytest.raises(SourceError, match="advertises no feed"):
        list_entries(fetcher, Source("home", site.url("/home")), SourceState("home"))


def test_a_sitemap_index_is_followed_to_its_newest_sitemaps(site, fetcher):
    def urlset(*slugs: str) -> bytes:
        urls = "".join(f"<url><loc>{site.url('/read/' + s)}</loc></url>" for s in slugs)
        return (f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"{urls}</urlset>").encode()

    children = "".join(f"<sitemap><loc>{site.url(f'/sitemap-2020-11-{d:02d}.xml')}</loc></sitemap>"
                       for d in range(1, 9))
    site.routes["/sitemap.xml"] = (200, {"Content-Type": "application/xml"}, (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{children}</sitemapindex>").encode())
    for day in range(1, 9):
        site.routes[f"/sitemap-2020-11-{day:02d}.xml"] = (
            200, {"Content-Type": "application/xml"}, urlset(f"2020/11/{day:02d}/story-{day}"))
    listing = list_entries(fetcher, Source("sm", site.url("/sitemap.xml"), kind="sitemap"),
                           SourceState("sm"))
    assert sorted(e.url.rsplit("-", 1)[1] for e in listing.entries) == ["4", "5", "6", "7", "8"]


def test_a_listing_page_with_a_selector(site, fetcher):
    site.routes["/list"] = (200, {"Content-Type": "text/html"}, b"""<html><body>
      <nav><a href="/about">About</a></nav>
      <div class="latest"><h2><a href="/read/2020/11/21/armenia-azerbaijan">Armenia</a></h2>
      <h2><a href="/read/2020/11/21/baku-talks">Baku</a></h2></div></body></html>""")
    source = Source("list", site.url("/list"), kind="page", selector=".latest h2 a")
    listing = list_entries(fetcher, source, SourceState("list"))
    assert [e.title for e in listing.entries] == ["Armenia", "Baku"]


def test_the_feed_ttl_and_max_age_say_when_to_come_back(site, fetcher):
    ttl_feed = RSS.replace(b"<title>t</title>", b"<title>t</title><ttl>30</ttl>")
    site.routes["/rss"] = (200, {"Content-Type": "application/rss+xml",
                                 "Cache-Control": "max-age=600"}, ttl_feed)
    listing = list_entries(fetcher, Source("f", site.url("/rss")), SourceState("f"))
    assert listing.ttl == 1800 and listing.server_wait == 1800


# --------------------------------------------------------------------------- one entry point, a registry by kind


def _lines_reader():
    """A new kind, as a module would define it: one URL per line of a text file."""
    import types

    from worker.models import FeedEntry
    from worker.sources import Read, Reader

    def read(response, source, fetch):
        urls = [line.strip() for line in response.body.decode().splitlines() if line.strip()]
        if not urls:
            raise RuntimeError("a reader bug on an empty body")
        return Read([FeedEntry(url=url, title=url.rsplit("/", 1)[-1]) for url in urls], ttl=600.0)

    module = types.ModuleType("newswatch_test_lines_reader")
    module.READER = Reader(accept="text/plain", read=read)
    return module


def test_a_new_kind_is_one_module_and_one_registration(site, fetcher, monkeypatch, tmp_path):
    import sys

    from worker import sources
    from worker.config import load_config

    monkeypatch.setitem(sys.modules, "newswatch_test_lines_reader", _lines_reader())
    monkeypatch.setitem(sources.READERS, "lines", "newswatch_test_lines_reader")
    site.routes["/urls.txt"] = (200, {"Content-Type": "text/plain"},
                                site.url("/a/one").encode() + b"\n" + site.url("/a/two").encode() + b"\n")
    listing = list_entries(fetcher, Source("l", site.url("/urls.txt"), kind="lines"), SourceState("l"))
    assert [e.title for e in listing.entries] == ["one", "two"]
    assert listing.ttl == 600.0  # entries and the source's ttl come back together
    assert site.requests[0].headers["Accept"] == "text/plain"
    (tmp_path / "sources.yaml").write_text(f"sources:\n  - id: l\n    url: {site.url('/urls.txt')}\n"
                                           "    kind: lines\n")
    assert load_config(tmp_path).sources[0].kind == "lines"


def test_reader_errors_are_wrapped_once(site, fetcher, monkeypatch):
    import sys

    from worker import sources

    monkeypatch.setitem(sys.modules, "newswatch_test_lines_reader", _lines_reader())
    monkeypatch.setitem(sources.READERS, "lines", "newswatch_test_lines_reader")
    site.routes["/empty.txt"] = (200, {"Content-Type": "text/plain"}, b"\n")
    with pytest.raises(SourceError) as caught:
        list_entries(fetcher, Source("l", site.url("/empty.txt"), kind="lines"), SourceState("l"))
    assert str(caught.value) == "cannot read lines: RuntimeError: a reader bug on an empty body"
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_a_feeds_ttl_reaches_the_listing(site, fetcher):
    site.routes["/rss"] = (200, {"Content-Type": "application/rss+xml"},
                           RSS.replace(b"<title>t</title>", b"<title>t</title><ttl>45</ttl>"))
    listing = list_entries(fetcher, Source("f", site.url("/rss")), SourceState("f"))
    assert len(listing.entries) == 2
    assert listing.ttl == 45 * 60.0


def test_an_unknown_kind_is_a_source_error(fetcher):
    with pytest.raises(SourceError, match="unknown source kind 'podcast'"):
        list_entries(fetcher, Source("p", "http://127.0.0.1:9/", kind="podcast"), SourceState("p"))
