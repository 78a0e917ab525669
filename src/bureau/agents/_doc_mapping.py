"""Reading a doc-digest goal with a model, when the deployment configures one.

The model maps the goal's words onto a `Request` (one of the kinds of answer doc-digest
computes, and its subject); the answer is still computed from the text by the
deterministic code. `mapped_request` checks the mapping: a known kind, a subject taken from
the goal's own words, a summary length doc-digest allows; a mapping that fails is set aside
and the goal is read by the rules (`_doc_goal.read_goal`). A goal the model finds out of
scope is declined with its reason; work beyond reporting what the text says (translating,
writing, judging, arithmetic, looking things up) is declined by the rules before the
model is asked.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from bureau import Context
from bureau.agents._doc_goal import Request, decline, out_of_scope, read_goal
from bureau.agents._doc_sources import Source, documents_of
from bureau.agents._text import terms

KINDS = {
    "summary": "a summary of sentences from the text (`count`: how many, if the goal says)",
    "key_phrases": "the key phrases",
    "outline": "the outline (headings)",
    "statistics": "reading statistics (words, sentences, reading time)",
    "about": "what the text says about a topic (`subject`: the topic)",
    "mentions": "every mention of a term (`subject`: the term)",
    "dates": "the dates in the text",
    "numbers": "the numbers and figures in the text",
    "names": "the names of people, organisations and places",
    "actions": "the action items (who does what)",
    "questions": "the open questions the text raises",
    "compare": "a comparison of two documents",
    "question": "a question the text itself answers (`subject`: the question)",
}
NEEDS_SUBJECT = ("about", "mentions")
MAX_SUBJECT = 200
INSTRUCTIONS = (
    "You map a request about some documents onto the one kind of answer a deterministic "
    "reader computes from their text. You answer nothing yourself. Kinds:\n"
    + "\n".join(f"- {kind}: {what}" for kind, what in KINDS.items())
    + "\nA subject is the goal's own words for the topic or term, not a paraphrase. If the "
    "request needs more than reporting what the text says (translating, writing something "
    "new, judging tone or quality, arithmetic on data, looking facts up elsewhere), set "
    "`answerable` false and say why in `reason`."
)


class DocGoalMapping(BaseModel):
    """A goal mapped onto a doc-digest request (see `INSTRUCTIONS`); checked before use."""

    answerable: bool
    reason: str = ""
    kind: str | None = None
    subject: str = ""
    count: int | None = None


class Unmappable(ValueError):
    """The model's mapping is not a request doc-digest can serve as the goal asks."""


def mapped_request(mapping: DocGoalMapping, goal: str) -> Request:
    """The mapping as a `Request`; raises `Unmappable` for an unknown kind, a missing
    subject or one not in the goal's words, or a summary length out of range."""
    kind = mapping.kind or ""
    if kind not in KINDS:
        raise Unmappable(f"kind {kind!r} is not one of {sorted(KINDS)}")
    subject = " ".join(mapping.subject.split()).strip(" \"'“”`?.!")
    if kind in NEEDS_SUBJECT:
        said = set(terms(subject))
        if not said or len(subject) > MAX_SUBJECT:
            raise Unmappable(f"a {kind} answer needs a subject from the goal")
        if not said <= set(terms(goal)):
            raise Unmappable(f"the subject {subject!r} is not in the goal's words")
    elif kind == "question":
        subject = goal.strip()  # the question as asked, never a rephrasing
    else:
        subject = ""
    count = mapping.count if kind == "summary" else None
    if count is not None and not 1 <= count <= 50:
        raise Unmappable(f"a summary of {count} sentences is out of range (1 to 50)")
    return Request(kind, subject, count)


def describe_documents(sources: list[Source]) -> str:
    lines = [
        f"- {d.name}" + (f" ({d.title})" if d.title != d.name else "")
        for d in documents_of(sources)
    ]
    return "Documents:\n" + "\n".join(lines)


async def read_goal_with_model(
    ctx: Context, sources: list[Source]
) -> tuple[Request, dict[str, Any]]:
    """The goal as a `Request`, and how it was read: `{"by": "model"}`, or `{"by":
    "rules"}` (with why, when the model's mapping was set aside). Without a configured
    model, or with an empty goal, this is `read_goal`. Raises `Decline` as `read_goal`
    does, and with the model's reason when the model finds the goal out of scope."""
    goal = ctx.goal.strip()
    if not goal or not ctx.llm.available():
        return read_goal(ctx.goal), {"by": "rules"}
    if reason := out_of_scope(goal):
        raise decline(reason)
    from pydantic_ai.exceptions import UnexpectedModelBehavior

    prompt = f"{describe_documents(sources)}\n\nRequest: {goal}"
    try:
        chat = await ctx.llm.chat(prompt, instructions=INSTRUCTIONS, output=DocGoalMapping)
    except UnexpectedModelBehavior as exc:  # journaled, so the same on every replay
        return read_goal(ctx.goal), {"by": "rules", "model_failed": str(exc)}
    mapping: DocGoalMapping = chat.output
    if not mapping.answerable:
        # the model read the goal and found it beyond reporting the text: the rules, which
        # match words, would only guess at it
        raise decline(
            mapping.reason.strip().rstrip(".")
            or f"it could not read {goal!r} as one of the questions it answers"
        )
    try:
        return mapped_request(mapping, goal), {"by": "model"}
    except Unmappable as exc:
        return read_goal(ctx.goal), {"by": "rules", "model_mapping_rejected": str(exc)}
