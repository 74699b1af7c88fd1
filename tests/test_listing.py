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
