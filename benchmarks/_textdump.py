"""Text captures of HTML pages, the way a text browser (lynx -dump, w3m -dump) prints them.

Used by benchmarks/captures.py to turn pages with known article bodies into the
kind of input `parse_text` gets from users: the visible <body> text with one line
per block (paragraph, heading, list item, table row, <br>), a blank line after
paragraph-like blocks, no markup, no scripts or styles, and every bit of page
furniture (menus, share bars, "Baca juga" boxes, footers) left in. Images, form
controls and hidden scripts print nothing; link text prints inline.

    .venv/bin/python benchmarks/_textdump.py PAGE.html[.gz] > capture.txt
"""

from __future__ import annotations

import gzip
import sys

from lxml import etree

# Elements that start and end a line of their own.
BLOCKS = frozenset(
    "address article aside blockquote body center dd details dialog dir div dl dt fieldset "
    "figcaption figure footer form frame frameset h1 h2 h3 h4 h5 h6 header hgroup hr li main "
    "menu nav noscript ol p pre section summary table tbody tfoot thead tr ul caption legend "
    "option".split()
)
# Blocks a text browser separates from the next by an empty line.
SPACED = frozenset("p h1 h2 h3 h4 h5 h6 blockquote pre table ul ol dl hr figure".split())
# Never printed: code, styling, embedded objects, form widgets.
SKIPPED = frozenset(
    "script style template noscript head svg math iframe object embed canvas video audio select "
    "textarea button input map title meta link".split()
)
CELLS = frozenset(("td", "th"))


class _Lines:
    """Collects inline text into the current line; blocks flush it."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.current: list[str] = []
        self.preformatted = 0

    def add(self, text: str | None) -> None:
        if text:
            if self.preformatted:
                head, *rest = text.split("\n")
                self.current.append(head)
                for line in rest:
                    self.flush()
                    self.current.append(line)
            else:
                self.current.append(text)

    def flush(self) -> None:
        line = "".join(self.current)
        self.current = []
        line = line.rstrip() if self.preformatted else " ".join(line.split())
        if line.strip():
            self.lines.append(line)

    def blank(self) -> None:
        self.flush()
        if self.lines and self.lines[-1] != "":
            self.lines.append("")


def dump_tree(root: etree._Element) -> str:
    """The text-browser view of a parsed page's <body> (or of the whole tree without one)."""
    body = root.find("body")
    start = body if body is not None else root
    out = _Lines()
    walker = etree.iterwalk(start, events=("start", "end"))
    for event, el in walker:
        tag = el.tag if isinstance(el.tag, str) else ""
        tag = tag.lower()
        if event == "start":
            if tag in SKIPPED or not tag:
                walker.skip_subtree()
                out.add(el.tail if el is not start else None)
                continue
            if tag == "br":
                out.flush()
            elif tag in BLOCKS:
                out.flush()
                if tag == "pre":
                    out.preformatted += 1
            elif tag in CELLS:
                out.add(" ")
            out.add(el.text)
        else:
            if tag in BLOCKS:
                if tag == "pre":
                    out.flush()
                    out.preformatted -= 1
                (out.blank if tag in SPACED else out.flush)()
            elif tag in CELLS:
                out.add(" ")
            if el is not start:
                out.add(el.tail)
    out.flush()
    while out.lines and out.lines[-1] == "":
        out.lines.pop()
    return "\n".join(out.lines) + "\n"


def dump_html(data: bytes | str) -> str:
    """Capture of an HTML document (bytes are decoded the way the parser decodes pages)."""
    from worker.parser.document import parse_tree, to_text

    root = parse_tree(to_text(data))
    return dump_tree(root) if root is not None else ""


def main(argv: list[str]) -> int:
    for path in argv:
        with open(path, "rb") as handle:
            data = handle.read()
        if path.endswith(".gz"):
            data = gzip.decompress(data)
        sys.stdout.write(dump_html(data))
    return 0


if __name__ == "__main__":
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main(sys.argv[1:]))
