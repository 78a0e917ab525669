"""`doc-digest`: answers about documents from their text alone, or a standard digest.

Reads plain text, markdown and HTML, with the standard library only (no LLM, no network).
The goal picks the answer (see `_doc_goal`): a summary, key phrases, the outline, reading
statistics, what the text says about a topic, mentions of a term, the dates, numbers, names,
action items or questions in it, a comparison of two documents, or a question the text
answers. Goals it cannot serve honestly (translate, write, judge, compute, look up) and
inputs that are not prose are declined before any work; a goal that could mean either of
several documents asks which. Every answer comes with the standard digest: a summary of
3, 5 or 8 stand-alone sentences (fast, balanced, thorough), key phrases, outline, statistics.

Documents may also come from a tool of an MCP server the input names (`input.sources`,
see `_doc_mcp`): the only network the agent uses, each call a journaled step. When the
deployment configures the model `default`, the model reads free-form goals onto the same
requests (`_doc_mapping`), checked before use; answers still come from the text alone.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from pydantic import BaseModel, Field

from bureau import SLA, Context, Decline, agent
from bureau.agents._doc_answer import find_answer, missing_terms, prose, question_terms, result_for
from bureau.agents._doc_find import proper_nouns
from bureau.agents._doc_goal import Request, decline, out_of_scope, read_goal
from bureau.agents._doc_mapping import read_goal_with_model
from bureau.agents._doc_mcp import MAX_SOURCES, DocumentSource, read_mcp_sources
from bureau.agents._doc_phrases import key_phrases
from bureau.agents._doc_report import write_digest
from bureau.agents._doc_sources import (
    Source,
    collect_sources,
    describe,
    documents_of,
    keep,
    named_in,
    select,
)
from bureau.agents._inputs import InputFile
from bureau.agents._summarize import outline, pick, sentences_of
from bureau.agents._text import split_sentences, words

SENTENCES = {"fast": 3, "balanced": 5, "thorough": 8}
PHRASES = {"fast": 5, "balanced": 8, "thorough": 12}
WORDS_PER_MINUTE = 230


class DocDigestInput(BaseModel):
    """Send documents (text, markdown, HTML) as files or inline text, or name a tool of an
    MCP server whose result holds them (`sources`); the goal says what to answer: a summary
    ("summarise in 3 sentences"), key phrases, the outline, reading statistics, "what does
    it say about X", "find mentions of X", the dates, numbers, names, action items or
    questions in the text, "compare the two documents", or a question the text answers.
    CSV tables, JSON and binary data are not read."""

    text: str | None = Field(default=None, description="a document's text (plain, markdown, HTML)")
    files: list[InputFile] = Field(
        default_factory=list, description="text, markdown or HTML files to read together"
    )
    sources: list[DocumentSource] = Field(
        default_factory=list,
        max_length=MAX_SOURCES,
        description=(
            'tools of MCP servers to read documents from, e.g. [{"mcp": {"url": '
            '"https://docs.example.com/mcp", "tool": "search", "arguments": {"query": "heat '
            'pumps"}}}]: each tool is called once; its text content and embedded text '
            "resources are the documents"
        ),
    )
    max_sentences: int | None = Field(
        default=None, ge=1, le=50, description="summary length; default by profile (3/5/8)"
    )
    interactive: bool = Field(
        default=True,
        description="false: never ask which document the goal means; read every candidate",
    )


def extract(sources: list[Source]) -> list[dict[str, Any]]:
    """Per-document statistics; raises `Decline` when no document has readable words."""
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
        raise Decline("the documents hold no readable text (only markup or whitespace)")
    return stats


def summarize(sources: list[Source], goal: str, count: int) -> list[dict[str, str]]:
    """The summary sentences, in reading order, each with its document's name."""
    documents = documents_of(sources)
    chosen = pick(sentences_of(documents), goal, count)
    return [{"document": documents[s.document].name, "text": s.text} for s in chosen]


def phrases(sources: list[Source], limit: int) -> list[str]:
    """Key phrases over all documents (headings included)."""
    texts = [b.text for d in documents_of(sources) for b in d.blocks]
    return key_phrases(texts, limit, proper_nouns(documents_of(sources)))


def outline_of(sources: list[Source]) -> list[dict[str, object]]:
    """The documents' outline (see `_summarize.outline`)."""
    return outline(documents_of(sources))


def answer_goal(
    request: Request, sources: list[Source], digest: dict[str, Any], limit: int
) -> dict[str, Any]:
    """The structured result for the goal (see `_doc_answer.result_for`)."""
    return result_for(request, documents_of(sources), digest, limit)


async def _pair(
    ctx: Context, sources: list[Source], goal: str, interactive: bool
) -> tuple[list[Source], str]:
    """The two documents to compare: named in the goal, the only two sent, or asked for."""
    named = named_in(goal, sources)
    if len(named) == 2:
        return keep(sources, named), ""
    if len(sources) == 2:
        return sources, ""
    if len(sources) < 2:
        raise decline(
            "comparing needs two documents and it received one; send both in input.files, "
            "or ask what this one says about a topic"
        )
    pairs = {f"{a} vs {b}": [a, b] for a, b in combinations([s[0] for s in sources], 2)}
    if not interactive:
        first = next(iter(pairs))
        return keep(sources, pairs[first]), f"The goal named no two documents; I compared {first}."
    reply = await ctx.ask(
        f"Which two documents should I compare? Options: {'; '.join(pairs)}.",
        schema={"type": "string", "enum": list(pairs)},
    )
    if str(reply) not in pairs:
        raise Decline(f"the answer {reply!r} is not one of {list(pairs)}")
    return keep(sources, pairs[str(reply)]), f"You chose {reply}."


async def focus(
    ctx: Context, request: Request, sources: list[Source], interactive: bool
) -> tuple[list[Source], str]:
    """The documents the goal is about, asking the consumer when it could mean several."""
    goal = ctx.goal.replace(request.subject, " ") if request.subject else ctx.goal
    if request.kind == "compare":
        return await _pair(ctx, sources, goal, interactive)
    chosen, ambiguous = select(goal, sources)
    if not ambiguous:
        return keep(sources, chosen), ""
    if not interactive:
        listed = ", ".join(ambiguous)
        return keep(sources, ambiguous), f"The goal could mean any of {listed}; I read them all."
    reply = await ctx.ask(
        f"Which document do you mean? Options: {', '.join(ambiguous)}.",
        schema={"type": "string", "enum": ambiguous},
    )
    if str(reply) not in ambiguous:
        raise Decline(f"the answer {reply!r} is not one of the documents {ambiguous}")
    return keep(sources, [str(reply)]), f"You chose {reply}."


def answerable(request: Request, sources: list[Source]) -> Request:
    """The request to serve; raises `Decline` for a question the documents do not answer.

    A question with no content words ("what is it?") is served as a summary.
    """
    if request.kind != "question":
        return request
    if not question_terms(request.subject):
        return Request("summary")
    documents = documents_of(sources)
    if find_answer(documents, request.subject) is None:
        absent = ", ".join(missing_terms(documents, request.subject)) or "enough of its words"
        raise decline(
            f"the documents do not answer “{request.subject}” (no sentence uses {absent}), "
            "and it answers only from the text, never from outside knowledge"
        )
    return request


@agent(
    "doc-digest",
    version="1.3.0",
    description=(
        "Answers from text, markdown or HTML documents only (sent, or read from an MCP "
        "server's tool): summary, key phrases, outline, "
        "reading statistics, what the text says about X, mentions of a term, dates, numbers, "
        "names, action items, questions, a comparison of two documents; declines the rest"
    ),
    capabilities=["summarization", "documents", "key-phrases", "extraction", "comparison"],
    input_schema=DocDigestInput,
    price="0.01",
    sla=SLA(expected_seconds=3, max_seconds=60),
    models=["default"],
    models_required=False,
)
async def doc_digest(ctx: Context) -> dict[str, Any]:
    """Answer the goal from the documents, with the standard digest alongside."""
    params: DocDigestInput = ctx.input
    fetched: list[InputFile] = []
    noted: list[dict[str, str]] = []
    origins: list[dict[str, Any]] = []
    if params.sources:
        # a goal out of scope is declined before any server is called
        if not ctx.llm.available():
            read_goal(ctx.goal)
        elif reason := out_of_scope(ctx.goal):
            raise decline(reason)
        taken = {f.name.lower() for f in params.files} | {"input.txt"}
        fetched, noted, origins = await read_mcp_sources(ctx, params.sources, taken)
        if not fetched and not params.files and not (params.text or "").strip():
            raise Decline(f"the MCP tools returned no text to digest. {describe(noted)}")
    sources, skipped = collect_sources([*params.files, *fetched], params.text)
    skipped = noted + skipped
    request, reading = await read_goal_with_model(ctx, sources)
    sources, note = await focus(ctx, request, sources, params.interactive)
    request = answerable(request, sources)
    count = params.max_sentences or request.count or SENTENCES.get(ctx.profile, 5)
    limit = PHRASES.get(ctx.profile, 8)
    await ctx.plan(
        [
            "extract the text",
            "score and pick summary sentences",
            "extract key phrases",
            "build the outline",
            f"answer the goal ({request.kind.replace('_', ' ')})",
            "write the digest",
        ]
    )
    stats = await ctx.step("extract", extract, sources)
    total = sum(s["words"] for s in stats)
    await ctx.progress(0.2, f"read {len(stats)} document(s), {total} words")
    topic = f"{ctx.goal} {ctx.feedback or ''}"
    summary = await ctx.step("summarize", summarize, sources, topic, count)
    await ctx.progress(0.4, f"picked {len(summary)} sentences")
    key = await ctx.step("key-phrases", phrases, sources, limit)
    await ctx.progress(0.55, f"found {len(key)} key phrases")
    items = await ctx.step("outline", outline_of, sources)
    await ctx.progress(0.7, f"outlined {len(items)} sections")
    digest = {"stats": stats, "summary": summary, "key_phrases": key, "outline": items}
    result = await ctx.step("answer", answer_goal, request, sources, digest, limit)
    answer = " ".join(part for part in (prose(result), note, describe(skipped)) if part)
    await ctx.progress(0.85, f"answered the goal ({request.kind.replace('_', ' ')})")
    report = await ctx.step(
        "digest", write_digest, ctx.goal, ctx.feedback, answer, result, digest, origins
    )
    await ctx.artifact("digest.md", report, media_type="text/markdown")
    await ctx.progress(1.0, "digest written")
    return {
        "answer": answer,
        "result": result,
        "summary": " ".join(s["text"] for s in summary),
        "sentences": summary,
        "key_phrases": key,
        "outline": items,
        "documents": [
            {k: s[k] for k in ("name", "title", "words", "reading_minutes", "sentences")}
            for s in stats
        ],
        "skipped": skipped,
        "sources": origins,
        "goal_reading": reading,
        "digest": "digest.md",
    }
