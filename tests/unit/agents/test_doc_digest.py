"""doc-digest end to end, and the text helpers under it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bureau.agents import doc_digest
from bureau.agents._text import html_blocks, markdown_blocks, split_sentences
from bureau.testing import run_agent
from tests.unit.agents.sample_data import GRID_HTML, HEAT_PUMPS_MD, PLAIN_NOTES


def flat(text: str) -> str:
    return " ".join(text.split())


def files(*names: str) -> dict[str, Any]:
    contents = {"heat-pumps.md": HEAT_PUMPS_MD, "grid.html": GRID_HTML, "notes.txt": PLAIN_NOTES}
    return {"files": [{"name": n, "content": contents[n]} for n in names]}


async def test_the_summary_is_made_of_sentences_from_the_document() -> None:
    result = await run_agent(doc_digest, "Summarise this", files("heat-pumps.md"))
    assert result.status == "completed", result.error
    sentences = [s["text"] for s in result.deliverable["sentences"]]
    assert len(sentences) == 5  # the balanced profile
    source = flat(HEAT_PUMPS_MD)
    assert all(s in source for s in sentences)
    positions = [source.index(s) for s in sentences]
    assert positions == sorted(positions)  # reading order
    assert result.deliverable["summary"] == " ".join(sentences)


@pytest.mark.parametrize(("profile", "count"), [("fast", 3), ("balanced", 5), ("thorough", 8)])
async def test_the_profile_sets_the_summary_length(profile: str, count: int) -> None:
    result = await run_agent(doc_digest, "", files("heat-pumps.md"), profile=profile)
    assert len(result.deliverable["sentences"]) == count


async def test_max_sentences_overrides_the_profile() -> None:
    result = await run_agent(doc_digest, "", {**files("heat-pumps.md"), "max_sentences": 2})
    assert len(result.deliverable["sentences"]) == 2


async def test_a_topic_in_the_goal_favours_sentences_about_it() -> None:
    result = await run_agent(doc_digest, "What does it say about costs?", files("heat-pumps.md"))
    sentences = [s["text"] for s in result.deliverable["sentences"]]
    about_costs = [s for s in sentences if "cost" in s.lower()]
    assert len(about_costs) >= 3
    plain = await run_agent(doc_digest, "", files("heat-pumps.md"))
    assert sum("cost" in s["text"].lower() for s in plain.deliverable["sentences"]) < len(
        about_costs
    )


async def test_key_phrases_outline_and_statistics() -> None:
    result = await run_agent(doc_digest, "", files("heat-pumps.md", "grid.html"))
    deliverable = result.deliverable
    assert deliverable["key_phrases"][0] == "heat pumps"
    assert {"peak demand", "installation costs"} <= set(deliverable["key_phrases"])
    for phrase in deliverable["key_phrases"]:
        assert not re.search(r"\b(the|and|of)\b", phrase)
        # a one-word key phrase is a name as written ("Norway"), never a common word
        assert len(phrase.split()) > 1 or phrase[0].isupper(), phrase
    assert [(o["document"], o["level"], o["title"]) for o in deliverable["outline"]] == [
        ("heat-pumps.md", 1, "Heat pumps in cold climates"),
        ("heat-pumps.md", 2, "Performance in winter"),
        ("heat-pumps.md", 2, "Costs and subsidies"),
        ("heat-pumps.md", 2, "Installation"),
        ("grid.html", 1, "Grid impact of electrification"),
        ("grid.html", 2, "Flexibility"),
    ]
    documents = {d["name"]: d for d in deliverable["documents"]}
    words = len(re.findall(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*", HEAT_PUMPS_MD.replace("#", "")))
    assert documents["heat-pumps.md"]["words"] == words
    assert documents["heat-pumps.md"]["reading_minutes"] == round(words / 230, 1)
    assert documents["grid.html"]["title"] == "Grid impact"
    digest = result.artifacts["digest.md"].decode()
    assert "## Summary" in digest and "## Key phrases" in digest and "heat pumps" in digest


async def test_html_is_stripped_of_tags_scripts_and_styles() -> None:
    result = await run_agent(doc_digest, "", files("grid.html"))
    text = result.deliverable["summary"]
    assert "<" not in text and "secretScript" not in text and "color" not in text
    assert "Millions of heat pumps add winter peak demand to the electricity grid." in text


async def test_without_headings_the_outline_uses_first_sentences() -> None:
    result = await run_agent(doc_digest, "", {"text": PLAIN_NOTES})
    titles = [o["title"] for o in result.deliverable["outline"]]
    assert titles == [
        "Remote work changed how teams meet.",
        "Written updates replaced many status meetings.",
        "Time zones remain the hardest problem.",
    ]
    assert result.deliverable["documents"][0]["name"] == "input.txt"


async def test_every_document_contributes_to_a_multi_document_summary() -> None:
    result = await run_agent(doc_digest, "", files("heat-pumps.md", "notes.txt"), profile="fast")
    assert {s["document"] for s in result.deliverable["sentences"]} == {
        "heat-pumps.md",
        "notes.txt",
    }


async def test_nothing_to_read_is_declined_saying_what_to_send() -> None:
    result = await run_agent(doc_digest, "", {"files": [{"name": "a.txt", "content": "  "}]})
    assert result.status == "rejected" and result.executions == 1
    assert "input.text" in (result.error or "")
    markup = await run_agent(doc_digest, "", {"text": "<html><script>x()</script></html>"})
    assert markup.status == "rejected" and "no readable text" in (markup.error or "")


async def test_feedback_is_recorded_in_the_digest() -> None:
    result = await run_agent(doc_digest, "", files("heat-pumps.md"), feedback="more on subsidies")
    assert any("subsid" in s["text"].lower() for s in result.deliverable["sentences"])
    assert "> more on subsidies" in result.artifacts["digest.md"].decode()


def test_sentence_splitting_keeps_abbreviations_and_initials() -> None:
    text = "Dr. Smith met J. Doe at 5 p.m. in the U.S. office. It rained! Did it? Yes, e.g. twice."
    assert split_sentences(text) == [
        "Dr. Smith met J. Doe at 5 p.m. in the U.S. office.",
        "It rained!",
        "Did it?",
        "Yes, e.g. twice.",
    ]


def test_markdown_blocks_drop_code_and_inline_markup() -> None:
    blocks = markdown_blocks(
        "Title\n=====\n\nSome **bold** and [a link](http://x).\n\n```\ncode()\n```\n"
        "- item one\n- item two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    assert [(b.level, b.text) for b in blocks] == [
        (1, "Title"),
        (0, "Some bold and a link."),
        (0, "item one"),
        (0, "item two"),
        (0, "a b"),
        (0, "1 2"),
    ]


def test_html_blocks_keep_headings_and_paragraphs_apart() -> None:
    title, blocks = html_blocks("<title>T</title><h2>Head</h2><p>One &amp; two.</p>text")
    assert title == "T"
    assert [(b.level, b.text) for b in blocks] == [(2, "Head"), (0, "One & two."), (0, "text")]


async def test_a_document_of_headings_only_is_summarised_by_its_headings() -> None:
    result = await run_agent(doc_digest, "", {"text": "# Plan\n\n## Étape un\n\n## Étape deux\n"})
    assert result.status == "completed", result.error
    assert result.deliverable["summary"] == "Plan Étape un Étape deux"
    assert set(result.deliverable["key_phrases"]) == {"étape un", "étape deux"}
