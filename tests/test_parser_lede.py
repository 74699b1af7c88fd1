"""The lede a template sets apart from the story (in the header, a teaser box, outside the
element marked articleBody) is the body's first paragraph when the page's description
names it; a one-sentence dek and a photo caption are not (small synthetic pages)."""

from __future__ import annotations

import helpers

from worker.parser import parse_html
from worker.parser.document import parse_tree
from worker.parser.lede import find_lede, with_lede

URL = "https://news.example.org/2024/05/01/story"
SENTENCES = list(helpers.STORY_SENTENCES)
STORY = "".join(f"<p>{s}</p>" for s in SENTENCES)
LEDE = ("Ferries to the islands will run three times as often from June. "
        "Islanders won the earlier boats they had asked for since 2019.")


def page(body: str, description: str) -> str:
    return (f'<html><head><title>Ferries</title><meta name="description" content="{description}">'
            f"</head><body>{body}</body></html>")


def test_lede_in_the_page_header_opens_the_body():
    html = page(f'<header class="entry-header"><h1>Ferries</h1><div class="entry-excerpt">'
                f"<p>{LEDE}</p></div></header><article>{STORY}</article>", LEDE)
    paragraphs = parse_html(html, URL).text.split("\n\n")
    assert paragraphs[0] == LEDE
    assert paragraphs[1:] == SENTENCES


def test_lede_outside_the_marked_article_body_opens_the_body():
    html = page(f'<div class="teaser-text"><p>{LEDE}</p></div><figure><img src="a.jpg"></figure>'
                f'<div itemprop="articleBody">{STORY}</div>', LEDE)
    assert parse_html(html, URL).text.split("\n\n")[0] == LEDE


def test_a_cut_description_still_finds_the_whole_lede():
    html = page(f"<header><p>{LEDE}</p></header><article>{STORY}</article>", LEDE[:90] + "…")
    assert parse_html(html, URL).text.startswith(LEDE + "\n\n")


def test_a_lede_already_in_the_body_is_not_repeated():
    html = page(f"<article><p>{LEDE}</p>{STORY}</article>", LEDE)
    assert parse_html(html, URL).text.count(LEDE) == 1


def test_a_one_sentence_dek_is_not_a_lede():
    dek = "Islanders won the earlier boats they had asked for since 2019, after years of talks"
    html = page(f"<header><p>{dek}</p></header><article>{STORY}</article>", dek)
    assert dek not in parse_html(html, URL).text


def test_a_caption_or_script_repeating_the_description_is_not_a_lede():
    html = page(f'<figure><img src="a.jpg"><figcaption>{LEDE}</figcaption></figure>'
                f'<script>var page = {{"description": "{LEDE}"}};</script><article>{STORY}</article>',
                LEDE)
    assert LEDE not in parse_html(html, URL).text
    root = parse_tree(html)
    assert find_lede(root.find("body"), LEDE) is None


def test_a_container_that_merely_starts_with_the_description_is_not_the_lede():
    root = parse_tree(page(f"<div><p>{LEDE}</p>{STORY * 2}</div>", LEDE))
    assert find_lede(root.find("body"), LEDE) == LEDE  # the paragraph, not the whole div


def test_with_lede_needs_a_body():
    assert with_lede([], LEDE) == []
    assert with_lede(SENTENCES, None) == SENTENCES
    assert with_lede(SENTENCES, LEDE) == [LEDE, *SENTENCES]


# --- a lede cut off from the story by an inline widget ---------------------------------------

LONG_STORY = [f"{s} Part {n}." for n in range(3) for s in SENTENCES]  # past every second-look bar
TWO_LINKS = ('<div class="inline-box"><h3>Related coverage</h3><ul>' + "".join(
    f'<li><a href="/other/{i}">Another headline about the ferries and the harbour number {i}</a></li>'
    for i in range(2)) + "</ul></div>")
FIRST = "Islanders will get earlier ferries from June, the harbour authority said on Monday."


def _paragraphs(html: str) -> list[str]:
    return parse_html(f"<html><head><title>Ferries</title></head><body>{html}</body></html>",
                      URL).text.split("\n\n")


def test_lede_before_an_inline_link_box_stays_in_the_body():
    story = "".join(f"<p>{s}</p>" for s in LONG_STORY)
    paragraphs = _paragraphs(f"<div class='story'><p>{FIRST}</p>{TWO_LINKS}{story}</div>")
    assert paragraphs == [FIRST, *LONG_STORY]


def test_lede_in_its_own_box_before_the_story_stays_in_the_body():
    story = "".join(f"<p>{s}</p>" for s in LONG_STORY)
    paragraphs = _paragraphs(f"<main><div class='lede'><p>{FIRST}</p></div>{TWO_LINKS}"
                             f"<div class='text'>{story}</div></main>")
    assert paragraphs == [FIRST, *LONG_STORY]


def test_text_before_an_article_element_is_not_its_lede():
    story = "".join(f"<p>{s}</p>" for s in LONG_STORY)
    welcome = "Welcome to our site: we write about the islands, their people and their ferries."
    paragraphs = _paragraphs(f"<main><div class='hello'><p>{welcome}</p></div>{TWO_LINKS}"
                             f"<article>{story}</article></main>")
    assert paragraphs == LONG_STORY


def test_a_section_heading_over_one_cited_link_stays():
    story = "".join(f"<p>{s}</p>" for s in LONG_STORY)
    section = ('<h2>What the islanders said</h2><p><a href="https://islands.example.org/letter">'
               "https://islands.example.org/letter</a></p>")
    paragraphs = _paragraphs(f"<div class='story'>{story}{section}{story}</div>")
    assert "What the islanders said" in paragraphs


def test_no_lede_the_publishers_json_ld_article_body_leaves_out():
    import json

    ld = json.dumps({"@type": "NewsArticle", "articleBody": "\n\n".join(SENTENCES)})
    html = page(f"<header><p>{LEDE}</p></header><article>{STORY}</article>"
                f'<script type="application/ld+json">{ld}</script>', LEDE)
    assert LEDE not in parse_html(html, URL).text


# --- a dek (standfirst, subtitle, summary) is a second headline, not the story's lede ---------


def test_a_standfirst_named_as_such_is_not_a_lede():
    for wrapper in ('<div class="article-standfirst"><p>{}</p></div>', '<p class="c-dek">{}</p>',
                    '<div class="articleSubHeadline"><div><p>{}</p></div></div>',
                    '<p class="summary">{}</p>'):
        html = page(f"<header><h1>Ferries</h1>{wrapper.format(LEDE)}</header>"
                    f"<article>{STORY}</article>", LEDE)
        assert LEDE not in parse_html(html, URL).text, wrapper


def test_a_two_sentence_summary_in_a_heading_tag_is_not_a_lede():
    html = page(f"<header><h1>Ferries</h1><h2>{LEDE}</h2></header><article>{STORY}</article>", LEDE)
    assert LEDE not in parse_html(html, URL).text


def test_a_lead_or_intro_named_as_such_is_still_the_lede():
    for wrapper in ('<p class="article-lead">{}</p>', '<div class="intro"><p>{}</p></div>',
                    '<div class="teaser-text"><p>{}</p></div>'):
        html = page(f"<header><h1>Ferries</h1>{wrapper.format(LEDE)}</header>"
                    f"<article>{STORY}</article>", LEDE)
        assert parse_html(html, URL).text.split("\n\n")[0] == LEDE, wrapper


def test_a_dek_name_far_above_the_paragraph_says_nothing():
    # A "summary" page region holding a whole story box: the name is not the paragraph's.
    html = page(f'<div class="page-summary"><div><div><div class="x"><p>{LEDE}</p></div></div></div>'
                f"</div><article>{STORY}</article>", LEDE)
    assert parse_html(html, URL).text.split("\n\n")[0] == LEDE


def test_a_dek_named_by_a_data_attribute_is_not_a_lede():
    for wrapper in ('<div data-gu-name="standfirst"><p>{}</p></div>', '<p data-testid="dek">{}</p>'):
        html = page(f"<header><h1>Ferries</h1>{wrapper.format(LEDE)}</header>"
                    f"<article>{STORY}</article>", LEDE)
        assert LEDE not in parse_html(html, URL).text, wrapper


def test_a_teaser_marked_itemprop_description_is_still_the_lede():
    html = page(f'<div class="article"><h3 itemprop="headline">Ferries</h3><div class="teaser-text" '
                f'itemprop="description"><p>{LEDE}</p></div><div itemprop="articleBody">{STORY}</div></div>',
                LEDE)
    assert parse_html(html, URL).text.split("\n\n")[0] == LEDE
