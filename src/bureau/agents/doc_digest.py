"""`doc-digest`: extractive summary, key phrases, outline and reading statistics of documents.

Reads plain text, markdown and HTML, with the standard library only (no LLM, no network).
The summary has 3, 5 or 8 sentences for the fast, balanced and thorough profiles unless
`max_sentences` says otherwise; sentences that mention the goal's topic words come first.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from bureau import SLA, Context, Fatal, agent
from bureau.agents._inputs import InputFile, is_html, is_markdown
from bureau.agents._summarize import key_phrases, outline, pick, sentences_of
from bureau.agents._text import Document, read_document, split_sentences, words

SENTENCES = {"fast": 3, "balanced": 5, "thorough": 8}
PHRASES = {"fast": 5, "balanced": 8, "thorough": 12}
WORDS_PER_MINUTE = 230
Source = tuple[str, str, str]  # name, content, format


class DocDigestInput(BaseModel):
    """Send documents as files or inline text."""

    text: str | None = Field(default=None, description="a document's text (plain, markdown, HTML)")
    files: list[InputFile] = Field(
        default_factory=list, description="text, markdown or HTML files to digest together"
    )
    max_sentences: int | None = Field(
        default=None, ge=1, le=50, description="summary length; default by profile (3/5/8)"
    )


def _format(file: InputFile) -> str:
    if is_html(file):
        return "html"
    if is_markdown(file) or re.search(r"(?m)^#{1,6}\s+\S", file.content):
        return "markdown"
    return "text"


def collect_sources(params: DocDigestInput) -> list[Source]:
    """(name, content, format) of each non-empty document; raises `Fatal` when none."""
    files = list(params.files)
    if params.text and params.text.strip():
        files.append(InputFile(name="input.txt", content=params.text))
    sources = [(f.name, f.content, _format(f)) for f in files if f.content.strip()]
    if not sources:
        raise Fatal(
            "no text to digest; send text, markdown or HTML files in input.files "
            '([{"name": "notes.md", "content": "<text>"}]) or the text inline as input.text'
        )
    return sources


def documents_of(sources: list[Source]) -> list[Document]:
    """The parsed documents (cached per source)."""
    return [read_document(name, content, kind) for name, content, kind in sources]


def extract(sources: list[Source]) -> list[dict[str, Any]]:
    """Per-document statistics; raises `Fatal` when no document has readable words."""
    stats = []
    for document in documents_of(sources):
        count = sum(len(words(b.text)) for b in document.blocks)
        stats.append(
            {
                "name": document.name,
                "title": document.title,
                "format": document.format,
                "words": count,
                "sentences": sum(len(split_sentences(p)) for p in document.paragraphs()),
                "headings": sum(1 for b in document.blocks if b.level),
                "reading_minutes": round(max(count / WORDS_PER_MINUTE, 0.1 if count else 0.0), 1),
            }
        )
    if not any(s["words"] for s in stats):
        raise Fatal("the documents hold no readable text (only markup or whitespace)")
    return stats


def summarize(sources: list[Source], goal: str, count: int) -> list[dict[str, str]]:
    """The summary sentences, in reading order, each with its document's name."""
    documents = documents_of(sources)
    chosen = pick(sentences_of(documents), goal, count)
    return [{"document": documents[s.document].name, "text": s.text} for s in chosen]


def phrases(sources: list[Source], limit: int) -> list[str]:
    """Key phrases over all documents (headings included)."""
    return key_phrases([b.text for d in documents_of(sources) for b in d.blocks], limit)


def outline_of(sources: list[Source]) -> list[dict[str, object]]:
    """The documents' outline (see `_summarize.outline`)."""
    return outline(documents_of(sources))


def write_digest(
    goal: str,
    feedback: str | None,
    stats: list[dict[str, Any]],
    summary: list[dict[str, str]],
    key: list[str],
    items: list[dict[str, Any]],
) -> str:
    """The digest as markdown: summary, key phrases, outline, document statistics."""
    several = len(stats) > 1
    lines = ["# Digest", "", f"**Goal:** {goal or '(none given)'}", ""]
    if feedback:
        lines += [
            "## Reviewer feedback",
            "",
            f"> {feedback}",
            "",
            "This is a redo; its words weigh in the choice of summary sentences.",
            "",
        ]
    lines += ["## Summary", ""]
    lines += [f"- {s['text']}" + (f" _({s['document']})_" if several else "") for s in summary]
    lines += ["", "## Key phrases", "", ", ".join(key) or "(none)", "", "## Outline", ""]
    for item in items:
        prefix = f"[{item['document']}] " if several else ""
        lines.append("  " * (int(item["level"]) - 1) + f"- {prefix}{item['title']}")
    lines += [
        "",
        "## Documents",
        "",
        "| document | format | words | sentences | reading time |",
        "|---|---|---:|---:|---:|",
    ]
    for s in stats:
        lines.append(
            f"| {s['name']} | {s['format']} | {s['words']} | {s['sentences']} | "
            f"{s['reading_minutes']} min |"
        )
    return "\n".join(lines) + "\n"


@agent(
    "doc-digest",
    version="1.0.0",
    description="Extractive summary, key phrases and outline of text, markdown or HTML",
    capabilities=["summarization", "documents", "key-phrases"],
    input_schema=DocDigestInput,
    price="0.01",
    sla=SLA(expected_seconds=3, max_seconds=60),
)
async def doc_digest(ctx: Context) -> dict[str, Any]:
    """Digest the documents for the goal; deliver summary, key phrases and outline."""
    params: DocDigestInput = ctx.input
    sources = collect_sources(params)
    count = params.max_sentences or SENTENCES.get(ctx.profile, SENTENCES["balanced"])
    await ctx.plan(
        [
            "extract the text",
            "score and pick summary sentences",
            "extract key phrases",
            "build the outline",
            "write the digest",
        ]
    )
    stats = await ctx.step("extract", extract, sources)
    total = sum(s["words"] for s in stats)
    await ctx.progress(0.2, f"read {len(stats)} document(s), {total} words")
    topic = f"{ctx.goal} {ctx.feedback or ''}"
    summary = await ctx.step("summarize", summarize, sources, topic, count)
    await ctx.progress(0.5, f"picked {len(summary)} sentences")
    key = await ctx.step("key-phrases", phrases, sources, PHRASES.get(ctx.profile, 8))
    await ctx.progress(0.7, f"found {len(key)} key phrases")
    items = await ctx.step("outline", outline_of, sources)
    await ctx.progress(0.85, f"outlined {len(items)} sections")
    digest = await ctx.step(
        "digest", write_digest, ctx.goal, ctx.feedback, stats, summary, key, items
    )
    await ctx.artifact("digest.md", digest, media_type="text/markdown")
    await ctx.progress(1.0, "digest written")
    return {
        "summary": " ".join(s["text"] for s in summary),
        "sentences": summary,
        "key_phrases": key,
        "outline": items,
        "documents": [
            {k: s[k] for k in ("name", "title", "words", "reading_minutes", "sentences")}
            for s in stats
        ],
        "digest": "digest.md",
    }
