"""Extractive summarisation and outlines over parsed `Document`s.

Sentences are scored by TF-IDF cosine similarity to the documents' centroid (what the text
is mostly about), with a bonus for leading sentences and for the goal's topic words; the
best of those that stand alone are picked without near-duplicates and given back in
reading order.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from bureau.agents._text import Document, split_sentences, terms, words

GOAL_FILLER = frozenset(
    terms(
        "summarize summarise summary digest document documents doc docs text key point points "
        "main give please brief overview read tell about file files article report notes "
        "highlight highlights focus mostly want need"
    )
)
REDUNDANT = 0.6  # cosine above which a sentence repeats one already picked
# openers that lean on a sentence before ("This", "However", "As mentioned above")
DANGLING = re.compile(
    r"^[\"'(\[*]*(?:this|that|these|those|it|its|they|them|their|he|she|his|her|such|both|"
    r"however|but|and|or|so|also|moreover|furthermore|additionally|besides|therefore|thus|"
    r"hence|consequently|accordingly|meanwhile|nevertheless|nonetheless|still|yet|instead|"
    r"otherwise|similarly|likewise|then|again|in (?:addition|contrast|turn|short|other words|"
    r"this case|that case|comparison)|on the other hand|as (?:a result|such|mentioned|noted|"
    r"discussed|shown|described|stated|seen)|for (?:this|that|these|those) reasons?|"
    r"the (?:former|latter|above|same|following))\b",
    re.IGNORECASE,
)
BACK_REFERENCE = re.compile(
    r"\b(?:mentioned|noted|discussed|described|shown|stated|explained|listed) (?:above|"
    r"earlier|before|previously|below)|\bsee (?:above|below)\b|"
    r"\bthe (?:above|previous|preceding|following)\b|\bas follows\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Sentence:
    """A sentence with where it came from and its content terms."""

    document: int
    paragraph: int
    position: int  # index of the sentence within its document
    text: str
    terms: tuple[str, ...]


def sentences_of(documents: list[Document]) -> list[Sentence]:
    """Every sentence of every document's paragraphs, in reading order."""
    found: list[Sentence] = []
    for d, document in enumerate(documents):
        position = 0
        # a document of headings only is summarised by its headings
        paragraphs = document.paragraphs() or [b.text for b in document.blocks]
        for p, paragraph in enumerate(paragraphs):
            for text in split_sentences(paragraph):
                found.append(Sentence(d, p, position, text, tuple(terms(text))))
                position += 1
    return found


def stands_alone(text: str) -> bool:
    """False for a sentence that needs the one before it: it opens with a reference or a
    connective ("This", "It", "However", "These results"), points back ("as mentioned
    above"), or introduces what follows (ends with a colon)."""
    return not (DANGLING.search(text) or BACK_REFERENCE.search(text) or text.rstrip().endswith(":"))


def topic_terms(goal: str, sentences: list[Sentence]) -> set[str]:
    """The goal's content terms that the documents actually use (filler words dropped)."""
    vocabulary = {t for s in sentences for t in s.terms}
    return {t for t in terms(goal) if t not in GOAL_FILLER and t in vocabulary}


def _vectors(sentences: list[Sentence]) -> list[dict[str, float]]:
    df = Counter(t for s in sentences for t in set(s.terms))
    n = len(sentences)
    vectors = []
    for sentence in sentences:
        weights = {
            t: c * (math.log((1 + n) / (1 + df[t])) + 1) for t, c in Counter(sentence.terms).items()
        }
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        vectors.append({t: w / norm for t, w in weights.items()})
    return vectors


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(b) < len(a):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())


def scores(sentences: list[Sentence], topic: set[str]) -> list[float]:
    """A relevance score per sentence (higher is more central / on topic)."""
    vectors = _vectors(sentences)
    centroid: dict[str, float] = defaultdict(float)
    for vector in vectors:
        for t, w in vector.items():
            centroid[t] += w
    norm = math.sqrt(sum(w * w for w in centroid.values())) or 1.0
    centroid = defaultdict(float, {t: w / norm for t, w in centroid.items()})
    result = []
    for sentence, vector in zip(sentences, vectors, strict=True):
        score = _cosine(vector, centroid)
        score += 0.12 if sentence.position == 0 else 0.0
        score += 0.04 if sentence.paragraph == 0 or sentence.position == 0 else 0.0
        length = len(words(sentence.text))
        score *= 0.4 if length < 5 else 0.8 if length > 45 else 1.0
        if topic:
            score += 0.6 * len(topic & set(sentence.terms)) / len(topic)
        result.append(score)
    return result


def pick(sentences: list[Sentence], goal: str, count: int) -> list[Sentence]:
    """The `count` best sentences that stand alone, near-duplicates skipped, in reading order.

    Every document contributes its best sentence first when `count` allows it. A sentence
    quoted alone must make sense alone, so dangling ones (see `stands_alone`) are never
    picked, even if that leaves fewer than `count`.
    """
    if not sentences or count <= 0:
        return []
    ranked_scores = scores(sentences, topic_terms(goal, sentences))
    vectors = _vectors(sentences)
    order = sorted(
        (i for i, s in enumerate(sentences) if stands_alone(s.text)),
        key=lambda i: (-ranked_scores[i], i),
    )
    documents = sorted({sentences[i].document for i in order})
    leaders = [next(i for i in order if sentences[i].document == d) for d in documents]
    chosen: list[int] = []
    for i in (leaders if len(documents) <= count else []) + order:
        if len(chosen) == count:
            break
        if i in chosen or any(_cosine(vectors[i], vectors[j]) > REDUNDANT for j in chosen):
            continue
        chosen.append(i)
    return [sentences[i] for i in sorted(chosen)]


def outline(documents: list[Document], per_document: int = 12) -> list[dict[str, object]]:
    """Headings per document, or the first sentence of each paragraph when it has none."""
    items: list[dict[str, object]] = []
    for document in documents:
        headings = [b for b in document.blocks if b.level]
        if headings:
            entries = [(b.level, b.text) for b in headings[:per_document]]
        else:
            firsts = [split_sentences(p)[0] for p in document.paragraphs()[:per_document]]
            entries = [(1, s if len(s) <= 100 else s[:97].rstrip() + "...") for s in firsts]
        items += [{"document": document.name, "level": lv, "title": t} for lv, t in entries]
    return items
