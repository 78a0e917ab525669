"""doc-digest against a table of goals: it answers what it claims, asks when one reply settles
which document is meant, and declines the rest.

Expected answers are computed here with plain regular expressions over the fixtures (never
with the agent's helpers) where they are countable: mentions, headings, dates, numbers,
questions, word counts. Otherwise properties are checked: summary sentences are verbatim
and stand alone, key phrases are multi-word or names found in the text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bureau.agents import doc_digest
from bureau.testing import RunResult, run_agent
from tests.unit.agents.doc_goals_data import (
    BASE64_BLOB,
    BINARY_TEXT,
    CSV_TABLE,
    JSON_DATA,
    MEETING_NOTES,
    POLICY_HTML,
    REPORT_MD,
    REPORT_V2_MD,
    UNRELATED_MEMO,
)

DOCS = {
    "report.md": REPORT_MD,
    "report-2024.md": REPORT_V2_MD,
    "q1-report.md": REPORT_MD,
    "q2-report.md": REPORT_V2_MD,
    "notes.md": MEETING_NOTES,
    "policy.html": POLICY_HTML,
    "memo.txt": UNRELATED_MEMO,
    "sales.csv": CSV_TABLE,
    "export.txt": BASE64_BLOB,
    "upload.txt": BINARY_TEXT,
}
DANGLING = re.compile(
    r"^(?:this|that|these|those|it|its|they|their|he|she|however|but|and|also|moreover|"
    r"furthermore|therefore|thus|such|as mentioned)\b",
    re.IGNORECASE,
)
GENERIC_WORDS = {"data", "result", "results", "thing", "things", "cost", "costs", "year"}


# -- independent readings of the fixtures -----------------------------------------------


def flat(text: str) -> str:
    return " ".join(text.split())


def visible(page: str) -> str:
    """The text a reader sees on an HTML page: no head, nav, script or style; no tags."""
    page = re.sub(r"(?is)<(head|nav|script|style)\b.*?</\1>", " ", page)
    return flat(html.unescape(re.sub(r"<[^>]+>", " ", page)))


def plain(name: str) -> str:
    text = DOCS[name]
    return visible(text) if name.endswith(".html") else flat(text.replace("#", ""))


def split(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.?!])\s+", flat(text)) if s]


def blocks(name: str) -> list[str]:
    """Headings, list items and paragraphs, each as one line of text."""
    text = DOCS[name]
    if name.endswith(".html"):
        found = re.findall(r"(?s)<(p|h\d|li)>(.*?)</\1>", text)
        return [flat(html.unescape(content)) for _, content in found]
    found, paragraph = [], []
    for line in [*text.splitlines(), ""]:
        if paragraph and (not line.strip() or line.startswith(("#", "- "))):
            found.append(" ".join(paragraph))
            paragraph = []
        if line.startswith(("#", "- ")):
            found.append(line.lstrip("#- ").strip())
        elif line.strip():
            paragraph.append(line.strip())
    return found


def sentences(name: str) -> list[str]:
    return [sentence for block in blocks(name) for sentence in split(block)]


def occurrences(term: str, text: str) -> int:
    return len(re.findall(rf"\b{re.escape(term)}(?:s|es)?\b", text, re.IGNORECASE))


def md_headings(text: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"(?m)^#+\s+(.*)$", text)]


def word_count(text: str) -> int:
    return len(re.findall(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*", text))


# -- checks -------------------------------------------------------------------------------

Check = Callable[[RunResult], None]


def summary(count: int, *names: str, topic: str = "", on_topic: int = 0) -> Check:
    """Verbatim, stand-alone sentences from the named documents, `count` of them, and at
    least `on_topic` of them with the `topic` word."""

    def check(result: RunResult) -> None:
        deliverable = result.deliverable
        assert deliverable["result"]["kind"] == "summary"
        sentences = [s["text"] for s in deliverable["sentences"]]
        assert len(sentences) == count
        assert deliverable["result"]["sentences"] == deliverable["sentences"]
        assert {s["document"] for s in deliverable["sentences"]} <= set(names)
        for sentence in sentences:
            assert any(sentence in plain(name) for name in names), sentence
            assert not DANGLING.search(sentence), sentence
            assert not sentence.endswith(":"), sentence
        assert sum(topic in s.lower() for s in sentences) >= on_topic
        assert deliverable["summary"] == " ".join(sentences)

    return check


def key_phrases(name: str) -> Check:
    def check(result: RunResult) -> None:
        phrases = result.deliverable["result"]["phrases"]
        assert len(phrases) >= 5 and phrases == result.deliverable["key_phrases"]
        text = plain(name)
        for phrase in phrases:
            assert phrase.lower() not in GENERIC_WORDS
            if len(phrase.split()) == 1:  # only a name stands as one word, as written
                assert phrase[0].isupper() and re.search(rf"\b{phrase}\b", text), phrase
            for word in phrase.split():
                assert word.lower() in text.lower(), phrase

    return check


def outline(expected: list[str]) -> Check:
    def check(result: RunResult) -> None:
        found = result.deliverable["result"]
        assert found["kind"] == "outline" and found["from_headings"]
        assert [h["title"] for h in found["headings"]] == expected
        for title in expected:
            assert title in result.deliverable["answer"]

    return check


def statistics(name: str) -> Check:
    def check(result: RunResult) -> None:
        found = result.deliverable["result"]
        words = word_count(plain(name))
        assert found["kind"] == "statistics" and found["words"] == words
        assert found["reading_minutes"] == round(words / 230, 1)
        assert f"{words} words" in result.deliverable["answer"]

    return check


def mentions(term: str, name: str) -> Check:
    def check(result: RunResult) -> None:
        found = result.deliverable["result"]
        expected = occurrences(term, plain(name))
        assert found == {**found, "kind": "mentions", "term": term, "count": expected}
        expected_sentences = [s for s in sentences(name) if occurrences(term, s)]
        assert [i["sentence"] for i in found["items"]] == expected_sentences
        assert f"occurs {expected} time" in result.deliverable["answer"]

    return check


def about(topic: str, expected: list[str]) -> Check:
    def check(result: RunResult) -> None:
        found = result.deliverable["result"]
        assert found["kind"] == "about" and found["topic"] == topic
        assert found["mentioned"] is bool(expected) and found["count"] == len(expected)
        assert [i["sentence"] for i in found["items"]] == expected
        if not expected:
            assert f"do not mention {topic}" in result.deliverable["answer"]

    return check


def listed(kind: str, key: str, expected: list[str]) -> Check:
    def check(result: RunResult) -> None:
        found = result.deliverable["result"]
        assert found["kind"] == kind and found["count"] == len(expected)
        assert [item[key] for item in found["items"]] == expected
        assert f"I found {len(expected)}" in result.deliverable["answer"]

    return check


def names(name: str, expected: dict[str, int]) -> Check:
    def check(result: RunResult) -> None:
        found = {i["name"]: i["count"] for i in result.deliverable["result"]["items"]}
        assert {n: found.get(n) for n in expected} == expected
        text = plain(name)
        assert all(n in text for n in found)
        assert all(n not in found for n in ("Attendees", "Decisions", "Action", "June", "TODO"))

    return check


def action_items(expected: list[tuple[str, str | None, str | None]]) -> Check:
    def check(result: RunResult) -> None:
        items = result.deliverable["result"]["items"]
        assert [(i["sentence"], i["owner"], i["due"]) for i in items] == expected

    return check


def answers(sentence: str) -> Check:
    def check(result: RunResult) -> None:
        found = result.deliverable["result"]
        assert found["kind"] == "answer"
        quoted = [i["sentence"] for i in found["items"]]
        assert sentence in quoted and all(q in flat(MEETING_NOTES + REPORT_MD) for q in quoted)
        assert sentence in result.deliverable["answer"]

    return check


def comparison(first: str, second: str) -> Check:
    def check(result: RunResult) -> None:
        found = result.deliverable["result"]
        assert found["kind"] == "compare" and found["documents"] == [first, second]
        for this, other in ((first, second), (second, first)):
            own, others = md_headings(DOCS[this]), md_headings(DOCS[other])
            assert found["sections_only_in"][this] == [h for h in own if h not in others]
            assert found["only_in"][this], f"nothing found only in {this}"
            for phrase in found["only_in"][this]:
                assert not occurrences(phrase, plain(other)), phrase
                assert all(w in plain(this).lower() for w in phrase.lower().split()), phrase
        for phrase in found["shared"]:
            assert occurrences(phrase, plain(first)) and occurrences(phrase, plain(second))

    return check


def skipped_csv(result: RunResult) -> None:
    assert result.deliverable["skipped"] == [
        {"name": "sales.csv", "reason": "a data table; send it to csv-analyst"}
    ]
    assert "Not read: sales.csv" in result.deliverable["answer"]
    summary(5, "report.md")(result)


def asks(options: list[str]) -> Check:
    def check(result: RunResult) -> None:
        assert result.question is not None
        assert result.question["schema"] == {"type": "string", "enum": options}
        assert all(option in result.question["text"] for option in options)

    return check


def declined(*phrases: str) -> Check:
    """Rejected, saying why and what doc-digest can do instead."""

    def check(result: RunResult) -> None:
        error = result.error or ""
        assert all(p in error for p in phrases), error
        assert result.executions == 1 and not result.artifacts
        assert "step.started" not in result.event_types()

    return check


# -- the table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    goal: str
    files: tuple[str, ...]
    status: str
    expect: str  # for the table in the notes
    check: Check
    replies: list[str | dict[str, Any]] = field(default_factory=list)
    text: str | None = None


REPORT_GRANT = [
    "The pilot cost 2.1 million euros, of which the regional grant paid 45 percent.",
    "As mentioned above, the grant ends in 2025.",
]
SECURITY = split(re.findall(r"(?s)<h2>Security</h2>\s*<p>(.*?)</p>", POLICY_HTML)[0])
NOTES_DATES = ["2024-05-14", "June 3, 2024", "2024-05-24", "Friday", "Monday", "May 21, 2024"]
REPORT_NUMBERS = [
    "40",
    "1,250",
    "38 percent",
    "12 percent",
    "2.1 million",
    "45 percent",
    "30,000",
    "18 percent",
]
ACTIONS = [
    ("TODO: Priya to draft the migration guide by 2024-05-24.", "Priya", "2024-05-24"),
    ("Tom must fix the export bug before the beta launch.", "Tom", None),
    ("Action: Lena will send the contract to Acme Corp on Friday.", "Lena", "Friday"),
    ("The team should review the support backlog every Monday.", None, "Monday"),
]
CAN_DO = "what the text says about a topic"

CASES = [
    Case("empty-goal", "", ("report.md",), "completed", "summary, 5 stand-alone sentences",
         summary(5, "report.md")),
    Case("digest-this", "Digest this", ("notes.md",), "completed", "summary, 5 sentences",
         summary(5, "notes.md")),
    Case("three-sentences", "Summarise the report in 3 sentences", ("report.md",),
         "completed", "summary, 3 sentences", summary(3, "report.md")),
    Case("summary-on-topic", "Summarize, focusing on costs", ("report.md",), "completed",
         "summary led by the cost sentences", summary(5, "report.md", topic="cost", on_topic=2)),
    Case("summary-skips-dangling", "Summarise the funding source and the grant",
         ("report.md",), "completed",
         "summary; skips the on-topic “It will need a new funding source.”",
         summary(5, "report.md", topic="grant", on_topic=1)),
    Case("html-summary", "Give me an overview", ("policy.html",), "completed",
         "summary of the page text (no script, style, nav)", summary(5, "policy.html")),
    Case("two-document-summary", "summarise both documents", ("report.md", "policy.html"),
         "completed", "summary drawing on both", summary(5, "report.md", "policy.html")),
    Case("key-phrases", "What are the key phrases?", ("report.md",), "completed",
         "multi-word key phrases or names", key_phrases("report.md")),
    Case("keywords-notes", "keywords please", ("notes.md",), "completed",
         "multi-word key phrases or names", key_phrases("notes.md")),
    Case("outline-md", "Give me the outline", ("report.md",), "completed",
         "the five headings", outline(md_headings(REPORT_MD))),
    Case("outline-html", "What are the sections?", ("policy.html",), "completed",
         "Remote work policy; Equipment; Security; Travel",
         outline(re.findall(r"<h\d>(.*?)</h\d>", POLICY_HTML))),
    Case("word-count", "How many words is it, and how long to read?", ("report.md",),
         "completed", "word count and reading time", statistics("report.md")),
    Case("reading-time-html", "What is the reading time?", ("policy.html",), "completed",
         "word count of the visible text, reading time", statistics("policy.html")),
    Case("about-grant", "What does the report say about the grant?", ("report.md",),
         "completed", "the 2 sentences on the grant", about("grant", REPORT_GRANT)),
    Case("about-security", "What does the policy say about security?", ("policy.html",),
         "completed", "the 2 sentences of the Security section", about("security", SECURITY)),
    Case("about-absent", "What does it say about wind turbines?", ("report.md",), "completed",
         "plainly: not mentioned", about("wind turbines", [])),
    Case("about-translation", "What does the policy say about translation?", ("policy.html",),
         "completed", "plainly: not mentioned (the topic is no request to translate)",
         about("translation", [])),
    Case("mentions-roof", 'Find all mentions of "roof"', ("report.md",), "completed",
         "3 mentions, with sentences", mentions("roof", "report.md")),
    Case("how-often-battery", "How many times is 'battery' mentioned?", ("report.md",),
         "completed", "1 mention", mentions("battery", "report.md")),
    Case("where-acme", "Where is Acme Corp mentioned?", ("notes.md",), "completed",
         "3 mentions", mentions("Acme Corp", "notes.md")),
    Case("how-often-laptop", 'How often is "laptop" mentioned?', ("policy.html",),
         "completed", "2 mentions", mentions("laptop", "policy.html")),
    Case("dates", "What dates are mentioned?", ("notes.md",), "completed",
         "the 6 dates", listed("dates", "text", NOTES_DATES)),
    Case("numbers-report", "List the numbers in the report", ("report.md",), "completed",
         "the 8 figures (years are dates)", listed("numbers", "text", REPORT_NUMBERS)),
    Case("numbers-html", "Which figures does the page give?", ("policy.html",), "completed",
         "300, 24, 30", listed("numbers", "text", ["300", "24", "30"])),
    Case("questions", "What questions are still open?", ("notes.md",), "completed",
         "the 2 questions", listed("questions", "sentence",
                                   [q.strip() for q in re.findall(r"[^.?!\n]+\?", MEETING_NOTES)])),
    Case("action-items", "List the action items", ("notes.md",), "completed",
         "4 action items with owner and due date", action_items(ACTIONS)),
    Case("names-notes", "Who attended? List the names", ("notes.md",), "completed",
         "Priya Raman, Tom Becker, Lena Fischer, Acme Corp (3x)",
         names("notes.md", {"Priya Raman": 1, "Tom Becker": 1, "Lena Fischer": 1,
                            "Acme Corp": MEETING_NOTES.count("Acme Corp")})),
    Case("names-report", "Who is mentioned in the report?", ("report.md",), "completed",
         "Maria Lopez, Northgate Energy Agency",
         names("report.md", {"Maria Lopez": 1, "Northgate Energy Agency": 1})),
    Case("question-in-text", "How much did the pilot cost?", ("report.md",), "completed",
         "quotes the cost sentence", answers(REPORT_GRANT[0])),
    Case("question-launch", "When is the beta launch?", ("notes.md",), "completed",
         "quotes the June 3 sentence", answers("The beta launch moves to June 3, 2024.")),
    Case("compare", "Compare the two reports", ("report.md", "report-2024.md"), "completed",
         "sections and key phrases in one and not the other",
         comparison("report.md", "report-2024.md")),
    Case("csv-beside-a-document", "", ("report.md", "sales.csv"), "completed",
         "summary of report.md; sales.csv set aside, said so", skipped_csv),
    Case("which-report", "Summarise the report", ("q1-report.md", "q2-report.md"),
         "input-required", "asks: which report?", asks(["q1-report.md", "q2-report.md"])),
    Case("which-report-answered", "Summarise the report", ("q1-report.md", "q2-report.md"),
         "completed", "after the reply, summary of q2-report.md only",
         summary(5, "q2-report.md"), replies=["q2-report.md"]),
    Case("which-pair", "Compare the documents", ("report.md", "notes.md", "policy.html"),
         "input-required", "asks: which two?",
         asks(["report.md vs notes.md", "report.md vs policy.html", "notes.md vs policy.html"])),
    Case("translate", "Translate this report into French", ("report.md",), "rejected",
         "declined: does not translate", declined("does not translate", CAN_DO)),
    Case("poem", "Write a poem about the solar pilot", ("report.md",), "rejected",
         "declined: does not write new text", declined("does not write new text", CAN_DO)),
    Case("world-cup", "Who won the 2022 world cup?", ("memo.txt",), "rejected",
         "declined: the text does not answer it", declined("do not answer", CAN_DO)),
    Case("tone", "Is the tone of the memo positive or negative?", ("memo.txt",), "rejected",
         "declined: no sentiment judgement", declined("sentiment", CAN_DO)),
    Case("average-over-memo", "What is the average panel price? Plot it", ("report.md",),
         "rejected", "declined: arithmetic, use csv-analyst", declined("csv-analyst")),
    Case("csv-input", "Calculate the growth by region", ("sales.csv",), "rejected",
         "declined: a table, use csv-analyst", declined("sales.csv", "csv-analyst")),
    Case("json-input", "Summarise this", (), "rejected", "declined: JSON is not prose",
         declined("JSON"), text=JSON_DATA),
    Case("base64-input", "Summarise this", ("export.txt",), "rejected",
         "declined: an encoded blob", declined("encoded")),
    Case("binary-input", "Digest this", ("upload.txt",), "rejected",
         "declined: binary data", declined("binary")),
    Case("compare-one", "Compare the two documents", ("report.md",), "rejected",
         "declined: comparing needs two documents", declined("two documents")),
    Case("web-lookup", "Search the web for the latest solar prices", ("report.md",),
         "rejected", "declined: no look-ups beyond the text", declined("look anything up")),
    Case("unreadable-goal", "Extract all URLs", ("report.md",), "rejected",
         "declined: a goal it cannot read is not answered with a summary",
         declined("could not read 'Extract all URLs'", CAN_DO)),
    Case("simplify", "explain it like I'm five", ("report.md",), "rejected",
         "declined: rewriting for a reader is new text", declined("could not read")),
    Case("empty-input", "Summarise this", (), "rejected", "declined: nothing to read",
         declined("no text to digest"), text="   "),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_goal(case: Case) -> None:
    payload: dict[str, Any] = {"files": [{"name": n, "content": DOCS[n]} for n in case.files]}
    if case.text is not None:
        payload["text"] = case.text
    result = await run_agent(doc_digest, case.goal, payload, replies=case.replies)
    assert result.status == case.status, result.error
    case.check(result)


async def test_without_interaction_an_ambiguous_goal_reads_every_candidate() -> None:
    payload = {
        "files": [{"name": n, "content": DOCS[n]} for n in ("q1-report.md", "q2-report.md")],
        "interactive": False,
    }
    result = await run_agent(doc_digest, "Summarise the report", payload)
    assert result.status == "completed", result.error
    assert {s["document"] for s in result.deliverable["sentences"]} == {
        "q1-report.md",
        "q2-report.md",
    }
    assert "could mean any of q1-report.md, q2-report.md" in result.deliverable["answer"]


def test_the_table_is_broad_enough() -> None:
    statuses = [case.status for case in CASES]
    assert len(CASES) >= 30
    assert statuses.count("rejected") >= 6 and statuses.count("input-required") >= 1
