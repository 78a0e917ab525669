"""Extractive summarisation, key phrases and outlines over parsed `Document`s.

Sentences are scored by TF-IDF cosine similarity to the documents' centroid (what the text
is mostly about), with a bonus for leading sentences and for the goal's topic words; the
best are picked without near-duplicates and given back in reading order. Key phrases are
built from RAKE's candidates (Rose et al., 2010: runs of content words between stopwords),
ranked by how often they recur, then by RAKE's degree/frequency score.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from bureau.agents._text import STOPWORDS, Document, split_sentences, terms, words

GOAL_FILLER = frozenset(
    terms(
        "summarize summarise summary digest document documents doc docs text key point points "
        "main give please brief overview read tell about file files article report notes "
        "highlight highlights focus mostly want need"
    )
)
MAX_PHRASE_WORDS = 4
REDUNDANT = 0.6  # cosine above which a sentence repeats one already picked


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
    """The `count` best sentences, near-duplicates skipped, in reading order.

    Every document contributes its best sentence first when `count` allows it.
    """
    if not sentences or count <= 0:
        return []
    ranked_scores = scores(sentences, topic_terms(goal, sentences))
    vectors = _vectors(sentences)
    order = sorted(range(len(sentences)), key=lambda i: (-ranked_scores[i], i))
    documents = sorted({s.document for s in sentences})
    leaders = [next(i for i in order if sentences[i].document == d) for d in documents]
    chosen: list[int] = []
    for i in (leaders if len(documents) <= count else []) + order:
        if len(chosen) == count:
            break
        if i in chosen or any(_cosine(vectors[i], vectors[j]) > REDUNDANT for j in chosen):
            continue
        chosen.append(i)
    return [sentences[i] for i in sorted(chosen)]


def _runs(text: str) -> list[list[str]]:
    """Runs of content words between stopwords and punctuation."""
    runs: list[list[str]] = []
    for chunk in re.split(r"[^\w\s'\u2019-]|\s[-\u2013\u2014]\s", text.lower()):
        run: list[str] = []
        for word in [*words(chunk), ""]:
            if word and word not in STOPWORDS and not word.isdigit() and len(word) > 1:
                run.append(word)
            else:
                if run:
                    runs.append(run)
                run = []
    return runs


def _fold(word: str) -> str:
    """Plurals folded onto the singular ("pumps" -> "pump"), nothing more."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _overlaps(key: tuple[str, ...], better: tuple[str, ...]) -> bool:
    """True when `key` contains `better` or shares more than half its words with it."""
    shared = len(set(key) & set(better))
    return shared == len(better) or 2 * shared > len(key)


def key_phrases(texts: list[str], limit: int) -> list[str]:
    """Up to `limit` key phrases (lowercase), best first, none repeating a better one.

    Candidates are runs of content words and their 1-3 word pieces, counted across texts
    with plurals folded ("heat pump" = "heat pumps"). Recurring phrases rank by count times
    length^1.5 (a recurring pair beats its words alone); one-off phrases follow, ranked
    RAKE-style by word degree over frequency.
    """
    counts: Counter[tuple[str, ...]] = Counter()
    surfaces: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    whole_runs: Counter[tuple[str, ...]] = Counter()
    for text in texts:
        for run in _runs(text):
            whole_runs[tuple(_fold(w) for w in run)] += 1
            for n in range(1, MAX_PHRASE_WORDS):
                for i in range(len(run) - n + 1):
                    gram = run[i : i + n]
                    key = tuple(_fold(w) for w in gram)
                    counts[key] += 1
                    surfaces[key][" ".join(gram)] += 1
    frequency = {key[0]: n for key, n in counts.items() if len(key) == 1}
    degree: Counter[str] = Counter()
    for stems, n in whole_runs.items():
        for word in stems:
            degree[word] += n * len(stems)

    def rating(key: tuple[str, ...]) -> tuple[float, float]:
        rake = sum(degree[w] / frequency[w] for w in key)
        recurring = counts[key] * len(key) ** 1.5 if counts[key] > 1 else 0.0
        return (recurring, rake)

    ranked = sorted(counts, key=lambda k: (*(-r for r in rating(k)), k))
    picked: list[tuple[str, ...]] = []
    for key in ranked:
        if len(picked) == limit:
            break
        if counts[key] == 1 and len(key) == 1:
            continue
        if any(_overlaps(key, better) for better in picked):
            continue
        picked.append(key)
    return [surfaces[key].most_common(1)[0][0] for key in picked]


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
