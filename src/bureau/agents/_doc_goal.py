"""Reading a doc-digest goal: which question it asks and about what, or why it is out of scope.

doc-digest only reports what its documents say. `read_goal` maps a goal to one `Request`
(a kind of answer plus its subject), or raises `Decline` for work that would need more than
the text: translating, writing something new, judging tone, doing arithmetic on data, or
looking facts up elsewhere. The agent calls these pure functions before its first durable
call, so they must stay deterministic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bureau import Decline

CAPABILITIES = (
    "doc-digest answers from the text of the documents it is sent, and only from it: a "
    "summary (e.g. 'summarise in 3 sentences'), key phrases, the outline (headings), reading "
    "statistics (words, reading time), what the text says about a topic ('what does it say "
    "about costs?'), mentions of a term ('find mentions of \"heat pump\"'), the dates, "
    "numbers, names, action items or questions in the text, a comparison of two documents, "
    "and questions the text itself answers"
)

OUT_OF_SCOPE: dict[str, tuple[str, re.Pattern[str]]] = {
    label: (reason, re.compile(pattern, re.IGNORECASE))
    for label, reason, pattern in (
        (
            "translation",
            "it does not translate",
            r"\btranslat\w*|\b(?:in|into) (?:french|german|spanish|italian|portuguese|chinese|"
            r"japanese|korean|russian|arabic|dutch|polish|hindi)(?: please)?\W*$",
        ),
        (
            "writing",
            "it does not write new text (essays, poems, stories, emails, posts)",
            r"\b(?:write|compose|draft|create|generate|invent|make up)\b.{0,40}?\b(?:essays?|"
            r"poems?|story|stories|songs?|letters?|e-?mails?|tweets?|blog|posts?|speech|haiku|"
            r"novel|limerick|press release|cover letter|jokes?|slogans?)\b"
            r"|\b(?:rewrite|paraphrase|reword|proofread|continue the story)\b",
        ),
        (
            "judgement",
            "it does not judge sentiment, tone or quality, nor give opinions",
            r"\b(?:sentiment|tone|mood|emotions?|opinion|persuasive|biased?|critique|"
            r"positive or negative|do you (?:think|agree|like)|is (?:it|this) (?:good|bad|"
            r"convincing|well written)|rate (?:it|this|the)|how good)\b",
        ),
        (
            "arithmetic",
            "it does not do arithmetic or statistics on data; send tables to csv-analyst",
            r"\b(?:average|median|standard deviation|correlat\w*|regression|plot|charts?|"
            r"graphs?|forecast\w*|extrapolat\w*|spreadsheet|pivot|(?:the )?mean of|"
            r"(?:the )?sum of|growth rate|percent change)\b",
        ),
        (
            "lookup",
            "it cannot look anything up beyond the text (no web, no news, no live data)",
            r"\b(?:search the web|google|look (?:it )?up online|on the internet|latest news|"
            r"current (?:price|weather|news)|weather forecast)\b",
        ),
    )
}

SUMMARY = re.compile(
    r"\b(?:summar\w*|digest|tl;?dr|gist|overview|recap|synopsis|abstract|main points|"
    r"key points|key findings|highlights?|brief me|condense|sum up|what (?:is|'s) (?:it|this)"
    r" about|what (?:is|are) (?:the|this|these) \w+ about)\b",
    re.IGNORECASE,
)
KINDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("compare", r"\b(?:compare|comparison|contrast|differences?|differ|versus|vs\.?)\b"),
        (
            "actions",
            r"\b(?:action items?|actions|to-?dos?|tasks|next steps|follow-?ups?|"
            r"assignments|who (?:does|will do|is doing) what)\b",
        ),
        (
            "statistics",
            r"\b(?:word count|how many words|count (?:the |all )?words|reading time|how long|"
            r"(?:reading|text|document) statistics|length|"
            r"how many (?:sentences|paragraphs|headings))\b",
        ),
        ("dates", r"\b(?:dates?|deadlines?|timeline|schedule|milestones|due)\b"),
        (
            "numbers",
            r"\b(?:numbers|figures|numeric|numerical|percentages|amounts|quantities|"
            r"statistics|stats|metrics)\b",
        ),
        (
            "names",
            r"\b(?:named entities|entities|names|people|persons|organi[sz]ations|companies|"
            r"proper nouns|places|attendees|participants|who (?:is|are) (?:mentioned|named|"
            r"involved|attending|present))\b",
        ),
        ("questions", r"\b(?:questions|open issues|unanswered|queries)\b"),
        (
            "outline",
            r"\b(?:outline|headings?|sections|structure|table of contents|chapters)\b",
        ),
        (
            "key_phrases",
            r"\b(?:key ?phrases|keywords?|key words|key terms|topics|themes|tags|"
            r"key concepts)\b",
        ),
    )
)
MENTIONS = re.compile(
    r"\b(?:(?:all |every )?(?:mentions?|occurrences?|instances?|quotes?|uses) (?:of|about|on)"
    r"|(?:find|search for|search|locate|look for|grep)(?: all| every)?"
    r"(?: (?:mentions|occurrences) of| the (?:word|term|phrase))?"
    r"|where (?:is|are|does (?:it|the \w+) mention|do (?:they|the \w+) mention)"
    r"|quote (?:what it says |the (?:text|passages|sentences) )?(?:about|on|mentioning))"
    r"\s+(?P<subject>.+)",
    re.IGNORECASE,
)
HOW_OFTEN = re.compile(
    r"\bhow (?:many times|often) (?:is|are|does|do)(?: the (?:word|term|phrase))?\s+"
    r"(?P<subject>.+?)\s+(?:mentioned|appear|occur|come up|used|named)\b",
    re.IGNORECASE,
)
ABOUT = re.compile(
    r"\b(?:says?|said|tells?(?: me| us)?|mentions?|know|writes?|states?|reports?|covers?|"
    r"discuss(?:es)?|anything|information|details|what)\b(?: \w+)?"
    r" (?:about|on|regarding|concerning)\s+(?P<subject>.+)",
    re.IGNORECASE,
)
QUOTED = re.compile(r"[\"“”`]([^\"“”`]{1,80})[\"“”`]|(?:^|\s)'([^']{1,80})'(?=[\s?.!,]|$)")
QUESTION_START = re.compile(
    r"^(?:who|whom|whose|what|when|where|which|why|how|is|are|was|were|does|do|did|can|"
    r"could|will|would|should|has|have|had)\b",
    re.IGNORECASE,
)
DOCUMENT_WORDS = (
    r"(?:the |this |these |both |all )?(?:text|texts|documents?|docs?|files?|memo|report|"
    r"notes|page|article|paper|minutes)"
)
NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
COUNT = re.compile(
    r"\b(\d{1,2}|"
    + "|".join(NUMBER_WORDS)
    + r")[- ](?:sentences?|(?:bullet )?points|bullets|lines?)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Request:
    """What a goal asks doc-digest for.

    Attributes:
        kind: summary, key_phrases, outline, statistics, about, mentions, dates, numbers,
            names, actions, questions, compare, or question (one the text should answer).
        subject: the topic (about), the term (mentions) or the question (question).
        count: how many summary sentences the goal asks for, if it says.
    """

    kind: str
    subject: str = ""
    count: int | None = None


def decline(reason: str) -> Decline:
    """A `Decline` that says why, what doc-digest can do instead, and how to rephrase."""
    return Decline(f"doc-digest cannot do this: {reason}. {CAPABILITIES}.")


def out_of_scope(goal: str, allowed: tuple[str, ...] = ()) -> str | None:
    """Why the goal asks for work beyond reporting what the text says, or None.

    The term or topic the goal asks about is set aside first (asking what the text says
    about translation costs is no request to translate). `allowed` names `OUT_OF_SCOPE`
    labels another agent can serve (brief-writer allows "arithmetic", for csv-analyst).
    """
    rest = _subject(goal.strip())[2]
    for label, (reason, pattern) in OUT_OF_SCOPE.items():
        # "search the web for X" reads as a search for a term: look at the whole goal
        if label not in allowed and pattern.search(goal if label == "lookup" else rest):
            return reason
    return None


def _clean(subject: str) -> str:
    """The subject without quotes, trailing punctuation or a trailing "in the document"."""
    subject = subject.strip().rstrip("?.!").strip()
    subject = re.sub(rf"\s+(?:in|from|of|across) {DOCUMENT_WORDS}$", "", subject, flags=re.I)
    subject = re.sub(r"\s+(?:mentioned|said|written|appear)$", "", subject, flags=re.I)
    subject = re.sub(r"^(?:the|a|an)\s+", "", subject, flags=re.I)
    return subject.strip(" \"'“”`")


def _subject(goal: str) -> tuple[str, str, str]:
    """(kind, subject, rest of the goal) for a goal about a term or topic, else ("", "", goal)."""
    for kind, pattern in (("mentions", HOW_OFTEN), ("mentions", MENTIONS), ("about", ABOUT)):
        if match := pattern.search(goal):
            span = match.group("subject")
            quoted = QUOTED.search(span)
            subject = _clean(next(g for g in quoted.groups() if g) if quoted else span)
            if quoted or not _names_a_kind(subject):
                rest = goal[: match.start("subject")] + goal[match.end("subject") :]
                return kind, subject, rest
    return "", "", goal


def _names_a_kind(subject: str) -> bool:
    """True when a subject is no term at all but the documents or a kind of answer ("the
    dates" in "find the dates", "this document" in "tell me about this document")."""
    if not subject or re.fullmatch(DOCUMENT_WORDS + r"|it|this|them", subject, re.I):
        return True
    return any(p.search(subject) for _, p in KINDS) or bool(SUMMARY.search(subject))


def read_goal(goal: str) -> Request:
    """The request a goal makes; raises `Decline` when it is out of doc-digest's scope.

    A term or topic the goal names ("mentions of X", "what does it say about X") is set
    aside before the scope check, so that asking about translation costs is not a request
    to translate. Broad goals ("summarise", "digest this", none) ask for the summary; a goal
    it cannot read is declined, never answered with a summary instead.
    """
    if reason := out_of_scope(goal):
        raise decline(reason)
    kind, subject, _ = _subject(goal.strip())
    count_match = COUNT.search(goal)
    count = None
    if count_match:
        word = count_match.group(1).lower()
        count = int(word) if word.isdigit() else NUMBER_WORDS[word]
    if kind:
        return Request(kind, subject, count)
    for name, pattern in KINDS:
        if pattern.search(goal):
            return Request(name, count=count)
    if SUMMARY.search(goal) or not goal.strip():
        return Request("summary", count=count)
    if QUESTION_START.search(goal.strip()) or goal.strip().endswith("?"):
        return Request("question", goal.strip())
    if count is not None:
        return Request("summary", count=count)  # "give me 3 bullet points"
    raise decline(f"it could not read {goal.strip()!r} as one of the questions it answers")
