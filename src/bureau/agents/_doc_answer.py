"""doc-digest's answer to a goal: a structured `result` and the same in a few plain sentences.

Every answer quotes the documents or counts what is in them. When the text holds nothing
for the goal the answer says so ("The documents do not mention X"); it never fills the gap.
"""

from __future__ import annotations

import math
from typing import Any

from bureau.agents import _doc_find as find
from bureau.agents._doc_goal import Request
from bureau.agents._doc_phrases import key_phrases
from bureau.agents._summarize import GOAL_FILLER
from bureau.agents._text import Document, terms

QUESTION_FILLER = frozenset(
    terms("say said tell mention mentioned happen happened exactly know anything something")
)
LISTED = 8  # items named in the prose answer; the result has them all
LABELS = {
    "dates": ("date", "dates"),
    "numbers": ("number", "numbers"),
    "names": ("name", "names"),
    "actions": ("action item", "action items"),
    "questions": ("question", "questions"),
}

Result = dict[str, Any]


def _quoted(items: list[dict[str, Any]], key: str = "sentence") -> str:
    shown = "; ".join(f"“{item[key]}”" for item in items[:LISTED])
    more = len(items) - LISTED
    return shown + (f"; and {more} more" if more > 0 else "")


def _plural(count: int, word: tuple[str, str]) -> str:
    return f"{count} {word[0] if count == 1 else word[1]}"


def question_terms(question: str) -> set[str]:
    """The content terms of a question, without the words every question has."""
    return set(terms(question)) - GOAL_FILLER - QUESTION_FILLER


def find_answer(documents: list[Document], question: str) -> Result | None:
    """The sentences (up to 3) that cover most of the question's terms, or None when none
    covers at least half of them: the text does not answer it."""
    wanted = question_terms(question)
    need = max(1, math.ceil(len(wanted) / 2))
    sentences = [p for p in find.passages(documents) if not p.heading]
    covered = [len(wanted & set(terms(p.text))) for p in sentences]
    most = max(covered, default=0)
    if not wanted or most < need:
        return None
    chosen = [p for p, n in zip(sentences, covered, strict=True) if n == most][:3]
    return {
        "kind": "answer",
        "question": question,
        "items": [{"document": p.document, "sentence": p.text} for p in chosen],
    }


def missing_terms(documents: list[Document], question: str) -> list[str]:
    """The question's terms that no sentence of the documents uses."""
    used = {t for p in find.passages(documents) for t in terms(p.text)}
    return sorted(question_terms(question) - used)


def about(documents: list[Document], topic: str) -> Result:
    """The sentences about `topic`: those with all its terms (or under a heading with them),
    else those with some of them."""
    wanted = set(terms(topic)) - GOAL_FILLER or set(terms(topic))

    def words_of(passage: find.Passage) -> set[str]:
        return set(terms(passage.text)) | set(terms(passage.section))

    sentences = [p for p in find.passages(documents) if not p.heading]
    full = [p for p in sentences if wanted and wanted <= words_of(p)]
    partial = [p for p in sentences if wanted & words_of(p)] if not full else []
    return {
        "kind": "about",
        "topic": topic,
        "mentioned": bool(full or partial),
        "complete": bool(full),
        "count": len(full or partial),
        "items": [{"document": p.document, "sentence": p.text} for p in full or partial],
    }


def compare(first: Document, second: Document, limit: int) -> Result:
    """Key phrases and headings found in one document and not the other, and shared ones."""

    def text(document: Document) -> str:
        return " ".join(b.text for b in document.blocks)

    def phrases(document: Document) -> list[str]:
        texts = [b.text for b in document.blocks]
        return key_phrases(texts, limit, find.proper_nouns([document]))

    def headings(document: Document) -> list[str]:
        return [b.text for b in document.blocks if b.level]

    def absent(items: list[str], other: Document) -> list[str]:
        return [x for x in items if not find.term_pattern(x).search(text(other))]

    only_first, only_second = absent(phrases(first), second), absent(phrases(second), first)
    shared = [p for p in phrases(first) if p not in only_first]
    titles_second = {h.lower() for h in headings(second)}
    titles_first = {h.lower() for h in headings(first)}
    return {
        "kind": "compare",
        "documents": [first.name, second.name],
        "only_in": {first.name: only_first, second.name: only_second},
        "shared": shared,
        "sections_only_in": {
            first.name: [h for h in headings(first) if h.lower() not in titles_second],
            second.name: [h for h in headings(second) if h.lower() not in titles_first],
        },
    }


def _compare_prose(result: Result) -> str:
    first, second = result["documents"]
    parts = []
    for name, other in ((first, second), (second, first)):
        terms_only = result["only_in"][name]
        sections = result["sections_only_in"][name]
        said = ", ".join(terms_only[:LISTED]) or "no key phrase"
        parts.append(f"Only {name} covers: {said}")
        if sections:
            parts[-1] += f" (sections not in {other}: {'; '.join(sections)})"
    shared = ", ".join(result["shared"][:LISTED]) or "none of the first one's key phrases"
    return ". ".join(parts) + f". Both cover: {shared}."


def prose(result: Result) -> str:
    """The answer in words, from a structured result."""
    kind = result["kind"]
    if kind == "summary":
        return (
            " ".join(s["text"] for s in result["sentences"])
            or "No sentence of the documents makes sense on its own, so there is no summary."
        )
    if kind == "key_phrases":
        return "Key phrases: " + (", ".join(result["phrases"]) or "none found") + "."
    if kind == "outline":
        titles = "; ".join(str(h["title"]) for h in result["headings"][: LISTED * 2])
        if not result["from_headings"]:
            return f"The documents have no headings; their paragraphs open with: {titles}."
        return f"Outline: {titles}."
    if kind == "statistics":
        return " ".join(
            f"{d['name']} has {d['words']} words in {d['sentences']} sentences and "
            f"{d['headings']} headings: about {d['reading_minutes']} min to read."
            for d in result["documents"]
        )
    if kind == "mentions":
        if not result["count"]:
            return f"The documents do not mention “{result['term']}”."
        return (
            f"“{result['term']}” occurs {_plural(result['count'], ('time', 'times'))} in "
            f"{_plural(len(result['items']), ('sentence', 'sentences'))}: "
            + _quoted(result["items"])
        )
    if kind == "about":
        if not result["mentioned"]:
            return f"The documents do not mention {result['topic']}."
        lead = (
            f"On {result['topic']}, the documents say"
            if result["complete"]
            else f"No sentence mentions all of “{result['topic']}”; these mention part of it"
        )
        return f"{lead}: " + _quoted(result["items"])
    if kind == "answer":
        return "The text says: " + _quoted(result["items"])
    if kind == "compare":
        return _compare_prose(result)
    label = LABELS[kind]
    if not result["items"]:
        return f"I found no {label[1]} in the documents."
    key = "name" if kind == "names" else "sentence" if kind in ("actions", "questions") else "text"
    return f"I found {_plural(len(result['items']), label)}: " + _quoted(result["items"], key)


def result_for(
    request: Request,
    documents: list[Document],
    digest: dict[str, Any],
    phrase_limit: int,
) -> Result:
    """The structured answer to `request`, given the standard digest already computed
    (`summary` sentences, `key_phrases`, `outline`, per-document `stats`)."""
    kind = request.kind
    if kind == "summary":
        return {"kind": "summary", "sentences": digest["summary"]}
    if kind == "key_phrases":
        return {"kind": "key_phrases", "phrases": digest["key_phrases"]}
    if kind == "outline":
        headings = any(b.level for d in documents for b in d.blocks)
        return {"kind": "outline", "headings": digest["outline"], "from_headings": headings}
    if kind == "statistics":
        stats = digest["stats"]
        return {
            "kind": "statistics",
            "documents": stats,
            "words": sum(s["words"] for s in stats),
            "reading_minutes": round(sum(s["reading_minutes"] for s in stats), 1),
        }
    if kind == "mentions":
        return find.mentions(documents, request.subject)
    if kind == "about":
        return about(documents, request.subject)
    if kind == "question":  # the agent declines, before this, what the text cannot answer
        return find_answer(documents, request.subject) or about(documents, request.subject)
    if kind == "compare":
        return compare(documents[0], documents[1], phrase_limit * 2)
    extract = {
        "dates": find.dates,
        "numbers": find.numbers,
        "names": find.names,
        "actions": find.actions,
        "questions": find.questions,
    }[kind]
    items = extract(documents)
    return {"kind": kind, "count": len(items), "items": items}
