"""Lines that are page furniture whatever markup carries them, in the languages we watch.

Kept apart from the container heuristics so that the same rules clean pages,
feed content and the final text: a related-article line such as "Baca juga: …"
must never reach `Article.text`, whichever path the text took.
"""

from __future__ import annotations

import re

# A paragraph starting like this is a related-link, promo or widget line, not prose.
_LINE_START = re.compile(
    r"^\W{0,3}(?:"
    r"baca (?:juga|pula|selengkapnya|artikel)|lihat (?:juga|pula|selengkapnya)|simak (?:juga|pula|"
    r"breaking news|berita|video|selengkapnya)|tonton (?:juga|video)|saksikan (?:juga|video)|"
    r"artikel terkait|berita terkait|topik terkait|video terkait|video rekomendasi|"
    r"baca berita tanpa iklan|gabung kompas\.com\+|dapatkan (?:update|informasi|berita)|"
    r"download (?:aplikasi|apps?)|unduh aplikasi|ikuti (?:kami|berita|kompas|akun)|"
    r"login untuk|masuk untuk|bagikan (?:artikel|berita)|pastikan kamu sudah install|"
    r"read (?:more|also|next|the full)|also read|see also|more from|related(?: articles?| stories| "
    r"coverage| reading| content)?\s*:|recommended(?: for you| stories)?\s*:|"
    r"(?:sign up|subscribe) (?:for|to|now)|click here|follow (?:us|\S+ on)|share (?:this|on)|"
    r"advertisement|scroll to continue|continue reading|story continues|"
    r"all rights reserved|copyright ©|© ?\d{4}|"
    r"weiterlesen|lesen sie auch|mehr zum thema|lire aussi|à lire aussi|voir aussi|leer más|"
    r"lea también|ver también|leia (?:mais|também)|veja também|leggi anche|vedi anche|lees ook|"
    r"läs (?:också|mer)|zobacz (?:też|także|również)|czytaj (?:też|także|również|więcej)"
    r")",
    re.IGNORECASE,
)
# Whole-line labels of widgets and bylines (exact, short).
_WHOLE_LINE = re.compile(
    r"^\W*(?:advertisement|advertisment|advert|sponsored(?: links?| content)?|iklan|ads|"
    r"close ads|komentar|comments?|oke|ok|"
    r"video lainnya|video rekomendasi|penulis|editor|sumber\b.{0,30}|share|bagikan|"
    r"tweet|email|print|cetak|whatsapp|facebook|twitter|linkedin|telegram|"
    r"baca juga|lihat juga|read more|more|show more|load more|next|previous|back to top|"
    r"kembali ke atas|halaman selanjutnya|selanjutnya|sebelumnya|tags?|topik|"
    r"(?:photo|foto|image|gambar|ilustrasi)\W.{0,80})\W*$",
    re.IGNORECASE,
)


# Promotions, contact lines and disclosures that close articles; only in short paragraphs,
# where they are the whole point of the paragraph rather than a quoted phrase.
_PROMO_ANYWHERE = re.compile(
    r"follow (?:us|him|her|me|them|\S+)\b.{0,40}\b(?:on|at) (?:twitter|facebook|instagram|x\b)|"
    r"(?:sign up|subscribe) (?:for|to)\b.{0,50}\bnewsletters?|\byour inbox\b|"
    r"successfully subscribed|problem subscribing|"
    r"join (?:our|the)\b.{0,30}\b(?:forums?|community|newsletter|mailing list)|"
    r"have a (?:news )?tip\?|click here (?:for|to)\b|^\[(\w+)\s[^\]]*\].*\[/\1\]$|(?:may|can) be reached at|"
    r"this slideshow requires javascript|"
    r"if you (?:buy|purchase) something through|(?:we|may) (?:earn|receive|get) (?:a )?(?:small )?"
    r"(?:commission|compensation|share of)|affiliate (?:links?|commission)|"
    r"advertisers? (?:do(?:es)? not|don't) influence|"
    r"ikuti (?:kami|akun)\b.{0,40}\b(?:instagram|twitter|facebook|tiktok|youtube)|"
    r"saluran whatsapp|whatsapp channel|google news|"
    # app, channel and paywall prompts
    r"download (?:the|our)\b.{0,40}\bapps?\b|\btelegram(?:-kanal| channel)|canal de telegram|"
    r"already (?:a )?subscriber|please (?:subscribe|log ?in|sign ?in)\b|"
    r"\bwe(?:['’]d| would) (?:like|love) to hear (?:from you|what you think|your thoughts)|"
    r"to (?:view|read|continue reading) (?:the|this) (?:full|entire|rest of the) (?:story|article)|"
    r"\((?:image|photo|foto|picture) ?(?:credit|:)[^)]*\)$|"
    r"^[^.!?]{0,80}\b(?:getty images|shutterstock|istock|ap photo|afp photo|reuters photo)\W*$|"
    # the news agency's closing credits ("Reporting by …; Editing by …"), a copyright line
    r"^(?:additional )?reporting by\b.{0,200}\b(?:writing|editing) by\b|"
    r"^copyright\W{0,3}(?:©|@|\(c\)|\d{4})",
    re.IGNORECASE,
)
# Indonesian photo captions end with the credit in brackets: "... (Bagus Kurniawan/detikcom)".
# Reporter initials close articles the same way, "(Mvi/Ali)"; a credit names a person and outlet.
_CAPTION_CREDIT = re.compile(r"\((?=[^()]{12,72}\))[^()/]{2,40}/[^()/]{2,30}\)\s*$")


# A photo caption ends with its credit: "… in Taipei on December 29. Photo: AP".
_CAPTION_END = re.compile(
    r"(?:^|[.!?)\]]\s)\s*(?:photos?|foto|fotos|picture|image|bild|credit)\s*(?::|©|by\b)\s*[^.!?]{1,60}$|"
    # …or with a bare copyright sign: "… at Augusta in 1975. | © Augusta National/Getty Images"
    r"[.!?|]\s*©\s*[^.!?©|]{1,60}$",
    re.IGNORECASE,
)


def is_boilerplate_line(text: str) -> bool:
    """True for a paragraph that is known furniture (related links, promos, labels)."""
    text = text.strip()
    if not text:
        return True
    if _LINE_START.match(text):
        return True
    if len(text) <= 120 and _WHOLE_LINE.match(text):
        return True
    if len(text) <= 300 and _PROMO_ANYWHERE.search(text):
        return True
    return len(text) <= 400 and bool(_CAPTION_CREDIT.search(text) or _CAPTION_END.search(text))
