"""Which inputs doc-digest reads as documents, which it sets aside, and which one a goal means.

A file is read when it is prose: text, markdown or HTML. Tables (send them to csv-analyst),
JSON, binary data and base64 blobs are set aside with a reason; when nothing readable is
left the task is declined before any work is done.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bureau import Decline
from bureau.agents._inputs import InputFile, is_html, is_markdown
from bureau.agents._text import Document, read_document

Source = tuple[str, str, str]  # name, content, format
DOCUMENT_NOUNS = (
    "report memo notes minutes article page paper letter proposal draft document file".split()
)


def _format(file: InputFile) -> str:
    if is_html(file):
        return "html"
    if is_markdown(file) or re.search(r"(?m)^#{1,6}\s+\S", file.content):
        return "markdown"
    return "text"


def looks_like_table(text: str) -> bool:
    """True when the first lines split into the same number (>1) of short cells.

    Stricter than `_inputs.looks_tabular`: prose lines that happen to hold one comma each
    are not a table, because a table's cells are a few words, not clauses.
    """
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if len(lines) < 3 or lines[0].lstrip().startswith(("<", "#")):
        return False
    for delimiter in (",", ";", "\t", "|"):
        cells = [line.strip().strip("|").split(delimiter) for line in lines]
        widths = {len(row) for row in cells}
        if len(widths) == 1 and widths.pop() > 1:
            sizes = [len(cell.split()) for row in cells for cell in row]
            if sum(sizes) / len(sizes) <= 4:
                return True
    return False


def _is_json(text: str) -> bool:
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return False
    try:
        json.loads(stripped)
    except ValueError:
        return False
    return True


def _is_binary(text: str) -> bool:
    """NUL bytes, many control characters or replacement characters: not text."""
    odd = sum(1 for c in text if (ord(c) < 32 and c not in "\n\r\t") or c == "\ufffd")
    return "\x00" in text or odd > 0.02 * len(text)


def _is_encoded(text: str) -> bool:
    """Mostly long runs of base64/hex characters with no spaces: an encoded blob."""
    blob = sum(len(t) for t in text.split() if len(t) > 40 and re.fullmatch(r"[\w+/=-]+", t))
    return blob > 0.5 * len("".join(text.split()))


def not_a_document(file: InputFile) -> str | None:
    """Why `file` is not a document doc-digest can read, or None when it is one."""
    media = (file.media_type or "").lower()
    if file.name.lower().endswith((".csv", ".tsv")) or "csv" in media or "separated" in media:
        return "a data table; send it to csv-analyst"
    if _is_binary(file.content):
        return "binary data, not text"
    if _is_json(file.content):
        return "JSON data, not prose"
    if _is_encoded(file.content):
        return "an encoded blob (base64 or hex); send the decoded text"
    if not is_html(file) and looks_like_table(file.content):
        return "a data table; send it to csv-analyst"
    return None


def collect_sources(
    files: list[InputFile], text: str | None, agent: str = "doc-digest"
) -> tuple[list[Source], list[dict[str, str]]]:
    """The documents to read as (name, content, format), and the files set aside with why.

    Raises `Decline` when nothing holds any text, `Decline` when nothing left is a document
    (saying that `agent` reads prose).
    """
    candidates = list(files)
    if text and text.strip():
        candidates.append(InputFile(name="input.txt", content=text))
    candidates = [f for f in candidates if f.content.strip()]
    if not candidates:
        raise Decline(
            "no text to digest; send text, markdown or HTML files in input.files "
            '([{"name": "notes.md", "content": "<text>"}]) or the text inline as input.text'
        )
    sources: list[Source] = []
    skipped: list[dict[str, str]] = []
    for file in candidates:
        if reason := not_a_document(file):
            skipped.append({"name": file.name, "reason": reason})
        else:
            sources.append((file.name, file.content, _format(file)))
    if not sources:
        what = "; ".join(f"{s['name']} is {s['reason']}" for s in skipped)
        raise Decline(f"{agent} reads prose (text, markdown or HTML) and received none: {what}")
    return sources, skipped


def documents_of(sources: list[Source]) -> list[Document]:
    """The parsed documents (parsing is cached per source)."""
    return [read_document(name, content, kind) for name, content, kind in sources]


def _labels(name: str, title: str) -> list[str]:
    stem = re.sub(r"\.\w+$", "", name.lower())
    return [name.lower(), stem, re.sub(r"[-_]+", " ", stem), title.lower()]


def named_in(goal: str, sources: list[Source]) -> list[str]:
    """The documents the goal names, by file name, name stem or title, in input order."""
    lowered = goal.lower()
    named = []
    for document in documents_of(sources):
        labels = [label for label in _labels(document.name, document.title) if len(label) > 2]
        if any(re.search(rf"(?<!\w){re.escape(label)}(?!\w)", lowered) for label in labels):
            named.append(document.name)
    return named


def select(goal: str, sources: list[Source]) -> tuple[list[str], list[str]]:
    """(the documents the goal is about, the candidates to ask about when it is ambiguous).

    A goal that names documents (file name, stem or title) is about those; one that points
    at a single document ("the report") among several is about the one that fits the noun,
    and ambiguous when none or several do. Otherwise it is about all of them.
    """
    everything = [source[0] for source in sources]
    if named := named_in(goal, sources):
        return named, []
    nouns = "|".join(DOCUMENT_NOUNS)
    match = re.search(rf"\b(?:the|this|that) ({nouns})\b", goal, re.IGNORECASE)
    several = re.search(r"\b(?:both|all|each|every|two)\b", goal, re.IGNORECASE)
    if len(sources) < 2 or not match or several:
        return everything, []
    noun = match.group(1).lower()
    documents = documents_of(sources)
    fitting = [d.name for d in documents if any(noun in x for x in _labels(d.name, d.title))]
    return (fitting, []) if len(fitting) == 1 else ([], fitting or everything)


def keep(sources: list[Source], names: list[str]) -> list[Source]:
    """The sources whose names are in `names`, in input order."""
    return [source for source in sources if source[0] in names]


def describe(skipped: list[dict[str, Any]]) -> str:
    """A sentence listing the files set aside, or "" when none were."""
    if not skipped:
        return ""
    return "Not read: " + "; ".join(f"{s['name']} ({s['reason']})" for s in skipped) + "."
