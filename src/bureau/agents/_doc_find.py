"""Finding things in documents: mentions of a term, dates, numbers, names, action items,
questions. Every item found is quoted with the sentence it came from, so the consumer can
check it; nothing is inferred beyond the words on the page.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from bureau.agents._text import STOPWORDS, Document, split_sentences

MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec"
)
WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
DATE = re.compile(
    rf"""\b(?:
        \d{{4}}-\d{{2}}-\d{{2}}
      | \d{{1,2}}/\d{{1,2}}/\d{{2,4}}
      | (?:{MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}})?
      | \d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{MONTHS})\b\.?(?:,?\s+\d{{4}})?
      | (?:{MONTHS})\.?\s+\d{{4}}
      | Q[1-4]\s+\d{{4}}
      | (?:{WEEKDAYS})
      | (?<=\b(?:in|by)\s)(?:19|20)\d{{2}}
      | (?<=\b(?:since|until|after)\s)(?:19|20)\d{{2}}
      | (?<=\bbefore\s)(?:19|20)\d{{2}}
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)
NUMBER = re.compile(
    r"(?<![\w.,-])[-+]?[$€£]?\d+(?:[.,]\d+)*(?:\s?(?:%|percent\b|k\b|million\b|billion\b))?"
)
ACTION = re.compile(
    r"^\s*\[[ xX]?\]|\b(?:TODO|FIXME)\b|\baction(?: item)?s?\s*:|\b(?:must|should|needs? to|"
    r"has to|have to|is to|are to)\b",
    re.IGNORECASE,
)
OWNER = re.compile(
    r"^(?:\[[ xX]?\]\s*)?(?:(?i:TODO|action(?: item)?)\s*[:\-]?\s*)?@?"
    r"(?P<owner>[A-Z][a-z]+(?: [A-Z][a-z]+)?)\s*"
    r"(?:[:\-\u2013]|\b(?i:will|to|must|should|needs|has)\b)"
    r"|\b(?i:owner):\s*@?(?P<named>[A-Z][a-z]+(?: [A-Z][a-z]+)?)"
)
NAME = re.compile(
    r"(?:(?:Dr|Mr|Mrs|Ms|Prof)\.\s)?[A-Z][\w'\u2019-]*[A-Za-z]"
    r"(?:\s(?:(?:of|the|de|van|von|for|and)\s)?[A-Z][\w'\u2019-]*[A-Za-z])*"
)
NOT_NAMES = frozenset(
    f"todo fixme action note ok re fyi faq {WEEKDAYS.replace('|', ' ')} "
    f"{MONTHS.replace('|', ' ')} q1 q2 q3 q4".split()
)

Item = dict[str, object]


@dataclass(frozen=True)
class Passage:
    """A sentence of a document, or a heading, with the heading of its section."""

    document: str
    text: str
    heading: bool
    section: str = ""


def passages(documents: list[Document]) -> list[Passage]:
    """Every heading and every paragraph sentence of the documents, in reading order."""
    found = []
    for document in documents:
        section = ""
        for block in document.blocks:
            if block.level:
                section = block.text
                found.append(Passage(document.name, block.text, True, section))
            else:
                found += [
                    Passage(document.name, t, False, section) for t in split_sentences(block.text)
                ]
    return found


def _quote(passage: Passage, **extra: object) -> Item:
    return {"document": passage.document, "sentence": passage.text, **extra}


def term_pattern(term: str) -> re.Pattern[str]:
    """The term as whole words, case-insensitive, with an optional plural ending."""
    words = [re.escape(w) for w in term.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?:s|es)?(?!\w)", re.IGNORECASE)


def mentions(documents: list[Document], term: str) -> Item:
    """Every sentence mentioning `term`, and how many times it occurs in all."""
    pattern = term_pattern(term)
    hits = [(p, len(pattern.findall(p.text))) for p in passages(documents)]
    found = [(p, n) for p, n in hits if n]
    return {
        "kind": "mentions",
        "term": term,
        "count": sum(n for _, n in found),
        "items": [_quote(p) for p, _ in found],
    }


def dates(documents: list[Document]) -> list[Item]:
    """Each date-like expression (ISO, d/m/y, month names, quarters, weekdays, years after
    "in"/"by"/"since"...), with its sentence."""
    return [
        _quote(p, text=m.group().strip())
        for p in passages(documents)
        for m in DATE.finditer(p.text)
    ]


def numbers(documents: list[Document]) -> list[Item]:
    """Each number (with its %, currency or scale word) that is not part of a date."""
    found = []
    for passage in passages(documents):
        taken = [m.span() for m in DATE.finditer(passage.text)]
        for match in NUMBER.finditer(passage.text):
            if not any(start <= match.start() < end for start, end in taken):
                found.append(_quote(passage, text=match.group().strip()))
    return found


def _is_name(match: re.Match[str], sentence: str, capitalised: set[str]) -> bool:
    """Sentence-initial single words are names only if capitalised elsewhere mid-sentence
    (else "Installers" or "Defrost" would be names); acronyms always are."""
    words = match.group().split()
    if all(w.lower().strip(".") in NOT_NAMES | STOPWORDS for w in words):
        return False
    if re.search(r"\d\s*$", sentence[: match.start()]):
        return False  # a unit after a number ("1,250 MWh")
    if len(words) > 1 or match.group().isupper():
        return True
    initial = not sentence[: match.start()].strip(" \"'([*-")
    return not initial or match.group() in capitalised


def names(documents: list[Document]) -> list[Item]:
    """Capitalised names ("Maria Lopez", "Acme Corp", "Norway", "UK") with their counts,
    most frequent first; headings are skipped (title case is no evidence of a name)."""
    sentences = [p.text for p in passages(documents) if not p.heading]
    capitalised = {
        m.group()
        for s in sentences
        for m in NAME.finditer(s)
        if s[: m.start()].strip(" \"'([*-") and len(m.group().split()) == 1
    }
    counts: Counter[str] = Counter()
    for sentence in sentences:
        for match in NAME.finditer(sentence):
            if _is_name(match, sentence, capitalised):
                counts[_trim(match.group())] += 1
    return [{"name": n, "count": c} for n, c in sorted(counts.items(), key=lambda x: -x[1])]


def proper_nouns(documents: list[Document]) -> frozenset[str]:
    """The one-word names ("Norway", "UK"), as written."""
    found = (str(item["name"]) for item in names(documents))
    return frozenset(name for name in found if " " not in name)


def _trim(name: str) -> str:
    """A name without a leading capitalised stopword ("The Fraunhofer Institute")."""
    words = name.split()
    while len(words) > 1 and words[0].lower() in STOPWORDS:
        words.pop(0)
    return " ".join(words)


def actions(documents: list[Document]) -> list[Item]:
    """Sentences that assign work: TODO, "Action:", checkboxes, must/should/needs to; with
    the owner when the sentence opens with (or says "owner:") a name found in the text, and
    the first date in it as due."""
    people = {str(n["name"]) for n in names(documents)}
    people |= {name.split()[0] for name in people}
    found = []
    for passage in passages(documents):
        if passage.heading or passage.text.rstrip().endswith("?"):
            continue
        if ACTION.search(passage.text):
            owner = OWNER.search(passage.text)
            who = owner and (owner.group("owner") or owner.group("named"))
            due = DATE.search(passage.text)
            found.append(
                _quote(
                    passage,
                    owner=who if who in people else None,
                    due=due.group() if due else None,
                )
            )
    return found


def questions(documents: list[Document]) -> list[Item]:
    """Sentences (and headings) that end with a question mark."""
    return [_quote(p) for p in passages(documents) if p.text.rstrip(" \"')").endswith("?")]
