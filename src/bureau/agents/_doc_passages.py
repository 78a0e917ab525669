"""Numbered passages of documents, for answers that cite them (the researcher).

Every paragraph of every document becomes a passage with a stable id (`p1`, `p2`, ... in
reading order, across documents), its document and the heading it sits under; a long
paragraph is cut between sentences. When the passages are too many to show a model, the
ones that share most words with the question are shown, in reading order. Pure functions
of their input: the agent journals their result as a step.
"""

from __future__ import annotations

from typing import TypedDict

from bureau.agents._doc_sources import Source, documents_of
from bureau.agents._text import split_sentences, terms

MAX_PASSAGE_WORDS = 120
MAX_SHOWN = 60
MAX_SHOWN_CHARACTERS = 40_000


class Passage(TypedDict):
    """One citable piece of a document, its text as the document has it."""

    id: str
    document: str
    section: str
    text: str


def _pieces(paragraph: str) -> list[str]:
    """The paragraph, cut between sentences into pieces of at most about
    `MAX_PASSAGE_WORDS` words (a longer sentence stays whole)."""
    pieces: list[list[str]] = [[]]
    size = 0
    for sentence in split_sentences(paragraph):
        count = len(sentence.split())
        if pieces[-1] and size + count > MAX_PASSAGE_WORDS:
            pieces.append([])
            size = 0
        pieces[-1].append(sentence)
        size += count
    return [" ".join(piece) for piece in pieces if piece]


def passages_of(sources: list[Source]) -> list[Passage]:
    """Every paragraph of the documents as numbered passages, in reading order."""
    passages: list[Passage] = []
    for document in documents_of(sources):
        section = ""
        for block in document.blocks:
            if block.level:
                section = block.text
                continue
            for piece in _pieces(block.text):
                passages.append(
                    {
                        "id": f"p{len(passages) + 1}",
                        "document": document.name,
                        "section": section,
                        "text": piece,
                    }
                )
    return passages


def shown_to_model(passages: list[Passage], question: str) -> list[Passage]:
    """The passages the model reads: all of them when they fit (`MAX_SHOWN` passages,
    `MAX_SHOWN_CHARACTERS` of text), else those sharing the most words with the question
    (ties: the earlier), in reading order."""
    fits = sum(len(p["text"]) for p in passages) <= MAX_SHOWN_CHARACTERS
    if len(passages) <= MAX_SHOWN and fits:
        return passages
    wanted = set(terms(question))
    ranked = sorted(
        range(len(passages)),
        key=lambda i: (-len(wanted & set(terms(passages[i]["text"]))), i),
    )
    chosen: list[int] = []
    size = 0
    for index in ranked:
        length = len(passages[index]["text"])
        if len(chosen) == MAX_SHOWN:
            break
        if size + length > MAX_SHOWN_CHARACTERS:
            continue
        chosen.append(index)
        size += length
    return [passages[i] for i in sorted(chosen)]


def as_prompt(passages: list[Passage]) -> str:
    """The passages as the model reads them: `[p3] (notes.md, Costs) text`."""
    lines = []
    for passage in passages:
        where = ", ".join(part for part in (passage["document"], passage["section"]) if part)
        lines.append(f"[{passage['id']}] ({where}) {passage['text']}")
    return "\n".join(lines)
