"""The input convention shared by the demo agents: files sent as `{name, content, media_type}`.

The CLI sends each `--file` as one entry of `input["files"]`; agents also take the same data
inline (`csv`, `text`). Routing a file to "data" or "document" looks at its extension, then
its media type, then its content.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

FileKind = Literal["data", "document", "unsupported"]

_DATA_EXTENSIONS = (".csv", ".tsv")
_DOCUMENT_EXTENSIONS = (".txt", ".text", ".md", ".markdown", ".html", ".htm", ".rst", ".xhtml")
_DATA_TYPES = ("text/csv", "application/csv", "text/tab-separated-values")
_DOCUMENT_TYPES = ("text/plain", "text/markdown", "text/x-markdown", "text/html", "text/x-rst")
_UNSUPPORTED_EXTENSIONS = (".json", ".xml", ".yaml", ".yml", ".pdf", ".png", ".jpg", ".zip")


class InputFile(BaseModel):
    """One file of the task input, its content as text."""

    name: str = Field(description="the file's name, e.g. sales.csv")
    content: str = Field(description="the file's text")
    media_type: str | None = Field(default=None, description="e.g. text/csv (optional)")


def kind_of(file: InputFile) -> FileKind:
    """Whether `file` is tabular data, a readable document, or neither."""
    name = file.name.lower()
    media = (file.media_type or "").split(";")[0].strip().lower()
    if name.endswith(_DATA_EXTENSIONS) or media in _DATA_TYPES:
        return "data"
    if name.endswith(_DOCUMENT_EXTENSIONS) or media in _DOCUMENT_TYPES:
        return "document"
    if name.endswith(_UNSUPPORTED_EXTENSIONS) or (media and not media.startswith("text/")):
        return "unsupported"
    return "data" if looks_tabular(file.content) else "document"


def looks_tabular(text: str) -> bool:
    """True when the first lines share the same, non-zero count of one delimiter."""
    lines = [line for line in text.splitlines()[:10] if line.strip()]
    if len(lines) < 2 or lines[0].lstrip().startswith("<"):
        return False
    for delimiter in (",", ";", "\t", "|"):
        counts = {line.count(delimiter) for line in lines}
        if len(counts) == 1 and counts.pop() > 0:
            return True
    return False


def is_html(file: InputFile) -> bool:
    """True for HTML, by name, media type or a leading tag."""
    name, media = file.name.lower(), (file.media_type or "").lower()
    if name.endswith((".html", ".htm", ".xhtml")) or "html" in media:
        return True
    head = file.content.lstrip()[:200].lower()
    return head.startswith(("<!doctype html", "<html")) or bool(
        re.match(r"<(head|body|p|div|h[1-6]|article|section)\b", head)
    )


def is_markdown(file: InputFile) -> bool:
    """True for markdown, by name or media type."""
    name, media = file.name.lower(), (file.media_type or "").lower()
    return name.endswith((".md", ".markdown")) or "markdown" in media
