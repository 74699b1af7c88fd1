"""The body's guards: plausibility checks, the second opinion, and the structure-first rules
that keep whole articles from being lost (small synthetic pages, no data files)."""

from __future__ import annotations

import importlib.util

import pytest

from worker.parser import main_text as main_text_module
from worker.parser import parse_html
from worker.parser.boilerplate import is_boilerplate_line
from worker.parser.clean import furniture_kind
from worker.parser.document import parse_tree
from worker.parser.main_text import agreement, merge_missing
from worker.parser.plausible import BRIEF_CHARS, implausible, worth_a_second_look
from worker.parser.second_opinion import second_opinion

URL = "https://news.example.org/2024/05/01/story"
SENTENCES = [
    "The harbour authority approved the new ferry timetable on Monday after months of talks.",
    "Crossings will run every twenty minutes at peak hours, and hourly late in the evening.",
    "Residents of the islands had asked for earlier morning boats to reach schools in time.",
    "The operator said two more vessels would be leased for the summer season next year.",
    "Ticket prices stay the same until the end of the year, the authority's chair confirmed.",
    "A review of the timetable is planned after the first six months of the new service.",
]
STORY = "".join(f"<p>{s}</p>" for s in SENTENCES)
STORY_TEXT = "\n\n".join(SENTENCES)
RELATED = "<ul>" + "".join(
    f'<li><a href="/other/{i}">Another headline about something else entirely {i}</a></li>'
    for i in range(8)
) + "</ul>"

CAPTION_PAGE_COMMENTS = f'<div class="comment"><p>{"A reader comment that goes on and on. " * 12}</p></div>' * 8


def page(body: str, head: str = "") -> str:
    return f"<html><head><title>Ferry timetable</title>{head}</head><body>{body}</body></html>"


@pytest.fixture
def opinions(monkeypatch):
    """Replace the second opinion by a recorder that answers what the test says."""
    calls: list[str] = []
    answer: dict[str, list[str] | None] = {"paragraphs": None}

    def fake(html: str, url: str) -> list[str] | None:
        calls.append(url)
        return answer["paragraphs"]

    monkeypatch.setattr(main_text_module, "second_opinion", fake)
    return calls, answer


# --- plausibility --------------------------------------------------------------------------


def test_implausible_names_the_failure():
    assert implausible([], 5000) == "empty"
    assert implausible(["Photo: a ferry leaving the harbour at dawn."], 5000) == "short"
    assert implausible(["x" * 800], 5000) == "partial"  # 16% of the page's paragraphs
    assert implausible(["x" * 800], 1000) is None
    assert implausible(["x" * 3000], 5000) is None


def test_a_plausible_body_takes_the_fast_path(opinions):
    calls, _ = opinions
    longer = SENTENCES + [s.replace("the ", "their ") for s in SENTENCES]
    assert sum(map(len, longer)) >= BRIEF_CHARS
    article = parse_html(page(f"<article>{''.join(f'<p>{s}</p>' for s in longer)}</article>"
                              f"<aside>{RELATED}</aside>"), URL)
    assert article.text == "\n\n".join(longer)
    assert calls == []  # no second opinion for a body that looks right and is not brief


def test_a_brief_body_is_worth_a_second_look():
    assert worth_a_second_look(["x" * 800], 1000)  # plausible, but brief
    assert implausible(["x" * 800], 1000) is None
    assert not worth_a_second_look(["x" * 1200], 1000)
    assert worth_a_second_look(["x" * 1200], 5000)  # partial


def test_agreement_is_the_share_of_the_other_body_found_in_ours():
    assert agreement(SENTENCES, SENTENCES[:3]) == 1.0
    assert agreement(SENTENCES[:3], SENTENCES[3:]) == 0.0
    assert agreement(SENTENCES[:3], []) == 1.0
    assert 0.4 < agreement(SENTENCES[:3], SENTENCES) < 0.6


def test_merge_missing_keeps_our_order_and_places_their_paragraphs_after_shared_ones():
    ours = [SENTENCES[0], SENTENCES[2]]
    theirs = [SENTENCES[1], SENTENCES[2], "Read more: other stories", SENTENCES[3]]
    # SENTENCES[1] comes before any shared paragraph: it goes first; the furniture line
    # is left out; SENTENCES[3] follows the shared SENTENCES[2].
    assert merge_missing(ours, theirs) == [SENTENCES[1], SENTENCES[0], SENTENCES[2], SENTENCES[3]]


def test_a_brief_body_gets_the_paragraphs_of_a_second_opinion_that_disagrees(opinions):
    # One post of a thread kept, the others dropped: the second opinion, mostly other
    # text, is not 1.5x longer, but what it has that we lack is added.
    calls, answer = opinions
    answer["paragraphs"] = SENTENCES[2:5]
    html = page(f"<article>{''.join(f'<p>{s}</p>' for s in SENTENCES[:2])}</article>")
    article = parse_html(html, URL)
    assert calls == [URL]
    assert article.text == "\n\n".join(SENTENCES[:5])  # nothing shared: theirs after ours


def test_a_second_opinion_of_a_menu_label_is_never_taken(opinions):
    calls, answer = opinions
    answer["paragraphs"] = ["Home"]
    article = parse_html(page("<nav><a href='/'>Home</a></nav>"), URL)
    assert calls == [URL]
    assert article.text == ""


def test_a_brief_body_is_kept_when_the_second_opinion_agrees(opinions):
    calls, answer = opinions
    answer["paragraphs"] = [*SENTENCES[:2], "Share this story"]
    html = page(f"<article>{''.join(f'<p>{s}</p>' for s in SENTENCES[:3])}</article>")
    article = parse_html(html, URL)
    assert calls == [URL]
    assert article.text == "\n\n".join(SENTENCES[:3])


def test_a_caption_only_result_is_replaced_by_a_longer_second_opinion(opinions):
    calls, answer = opinions
    answer["paragraphs"] = SENTENCES
    # The story sits in a block named like furniture ("toolbar") and holding well under
    # half of the page's text (long comments below), so our extractor is left with the
    # caption: short, hence implausible.
    html = page('<div class="photo"><p>The new ferry leaving the harbour at dawn on Monday.</p></div>'
                f'<div class="toolbar">{STORY}</div>{CAPTION_PAGE_COMMENTS}')
    article = parse_html(html, URL)
    assert calls == [URL]
    assert article.text == STORY_TEXT


def test_a_second_opinion_that_is_not_clearly_longer_is_ignored(opinions):
    calls, answer = opinions
    answer["paragraphs"] = ["A shorter, different text that should not win."]
    html = page(f"<article>{''.join(f'<p>{s}</p>' for s in SENTENCES[:2])}</article>")
    article = parse_html(html, URL)
    assert calls == [URL]  # 2 paragraphs: short enough to ask
    assert article.text == "\n\n".join(SENTENCES[:2])


def test_json_ld_article_body_longer_than_the_dom_result_replaces_it(opinions):
    calls, _ = opinions
    body = "\\n\\n".join(SENTENCES)
    head = ('<script type="application/ld+json">{"@type": "NewsArticle", '
            f'"headline": "Ferry timetable", "articleBody": "{body}"}}</script>')
    html = page("<figure><p>The ferry.</p></figure><div><p>Ferry leaving the harbour at dawn on Monday, "
                "seen from the pier where the old ticket office used to stand.</p></div>", head)
    article = parse_html(html, URL)
    assert article.text == STORY_TEXT
    assert calls == []  # the publisher's own body was enough


def test_itemprop_article_body_is_trusted_without_a_second_opinion(opinions):
    calls, answer = opinions
    answer["paragraphs"] = ["Reader comment " * 50]
    html = page(f'<div itemprop="articleBody">{"".join(f"<p>{s}</p>" for s in SENTENCES[:3])}</div>'
                f'<div class="respond"><p>{"A reader comment that goes on and on. " * 40}</p></div>')
    article = parse_html(html, URL)
    assert article.text == "\n\n".join(SENTENCES[:3])
    assert calls == []


def test_paragraphs_marked_one_by_one_read_as_one_body():
    marked = "".join(f'<p itemprop="articleBody">{s}</p><h2>Subtitle {i}</h2>'
                     for i, s in enumerate(SENTENCES))
    article = parse_html(page(f"<main>{marked}</main><div>{RELATED}</div>"), URL)
    assert article.text == STORY_TEXT


def test_the_headline_repeated_as_first_line_is_not_body():
    article = parse_html(page(f"<article><p>Ferry timetable</p>{STORY}</article>"), URL)
    assert article.text == STORY_TEXT


# --- structure and names -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "kind"),
    [
        ("entry-content no-share", None),
        ("post has-sidebar with-comments", None),
        ("elementor-widget elementor-widget-container", "wrapper"),
        ("steady-paywall-container", "wrapper"),
        ("comments-area", "strong"),
        ("sharebar", "strong"),
        ("c-native-newsletterbox", "strong"),
        ("sidebar", "weak"),
    ],
)
def test_class_names_say_furniture_only_when_they_mean_it(names, kind):
    root = parse_tree(f'<html><body><div class="{names}">x</div></body></html>')
    assert furniture_kind(root.find("body")[0]) == kind


def test_a_story_inside_a_no_share_or_widget_wrapper_is_found():
    for wrapper in ('<div class="entry-content no-share">', '<div class="elementor-widget-wrap">',
                    '<div class="article-paywall">'):
        html = page(f"<main>{wrapper}{STORY}</div><div class='related'>{RELATED}</div></main>")
        assert parse_html(html, URL).text == STORY_TEXT, wrapper


def test_a_related_links_block_is_not_the_body():
    html = page(f"<div class='story'>{STORY}</div><div class='more'><h3>More news</h3>{RELATED}</div>")
    text = parse_html(html, URL).text
    assert text == STORY_TEXT
    assert "Another headline" not in text


def test_the_author_box_under_the_story_is_not_body():
    bio = ("Jane Doe covers transport and infrastructure for the paper and has written about "
           "ferries, trains and bridges for twenty years.")
    html = page(f'<article>{STORY}<div class="m-author"><p class="m-author__description">{bio}</p>'
                "</div></article>")
    assert parse_html(html, URL).text == STORY_TEXT


def test_a_lead_set_in_a_heading_is_prose_and_a_short_heading_stays_a_heading():
    lead = ("Morning boats will leave the islands earlier from June, after a campaign by "
            "parents whose children missed the first lessons of the day.")
    html = page(f"<article><h1>Ferry timetable</h1><h2>{lead}</h2>{STORY}<h3>Next steps</h3>"
                "</article>")
    text = parse_html(html, URL).text
    assert text.split("\n\n")[0] == lead
    assert "Next steps" not in text  # an orphan heading at the end
    assert "Ferry timetable" not in text


def test_a_figure_framing_a_table_is_kept_but_its_caption_is_not():
    table = ("<figure><table><tr><td>Route</td><td>Minutes</td></tr>"
             "<tr><td>Harbour to North Island</td><td>25</td></tr></table>"
             "<figcaption>Table: crossing times</figcaption></figure>")
    text = parse_html(page(f"<article>{STORY[:len(STORY) // 2]}{table}{STORY}</article>"), URL).text
    assert "Harbour to North Island 25" in text
    assert "crossing times" not in text


@pytest.mark.parametrize(
    "line",
    [
        "Taiwanese President Tsai Ing-wen speaks during a debate in Taipei. Photo: AP",
        "Cowboyboots von Crocs – werden auch \"Croots\" genannt. Foto: Crocs",
        "Zobacz także: Polska i gaz",
        "Czytaj więcej o tym",
        "Leggi anche: un'altra storia",
    ],
)
def test_photo_credits_and_see_also_lines_are_furniture(line):
    assert is_boilerplate_line(line)


def test_a_sentence_mentioning_a_photo_is_not_a_caption():
    assert not is_boilerplate_line(
        "The photo: a ferry at dawn, taken by a resident, was shared thousands of times online "
        "before the authority confirmed the new timetable.")


# --- the second opinion itself -------------------------------------------------------------


@pytest.mark.skipif(importlib.util.find_spec("trafilatura") is None, reason="trafilatura not installed")
def test_second_opinion_reads_paragraphs_without_list_marks():
    html = page(f"<article>{STORY}<ul><li>First point of the plan for the new ferries.</li>"
                "<li>Second point of the plan for the new ferries.</li></ul></article>")
    paragraphs = second_opinion(html, URL)
    assert paragraphs is not None
    assert SENTENCES[0] in paragraphs
    assert "First point of the plan for the new ferries." in paragraphs


@pytest.mark.skipif(importlib.util.find_spec("trafilatura") is None, reason="trafilatura not installed")
def test_a_story_our_extractor_misses_is_recovered_end_to_end():
    html = page('<div class="photo"><p>The new ferry leaving the harbour at dawn on Monday.</p></div>'
                f'<div class="toolbar">{STORY}</div>' + CAPTION_PAGE_COMMENTS)
    text = parse_html(html, URL).text
    assert SENTENCES[0] in text and SENTENCES[-1] in text


@pytest.mark.parametrize("html", ["", "<html></html>", "\x00\x01garbage<<<>>>", "<p>" * 5000])
def test_second_opinion_has_nothing_to_say_on_junk(html):
    assert second_opinion(html, URL) is None


def test_no_second_opinion_on_a_tree_too_large_to_be_a_story(opinions):
    calls, _ = opinions
    junk = "<div><span><a href='#'>x</a></span></div>" * 6000  # 18,000 elements, no text
    assert parse_html(page(junk), URL).text == ""
    assert calls == []  # its cost grows with the tree; such a page is junk anyway
    parse_html(page(junk[: len(junk) // 4]), URL)
    assert calls == [URL]  # a smaller empty page still gets one
