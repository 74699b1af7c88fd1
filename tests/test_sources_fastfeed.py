"""The lxml fast path gives the same FeedEntry values as feedparser, and steps aside when unsure.

Each well-formed feed below is read twice: through ``parse_xml(fast=True)`` (which must
take the fast path) and ``parse_xml(fast=False)`` (feedparser, the reference); the entries
are compared field by field.

Intended differences, kept (see worker/sources/fastfeed.py):
- summary/content are the feed's HTML as written, where feedparser re-serialises them through
  its sanitiser. For clean markup the strings are identical; for markup the sanitiser changes
  (scripts, styles, event attributes) the *text* a reader extracts (worker.parser.article) is
  the same. Only badly broken HTML inside CDATA can extract slightly differently.
- An Atom <author> without <name> (or <email>) is read on its own; feedparser fills the gap
  from the previous <author> of the entry, which can drop an author or invent one.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import fetch_response

from worker.models import FeedEntry, Source
from worker.parser.article import _fragment_text
from worker.sources import SourceError, read_entries, read_feed
from worker.sources.fastfeed import ParsedFeed, Unusual, fast_parse
from worker.sources.feed import feed_ttl, parse_xml, xml_entries

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
URL = "https://rss.example.org/feeds/main.xml"
NS = ('xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
      'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:media="http://search.yahoo.com/mrss/" '
      'xmlns:atom="http://www.w3.org/2005/Atom" xmlns:slash="http://purl.org/rss/1.0/modules/slash/" '
      'xmlns:wfw="http://wellformedweb.org/CommentAPI/"')


def rss(items: str, channel: str = "", root_attrs: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" {NS} {root_attrs}><channel>'
            f"<title>t</title><link>https://rss.example.org/</link>{channel}{items}</channel></rss>").encode()


def atom(entries: str, attrs: str = 'xml:lang="en"') -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" {attrs}>'
            f"<title>a</title><id>tag:a</id><updated>2020-11-21T13:00:00Z</updated>{entries}</feed>").encode()


def assert_same(fast: list[FeedEntry], reference: list[FeedEntry]) -> None:
    assert len(fast) == len(reference)
    for mine, theirs in zip(fast, reference, strict=True):
        for field in dataclasses.fields(FeedEntry):
            a, b = getattr(mine, field.name), getattr(theirs, field.name)
            if field.name in ("summary", "content") and a != b:
                # The documented difference: unsanitised HTML, same extracted text.
                assert _fragment_text(a) == _fragment_text(b), (field.name, a, b)
                continue
            assert a == b, (field.name, mine.url, a, b)


def both(body: bytes, url: str = URL, content_type: str | None = None) -> list[FeedEntry]:
    """Entries via the fast path (which must be taken), checked against feedparser's."""
    fast = parse_xml(body, url, content_type)
    assert isinstance(fast, ParsedFeed), "the fast path was not taken"
    reference = parse_xml(body, url, content_type, fast=False)
    assert not isinstance(reference, ParsedFeed)
    entries = xml_entries(fast, url)
    assert_same(entries, xml_entries(reference, url))
    assert feed_ttl(fast) == feed_ttl(reference)
    return entries


def falls_back(body: bytes, url: str = URL, content_type: str | None = None) -> list[FeedEntry]:
    """Entries of a feed the fast path must refuse; read_feed still reads it via feedparser."""
    charset = fetch_response(body, url, content_type).charset
    with pytest.raises(Unusual):
        fast_parse(body, charset)
    entries = read_feed(fetch_response(body, url, content_type))[0]
    assert entries == xml_entries(parse_xml(body, url, content_type, fast=False), url)
    return entries


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize("name, url, content_type", [
    ("kompas-rss2.xml", "https://rss.kompas.com/api/feed/global", "application/rss+xml; charset=UTF-8"),
    ("kompas-rss2.xml", "https://rss.kompas.com/api/feed/global", None),
    ("kompas-rss2.xml", "https://rss.kompas.com/api/feed/global", "text/xml"),
    ("atom.xml", "https://news.example.org/feeds/atom", "application/atom+xml"),
    ("atom.xml", "https://news.example.org/feeds/atom", None),
])
def test_fixture_feeds_match_feedparser(name: str, url: str, content_type: str | None) -> None:
    entries = both((FEEDS / name).read_bytes(), url, content_type)
    assert entries


def test_kompas_goes_through_the_fast_path_only(monkeypatch) -> None:
    import worker.sources.feed as feed_module

    def forbidden(*args, **kwargs):
        raise AssertionError("feedparser used for a plain feed")

    monkeypatch.setattr(feed_module.feedparser, "parse", forbidden)
    source = Source(id="kompas", url="https://rss.kompas.com/api/feed/global", kind="feed")
    entries = read_entries(source, fetch_response((FEEDS / "kompas-rss2.xml").read_bytes(), source.url))
    assert next(e.guid for e in entries) == "kompas-200000270"
    assert entries[0].published == datetime(2020, 11, 21, 13, 0, tzinfo=UTC)


def test_rss_1_0_rdf() -> None:
    body = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/">
  <channel rdf:about="https://old.example.org/"><title>Old</title><link>https://old.example.org/</link>
    <dc:language>de-DE</dc:language>
    <items><rdf:Seq><rdf:li resource="https://old.example.org/a"/><rdf:li resource="https://old.example.org/b"/>
    </rdf:Seq></items></channel>
  <item rdf:about="https://old.example.org/a"><title>RDF item</title>
    <link>https://old.example.org/a</link><dc:date>2020-11-21T13:00:00+01:00</dc:date>
    <dc:creator>Old Hand</dc:creator><dc:subject>Politik</dc:subject>
    <description>Kurz &amp; knapp</description></item>
  <item rdf:about="https://old.example.org/b"><title>Second</title><link>b</link>
    <dc:date>2020-11-20</dc:date><content:encoded><![CDATA[<p>Body</p>]]></content:encoded></item>
</rdf:RDF>"""
    first, second = both(body, "https://old.example.org/rss")
    assert first.guid == "https://old.example.org/a"
    assert first.published == datetime(2020, 11, 21, 12, 0, tzinfo=UTC)
    assert first.authors == ("Old Hand",) and first.tags == ("Politik",) and first.language == "de"
    assert second.url == "https://old.example.org/b" and second.summary == "<p>Body</p>"


# --------------------------------------------------------------------------- shapes the fast path handles


# Dates in the shapes the fast path reads itself (agreeing with feedparser) ...
PLAIN_DATES = [
    "Sat, 21 Nov 2020 20:00:00 +0700", "Sat, 21 Nov 2020 13:00:00 GMT", "Sat, 21 Nov 2020 08:00:00 EST",
    "Sat, 21 Nov 2020 05:00:00 PDT", "21 Nov 2020 13:00 UT", "Sat, 21 Nov 2020 18:30:00 +0530",
    "2020-11-21T13:00:00Z", "2020-11-21T15:30:00.250+02:30", "2020-11-21",
]
# ... and the odd ones it leaves to feedparser, the reference, with the whole feed.
ODD_DATES = [
    "Sat, 21 Nov 2020 13:00:00 -0000", "Sat, 21 Nov 20 13:00:00 GMT", "sat, 21 nov 2020 13:00:00 gmt",
    "Sat, 21 Nov 2020 13:00:00 CEST", "Sat, 21 Nov 2020 13:00:00", "2020-11-21T13:00:00",
    "2020-11-21 13:00:00", "21 November 2020", "Saturday, November 21, 2020 1:00 PM", "20201121T130000Z",
    "yesterday", "9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+01:00", "Sat, 31 Feb 2020 10:00:00 GMT",
    "2020-11-21T24:00:00Z",
]


def dated_items(dates: list[str]) -> str:
    return "".join(
        f"<item><title>d{i}</title><link>https://rss.example.org/d/{i}</link><pubDate>{date}</pubDate>"
        f"<dcterms:modified>{date}</dcterms:modified></item>" for i, date in enumerate(dates))


def test_dates_named_zones_and_offsets_on_the_fast_path() -> None:
    entries = both(rss(dated_items(PLAIN_DATES)))
    by_title = {e.title: e for e in entries}
    assert by_title["d0"].published == datetime(2020, 11, 21, 13, 0, tzinfo=UTC)
    assert by_title["d2"].published == datetime(2020, 11, 21, 13, 0, tzinfo=UTC)  # EST
    assert by_title["d3"].published == datetime(2020, 11, 21, 12, 0, tzinfo=UTC)  # PDT
    assert by_title["d7"].published == datetime(2020, 11, 21, 13, 0, tzinfo=UTC)  # microseconds dropped
    assert by_title["d8"].published == datetime(2020, 11, 21, tzinfo=UTC)  # a bare day: midnight UTC
    assert all(e.published is not None and e.published.tzinfo == UTC for e in entries)


@pytest.mark.parametrize("date", ODD_DATES)
def test_an_odd_date_sends_the_feed_to_feedparser(date: str) -> None:
    (entry,) = falls_back(rss(dated_items([date])))
    assert entry.published is None or entry.published.tzinfo == UTC


def test_relative_links_and_guids() -> None:
    items = """
<item><title>abs</title><link>https://www.example.org/a?x=1&amp;y=2</link></item>
<item><title>rel-root</title><link>/news/2020/rel-root</link></item>
<item><title>rel-doc</title><link>sub/rel-doc#comments</link></item>
<item><title>proto-rel</title><link>//cdn.example.org/p</link></item>
<item><title>padded</title><link>
   https://www.example.org/padded
</link></item>
<item><title>guid-permalink</title><guid>/from/guid</guid></item>
<item><title>guid-not-permalink</title><guid isPermaLink="false">https://www.example.org/g</guid></item>
<item><title>guid-then-link</title><guid>https://www.example.org/guid</guid><link>/the/link</link></item>
<item><title>atom-link</title><atom:link href="/atom/alt" rel="alternate" type="text/html"/>
  <atom:link href="/atom/self" rel="self"/></item>
<item><title>javascript</title><link>javascript:alert(1)</link><guid>urn:x:1</guid></item>
<item><title>double-escaped</title><link>https://www.example.org/q?a=1&amp;amp;b=2</link></item>
"""
    entries = both(rss(items))
    urls = {e.title: e.url for e in entries}
    assert urls["rel-root"] == "https://rss.example.org/news/2020/rel-root"
    assert urls["rel-doc"] == "https://rss.example.org/feeds/sub/rel-doc"
    assert urls["guid-permalink"] == "https://rss.example.org/from/guid"
    assert urls["guid-not-permalink"] == "https://www.example.org/g"
    assert urls["guid-then-link"] == "https://rss.example.org/the/link"
    assert urls["atom-link"] == "https://rss.example.org/atom/alt"
    assert "javascript" not in urls


def test_cdata_and_entities_in_titles() -> None:
    titles = [
        "<![CDATA[Plain CDATA title]]>", "Ampersand &amp; co", "Double &amp;amp; escaped",
        "&lt;b&gt;Bold&lt;/b&gt; in markup", "<![CDATA[<em>Tagged</em> &amp; entity]]>",
        "Curly &#8217;quote&#8217; and &#x2014; dash", "Escaped &amp;nbsp;nbsp", "Less &lt;3 than",
        "<![CDATA[split ]]]]><![CDATA[> cdata]]>", "  spaced\n\ttitle  ", "&quot;Quoted&quot; &apos;s",
        "Caf\u00e9 cr\u00e8me, \u0415\u0440\u0435\u0432\u0430\u043d, \u65e5\u672c",
    ]
    items = "".join(f"<item><title>{title}</title><link>https://rss.example.org/t/{i}</link>"
                    f"<description><![CDATA[<p>Summary {i} &amp; <a href='/x'>link</a></p>]]></description>"
                    f"</item>" for i, title in enumerate(titles))
    entries = both(rss(items))
    assert entries[1].title == "Ampersand & co"
    assert entries[3].title == "Bold in markup"
    assert entries[8].title == "split ]]> cdata"


def test_namespaced_elements() -> None:
    items = """
<item><title>ns</title><link>https://rss.example.org/ns</link>
  <dc:creator>First Writer</dc:creator><dc:creator><![CDATA[Second Writer]]></dc:creator>
  <dc:creator>First Writer</dc:creator>
  <author>desk@example.org (News Desk)</author>
  <category domain="https://rss.example.org/cat">World</category><category>World</category><dc:subject>Asia</dc:subject>
  <media:category>media-cat</media:category>
  <dc:language>id</dc:language>
  <slash:comments>12</slash:comments><wfw:commentRss>https://rss.example.org/c</wfw:commentRss>
  <x:custom xmlns:x="urn:example:x" a="1">ignored</x:custom>
  <pubDate>Sat, 21 Nov 2020 20:00:00 +0700</pubDate><dc:date>2020-11-22T01:00:00Z</dc:date>
  <content:encoded><![CDATA[<p>Full <b>body</b></p>]]></content:encoded>
  <description>Short</description></item>
<item><title>email only</title><link>https://rss.example.org/e</link><author>only@example.org</author></item>
<item><title>email angle</title><link>https://rss.example.org/f</link>
  <author>Name Here &lt;name@example.org&gt;</author></item>
"""
    first, second, _third = both(rss(items, "<language>en-US</language><ttl>30</ttl>"))
    assert first.authors == ("First Writer", "Second Writer", "News Desk")
    assert first.tags == ("World", "Asia", "media-cat")
    assert first.language == "id" and second.language == "en"
    assert first.content == "<p>Full <b>body</b></p>" and first.summary == "Short"
    assert first.updated == datetime(2020, 11, 22, 1, 0, tzinfo=UTC)
    assert second.authors == ("only@example.org",)


def test_enclosures_and_media() -> None:
    items = """
<item><title>enc</title><link>https://rss.example.org/1</link>
  <enclosure url="/img/1.jpg" type="IMAGE/JPEG" length="1"/></item>
<item><title>audio</title><link>https://rss.example.org/2</link>
  <enclosure url="https://rss.example.org/2.mp3" type="audio/mpeg" length="1"/></item>
<item><title>media</title><link>https://rss.example.org/3</link>
  <media:content url="https://rss.example.org/3.mp4" medium="video"/>
  <media:content url="https://rss.example.org/3.jpg" type="image/jpeg"/>
  <enclosure url="https://rss.example.org/3-enc.jpg" type="image/jpeg"/></item>
<item><title>group</title><link>https://rss.example.org/4</link>
  <media:group><media:content url="https://rss.example.org/4.jpg" medium="image"/></media:group></item>
<item><title>thumb</title><link>https://rss.example.org/5</link>
  <media:thumbnail url="https://rss.example.org/5-thumb.jpg" width="100"/></item>
<item><title>thumb-text</title><link>https://rss.example.org/6</link>
  <media:thumbnail>https://rss.example.org/6-thumb.jpg</media:thumbnail></item>
<item><title>amp</title><link>https://rss.example.org/7</link>
  <media:content url="https://img.example.org/r?w=1&amp;h=2"/></item>
"""
    entries = both(rss(items))
    images = {e.title: e.image for e in entries}
    assert images["enc"] == "https://rss.example.org/img/1.jpg"
    assert images["audio"] is None
    assert images["media"] == "https://rss.example.org/3.jpg"
    assert images["group"] == "https://rss.example.org/4.jpg"
    assert images["thumb-text"] == "https://rss.example.org/6-thumb.jpg"


def test_atom_variants() -> None:
    entries = """
<entry><title>Plain &amp; simple</title><link href="/a/1"/><id>tag:a,2020:1</id>
  <published>2020-11-21T15:30:00+02:00</published><updated>2020-11-21T16:00:00Z</updated>
  <author><name>Ann</name><email>ann@example.org</email></author><author><name>Bo</name></author>
  <category term="t1" label="Label 1"/><category label="Only label"/><category term="t1"/>
  <content type="html">&lt;p&gt;Body &amp;amp; more&lt;/p&gt;</content></entry>
<entry><title type="text">Text content</title><link rel="alternate" type="text/html" href="https://x.example.org/2"/>
  <link rel="related" href="https://x.example.org/related"/><id>https://x.example.org/id/2</id>
  <updated>2020-11-21T13:00:00Z</updated><summary type="html">&lt;b&gt;Sum&lt;/b&gt;</summary>
  <content>a &lt; b, plain text</content></entry>
<entry><title>Id only</title><id>https://x.example.org/id/3</id><updated>2020-11-21T13:00:00Z</updated></entry>
<entry><title>Atom link without type</title>
  <link rel="enclosure" href="https://x.example.org/pic.JPG" type="image/jpeg"/>
  <link href="https://x.example.org/4" type="application/xhtml+xml"/><id>tag:a,2020:4</id></entry>
"""
    got = both(atom(entries), "https://x.example.org/feeds/atom")
    assert got[0].authors == ("Ann", "Bo")
    assert got[0].tags == ("t1", "Only label")
    assert got[0].published == datetime(2020, 11, 21, 13, 30, tzinfo=UTC)
    assert got[1].url == "https://x.example.org/2" and got[1].content == "a < b, plain text"
    assert got[2].url == "https://x.example.org/id/3"
    assert got[3].image == "https://x.example.org/pic.JPG"


def test_email_only_atom_author_is_kept() -> None:
    # Intended difference: feedparser carries the previous author's name over to an author
    # that only has <email>, so the second author vanishes after de-duplication.
    body = atom('<entry><title>x</title><link href="https://a.example/x"/><author><name>Ann</name>'
                '<email>ann@example.org</email></author><author><email>bo@example.org</email></author></entry>')
    (fast,) = read_feed(fetch_response(body, URL))[0]
    (reference,) = xml_entries(parse_xml(body, URL, fast=False), URL)
    assert fast.authors == ("Ann", "bo@example.org")
    assert reference.authors == ("Ann",)
    assert dataclasses.replace(fast, authors=reference.authors) == reference


def test_language_sources() -> None:
    item = "<item><title>x</title><link>https://rss.example.org/x</link></item>"
    assert both(rss(item, root_attrs='xml:lang="fr-FR"'))[0].language == "fr"
    assert both(rss(item, "<language>id-ID</language>", root_attrs='xml:lang="fr"'))[0].language == "id"
    assert both(rss(item))[0].language is None
    assert both(rss(item, root_attrs='lang="nl"'))[0].language == "nl"
    assert both(atom('<entry><title>x</title><link href="https://a.example/x"/></entry>', ""))[0].language is None


def test_mojibake_and_windows_1252_repairs_match() -> None:
    # UTF-8 read as Latin-1 and re-encoded (feedparser repairs it), and a C1 control (cp1252 quote).
    mojibake = "caf\u00e9".encode().decode("latin-1")
    items = (f"<item><title>{mojibake}</title><link>https://rss.example.org/m</link>"
             f"<description>{mojibake}</description></item>"
             f"<item><title>\u0093q\u0094</title><link>https://rss.example.org/q</link></item>")
    mojibake_entry, quoted = both(rss(items))
    assert mojibake_entry.title == "caf\u00e9"
    assert quoted.title == "\u201cq\u201d"


def test_whitespace_before_root_and_bom() -> None:
    item = "<item><title>x</title><link>https://rss.example.org/x</link></item>"
    body = rss(item).split(b"\n", 1)[1]
    (after_whitespace,) = both(b"\n  " + body)
    (after_bom,) = both(b"\xef\xbb\xbf" + rss(item), content_type="application/rss+xml; charset=utf-8")
    assert after_whitespace.title == after_bom.title == "x"


def test_sanitiser_difference_is_text_neutral() -> None:
    body = ("<p>Paragraph one of the story, long enough to count as real article text here.</p>"
            "<script>steal()</script><p onclick='x()' style='color:red'>Paragraph two, also long enough "
            "to be kept by the body filter.</p>")
    items = f"<item><title>s</title><link>https://rss.example.org/s</link><description><![CDATA[{body}]]>" \
            f"</description></item>"
    fast = read_feed(fetch_response(rss(items), URL))[0][0]
    reference = xml_entries(parse_xml(rss(items), URL, fast=False), URL)[0]
    assert "<script>" in fast.summary and "<script>" not in reference.summary  # the kept difference
    assert _fragment_text(fast.summary) == _fragment_text(reference.summary)
    assert "steal" not in _fragment_text(fast.summary)


# --------------------------------------------------------------------------- fallbacks


ITEM = "<item><title>x</title><link>https://rss.example.org/x</link></item>"


@pytest.mark.parametrize("body, content_type", [
    (rss(ITEM).replace(b"UTF-8", b"ISO-8859-1"), None),
    (rss(ITEM), "application/rss+xml; charset=iso-8859-1"),
    (b"<!DOCTYPE rss>\n" + rss(ITEM).split(b"\n", 1)[1], None),
    (b'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "http://127.0.0.1:9/x.dtd">\n' + rss(ITEM).split(b"\n", 1)[1],
     None),
    (rss("<item><title>x</title><link>https://rss.example.org/x</link><itunes:author "
         "xmlns:itunes='http://www.itunes.com/dtds/podcast-1.0.dtd'>Pod</itunes:author></item>"), None),
    (rss("<item><title>x</title><link>https://rss.example.org/x</link><media:content url='https://r.example/i.jpg'>"
         "<media:title>Caption</media:title></media:content></item>"), None),
    (rss("<item><title>x</title><link>https://rss.example.org/x</link><description>one</description>"
         "<description>two</description></item>"), None),
    (rss("<item><title>x</title><link>https://rss.example.org/x</link><description><p>inline <b>xml</b></p>"
         "</description></item>"), None),
    (rss("<item><title>x</title><link>https://rss.example.org/x</link><image>https://r.example/i.jpg</image>"
         "</item>"), None),
    (rss("<item href='https://rss.example.org/h'><title>x</title></item>"), None),
    (rss(ITEM, root_attrs='xml:base="https://other.example/"'), None),
    (atom('<entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">X <b>y</b></div></title>'
          '<link href="https://a.example/x"/></entry>'), None),
    (atom('<entry><title>x</title><link href="https://a.example/x"/><content type="xhtml">'
          '<div xmlns="http://www.w3.org/1999/xhtml"><p>Body</p></div></content></entry>'), None),
    (b'<feed xmlns="http://purl.org/atom/ns#" version="0.3"><entry><title>old</title>'
     b'<link rel="alternate" href="https://a.example/x"/></entry></feed>', None),
    (b"<rss version='2.0'><channel><title>quiet</title></channel></rss>", None),
    ("\ufeff<?xml version='1.0' encoding='utf-16'?><rss version='2.0'><channel><item><title>U</title>"
     "<link>https://a.example/u</link></item></channel></rss>".encode("utf-16-le"), None),
    (rss(ITEM).replace(b"</channel>", b"<item><title>broken &nbsp; entity</title></item></channel>"), None),
    (b'<?xml version="1.0"?><!--' + b"x" * 3000 + b'--><!DOCTYPE rss SYSTEM "http://127.0.0.1:9/x.dtd">'
     + rss(ITEM).split(b"\n", 1)[1], None),
])
def test_unusual_documents_fall_back_to_feedparser(body: bytes, content_type: str | None) -> None:
    falls_back(body, content_type=content_type)


def test_malformed_feed_still_raises_source_error() -> None:
    with pytest.raises(Unusual):
        fast_parse((HOSTILE / "truncated-rss.xml").read_bytes())
    with pytest.raises(SourceError, match="malformed"):
        read_feed(fetch_response((HOSTILE / "truncated-rss.xml").read_bytes(), URL))
    entries = read_feed(fetch_response((HOSTILE / "truncated-rss-with-items.xml").read_bytes(), URL))[0]
    assert [e.url for e in entries][:1] == ["https://example.org/2020/11/21/first-whole-item"]


@pytest.mark.parametrize("name", ["billion-laughs.xml", "external-entity.xml"])
def test_entity_declarations_refused_before_any_parser(name: str) -> None:
    with pytest.raises(SourceError, match="entities"):
        read_feed(fetch_response((HOSTILE / name).read_bytes(), URL))


def test_external_dtd_falls_back_without_fetching() -> None:
    # The loopback tripwire fails this test if anything tried to load the DTD.
    (entry,) = falls_back((HOSTILE / "external-dtd.xml").read_bytes())
    assert entry.url == "https://example.org/2020/11/21/dtd-item"


def test_nul_bytes_stripped_then_fast() -> None:
    (entry,) = both((HOSTILE / "nul-bytes.xml").read_bytes())
    assert entry.title == "Armenia and Azerbaijan"


def test_wrong_charset_falls_back() -> None:
    (entry,) = falls_back((HOSTILE / "wrong-charset.xml").read_bytes(),
                          content_type="application/rss+xml; charset=utf-8")
    assert "café crème" in entry.title


@pytest.mark.parametrize("name", sorted(p.name for p in HOSTILE.iterdir() if p.suffix != ".gz"))
def test_hostile_fixtures_are_refused_by_the_fast_path(name: str) -> None:
    # Unusual, not a crash: read_feed hands such a document to feedparser (or refuses it).
    with pytest.raises(Unusual):
        fast_parse((HOSTILE / name).read_bytes())


# --------------------------------------------------------------------------- shortcuts in feed.py


def _samples() -> list[str]:
    import random

    rng = random.Random(20201121)
    urls = ["https://a.example/x", "http://a.example", "https://a.example/p?q=1&r=2", "https://a.example/p?",
            "https://a.example/p#frag", "https://a.example/p;params", "HTTPS://a.example/x", "https://a.example:8080/",
            "https://user@a.example/", "https://[::1]/x", "https://a.example/ü/ä?x=é", "https://ä.example/",
            "https://a.example/x y", " https://a.example/x", "https://a.example/x\t", "https://a.example/./b/../c",
            "https://a.example/a?b?", "ftp://a.example/x", "//a.example/x", "/rel", "", "https://", "https:///x",
            "https://a.example/\u00a0", "https://a.example/x\x7f", "https://a.example:99999999/x"]
    alphabet = "ab /:?#;&<>é\u00a0\t\n-.=%@[]:1"
    urls += ["https://" + "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))) for _ in range(3000)]
    texts = ["Plain title", "Two  spaces", " padded", "tab\there", "a & b", "a &amp; b", "<b>x</b>", "line\nbreak",
             "nbsp\u00a0here", "zero\u200bwidth", "ctrl\x01", "del\x7f", "\ufffe", "Ереван café 日本", "x" * 3000]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(3000)]
    return urls + texts


def test_url_and_text_shortcuts_equal_the_common_helpers() -> None:
    from worker.sources.common import absolute_url, clean_text
    from worker.sources.feed import _line, _url

    for value in _samples():
        assert _url(value, URL) == absolute_url(value, URL), value
        assert _url(value, "http://other.example/") == absolute_url(value, "http://other.example/"), value
        assert _line(value, 1000) == clean_text(value, 1000), value
        assert _line(value, 5) == clean_text(value, 5), value
    assert _url(None, URL) is None and _line(None, 10) == ""


def test_script_in_html_title_falls_back() -> None:
    body = atom('<entry><title type="html">&lt;script&gt;hidden()&lt;/script&gt;Real &lt;b&gt;title&lt;/b&gt;'
                '</title><link href="https://a.example/x"/></entry>')
    (entry,) = falls_back(body)
    assert entry.title == "Real title"
