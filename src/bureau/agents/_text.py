"""Turning HTML, markdown or plain text into headings and paragraphs, then sentences and words.

Pure functions of their input; `read_document` is cached so the steps of one run can share a
parse without journaling the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    either else etc even ever every few for from further get gets got had has have having he
    her here hers herself him himself his how however i if in into is it its itself just
    least less like made make many may me might more most much must my myself neither no nor
    not now of off often on once one only or other others our ours ourselves out over own
    per quite rather really same she should since so some such than that the their theirs
    them themselves then there these they this those though through thus to too under until
    up upon us use used using very via was we were what when where whether which while who
    whom whose why will with within without would yet you your yours yourself yourselves
    s t d ll m re ve new well two three first second""".split()
)
ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st vs etc e.g i.e inc ltd co corp fig no approx dept est".split()
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head", "nav"})
_BLOCK_TAGS = frozenset(
    "p div li ul ol br tr td th table section article header footer main aside blockquote "
    "pre dd dt figcaption title".split()
)


@dataclass(frozen=True)
class Block:
    """A heading (level 1-6) or a paragraph (level 0) of plain text."""

    level: int
    text: str


@dataclass(frozen=True)
class Document:
    """One input document as blocks of plain text."""

    name: str
    title: str
    format: str  # "html" | "markdown" | "text"
    blocks: tuple[Block, ...]

    def paragraphs(self) -> list[str]:
        """The paragraph texts (headings excluded)."""
        return [b.text for b in self.blocks if b.level == 0]


class _HTMLBlocks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.title = ""
        self._buffer: list[str] = []
        self._skip = 0
        self._heading = 0
        self._in_title = False

    def _flush(self) -> None:
        text = " ".join("".join(self._buffer).split())
        self._buffer = []
        if text:
            self.blocks.append(Block(self._heading, text))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _SKIP_TAGS:
            self._skip += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading = int(tag[1])
        elif tag in _BLOCK_TAGS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading = 0
        elif tag in _BLOCK_TAGS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data.strip()
        elif not self._skip:
            self._buffer.append(data)


def html_blocks(html: str) -> tuple[str, list[Block]]:
    """The title and the heading/paragraph blocks of an HTML page (scripts, styles dropped)."""
    parser = _HTMLBlocks()
    parser.feed(html)
    parser.close()
    parser._flush()
    return parser.title, parser.blocks


def _inline_markdown(text: str) -> str:
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"(\*\*|__|\*|_|`)(\S(?:.*?\S)?)\1", r"\2", text)
    return " ".join(text.replace("|", " ").split())


def markdown_blocks(text: str) -> list[Block]:
    """Headings (ATX `#` and setext underlines) and paragraphs; code fences dropped."""
    blocks: list[Block] = []
    paragraph: list[str] = []
    fenced = False

    def flush() -> None:
        if paragraph and (joined := _inline_markdown(" ".join(paragraph))):
            blocks.append(Block(0, joined))
        paragraph.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(("```", "~~~")):
            fenced = not fenced
            flush()
        elif fenced:
            continue
        elif heading := re.match(r"^(#{1,6})\s+(.*?)\s*#*$", line):
            flush()
            blocks.append(Block(len(heading[1]), _inline_markdown(heading[2])))
        elif re.fullmatch(r"=+|-+", line) and len(paragraph) == 1:
            blocks.append(Block(1 if line[0] == "=" else 2, _inline_markdown(paragraph.pop())))
        elif re.fullmatch(r"[-|: ]*-{3,}[-|: ]*|\*{3,}", line):
            flush()  # a rule or a table's separator row
        elif not line:
            flush()
        elif item := re.match(r"^(?:[-*+]|\d+[.)])\s+(.*)$", line):
            flush()
            paragraph.append(item[1])
            flush()
        else:
            paragraph.append(line.lstrip("> "))
    flush()
    return blocks


def text_blocks(text: str) -> list[Block]:
    """Paragraphs of plain text, separated by blank lines."""
    return [
        Block(0, " ".join(chunk.split())) for chunk in re.split(r"\n\s*\n", text) if chunk.strip()
    ]


@lru_cache(maxsize=16)
def read_document(name: str, content: str, format: str) -> Document:
    """Parse `content` as `format` ("html", "markdown" or "text") into a `Document`."""
    if format == "html":
        title, blocks = html_blocks(content)
    else:
        blocks = markdown_blocks(content) if format == "markdown" else text_blocks(content)
        title = next((b.text for b in blocks if b.level), "")
    return Document(name, title or name, format, tuple(blocks))


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph; abbreviations ("e.g.", "Dr.") and initials do not end one."""
    sentences: list[str] = []
    start = 0
    for match in re.finditer(r"[.!?]+[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])", paragraph):
        before = paragraph[start : match.start()].split()
        last = before[-1].lower().rstrip(".") if before else ""
        if match.group().startswith(".") and (
            last in ABBREVIATIONS or re.fullmatch(r"[a-z]", last)
        ):
            continue
        sentences.append(paragraph[start : match.end()].strip())
        start = match.end()
    if tail := paragraph[start:].strip():
        sentences.append(tail)
    return sentences


def words(text: str) -> list[str]:
    """Lowercase words (letters, digits, inner apostrophes and hyphens)."""
    return re.findall(r"[^\W_]+(?:['\u2019-][^\W_]+)*", text.lower())


def stem(word: str) -> str:
    """A light stem for matching: plural and common suffixes removed ("models" -> "model")."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + keep
    return word


def terms(text: str) -> list[str]:
    """Stemmed content words of `text` (stopwords and pure numbers dropped)."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and not w.isdigit() and len(w) > 1]
