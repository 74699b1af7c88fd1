"""Furniture at the edges of a story: bylines and the "meta" line under a headline, a date
line, a breadcrumb ending with the headline, captions, highlights boxes, comment forms and
sharing blocks, the line about the writer closing the story (small synthetic pages)."""

from __future__ import annotations

import helpers
import pytest

from worker.parser import parse_html
from worker.parser.body import _trim_fragments
from worker.parser.main_text import _without_title

URL = "https://news.example.org/2024/05/01/story"
SENTENCES = list(helpers.STORY_SENTENCES)
STORY = "".join(f"<p>{s}</p>" for s in SENTENCES * 2)


def text_of(body: str) -> str:
    return parse_html(f"<html><head><title>Harbour</title></head><body>{body}</body></html>",
                      URL).text


@pytest.mark.parametrize(("furniture", "gone"), [
    ('<p class="gray small byline">By <a href="/staff/ann">Ann Example and Bo Sample</a>'
     "<br><span>Monday, November 18, 2019, 04:05 pm PT (07:05 pm ET)</span></p>",
     ["Ann Example", "November 18, 2019"]),
    ('<div class="entry-meta"><span>Posted on May 1, 2024 by the harbour desk, in News and '
     "Islands</span><span>Five minutes to read, with three photographs</span></div>",
     ["Posted on", "Five minutes"]),
], ids=["byline", "entry-meta"])
def test_a_byline_or_meta_line_under_the_headline_is_not_body(furniture, gone):
    text = text_of(f"<article><h1>Harbour stays open</h1>{furniture}{STORY}</article>")
    for phrase in gone:
        assert phrase not in text
    assert text.startswith(SENTENCES[0])
    assert text.endswith(SENTENCES[-1])


def test_the_author_and_byline_are_still_read_from_a_byline_block():
    byline = '<p class="byline">By <a rel="author" href="/staff/ann">Ann Example</a></p>'
    article = parse_html(f"<html><head><title>Harbour</title><meta name='author' content='Ann Example'>"
                         f"</head><body><article><h1>Harbour</h1>{byline}{STORY}</article></body></html>",
                         URL)
    assert "Ann Example" in article.authors
    assert "Ann Example" not in article.text


def test_a_byline_wrapper_holding_the_story_is_kept():
    # Names are not trusted over the text: a block holding most of the page is the page.
    text = text_of(f"<div class='has-byline-story byline-wrap'><h1>Harbour</h1>{STORY}</div>")
    assert text.count(SENTENCES[0]) == 2


def test_edge_trimming_keeps_sentences_and_a_dated_signature_closing_the_body():
    body = ["Monday, November 18, 2019, 04:05 pm PT (07:05 pm ET)", "It rained in 2019.",
            *SENTENCES, "— Ann Example (@annexample) November 18, 2019"]
    assert _trim_fragments(body) == body[1:]


def test_a_breadcrumb_ending_with_the_headline_is_not_body():
    headline = "Harbour stays open through the winter"
    body = [f"Home News Islands {headline}", *SENTENCES]
    assert _without_title(body, headline) == SENTENCES
    assert _without_title([headline.upper(), *SENTENCES], headline) == SENTENCES


def test_a_first_sentence_ending_with_the_headline_words_stays():
    headline = "the harbour stays open"
    first = ("After a long debate between the council, the fishermen and the ferry company, "
             f"the mayor announced that {headline}")
    short = f"So. {headline}"
    assert _without_title([first, *SENTENCES], headline) == [first, *SENTENCES]
    assert _without_title([short, *SENTENCES], headline) == [short, *SENTENCES]


def test_a_caption_is_dropped_even_when_its_name_says_text():
    caption = ('<div class="box"><img src="a.jpg" alt="The harbour"><div class="caption-text">'
               "An artist's illustration of the rebuilt breakwater at the entrance of the harbour."
               '</div><div class="credit">(Image: Harbour Board)</div></div>')
    text = text_of(f"<section class='content-wrapper'>{caption}<div class='text-copy'>{STORY}</div></section>")
    assert "illustration" not in text
    assert text.startswith(SENTENCES[0])


def test_a_highlights_box_repeating_the_story_is_not_body():
    highlights = ('<section class="block-field-highlights"><div class="field--label">Highlights</div>'
                  f'<div class="field--item">{SENTENCES[-1]}</div></section>')
    text = text_of(f"<div class='main'><h1>Harbour</h1>{highlights}<div class='body'>{STORY}</div></div>")
    assert text.startswith(SENTENCES[0])
    assert text.count(SENTENCES[-1]) == 2  # the story's own two, not the box's third


def test_wordpress_comment_form_and_sharing_block_are_not_body():
    respond = ('<section id="replys"><div id="respond-wrapper"><div id="respond"><h3>Was denkst du?</h3>'
               "<p>Deine E-Mail-Adresse wird nicht veröffentlicht, Pflichtfelder sind markiert.</p>"
               "</div></div></section>")
    sharing = ('<div class="sharedaddy"><div class="sd-block"><h3 class="sd-title">Teilen mit:</h3>'
               '<span class="loading">Wird geladen...</span></div></div>')
    text = text_of(f"<div class='post'>{STORY}{sharing}{respond}</div>")
    assert "Was denkst du" not in text
    assert "Teilen mit" not in text
    assert "Wird geladen" not in text
    assert text.endswith(SENTENCES[-1])


def test_a_line_about_the_writer_closing_the_story_is_dropped():
    bio = "Ann Example is a staff writer at the Island Times and covers the harbour board."
    assert _trim_fragments([*SENTENCES, "______", bio]) == SENTENCES
    assert _trim_fragments([*SENTENCES, "Bo Sample is IGN's deal curator and spends his pay."]) == SENTENCES
    # inside the story, or not about a writer, it stays
    assert _trim_fragments([bio, *SENTENCES]) == [bio, *SENTENCES]
    mayor = "Ann Example is the mayor of the island and has lived there for forty years."
    assert _trim_fragments([*SENTENCES, mayor]) == [*SENTENCES, mayor]


def test_a_line_repeating_an_image_alt_text_is_its_caption():
    alt = "Typing on the new harbour board keyboard"
    image = (f'<div class="article-img"><img src="k.jpg" alt="{alt}"></div><br>'
             f'<span class="minor2 small gray">{alt}</span>')
    credited = ('<img src="w.jpg" alt="The rebuilt breakwater at dawn">'
                "<p>The rebuilt breakwater at dawn (Image: Harbour Board)</p>")
    text = text_of(f"<div class='story'>{STORY}{image}{credited}{STORY}</div>")
    assert alt not in text
    assert "breakwater at dawn" not in text
    assert text.count(SENTENCES[0]) == 4


def test_a_sentence_starting_with_an_alt_texts_words_stays():
    alt = "The island council voted on Tuesday"
    text = text_of(f"<div class='story'><img src='c.jpg' alt='{alt}'>{STORY}</div>")
    assert text.count(SENTENCES[0]) == 2  # "… to keep the old harbour open": words, no credit
