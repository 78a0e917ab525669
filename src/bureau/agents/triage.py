"""`support-triage`: classifies a support ticket, drafts a reply, and hands unsure ones to a person.

Needs a model (`@agent(models=["default"])`, enabled by `BUREAU_LLM_MODELS`). The model
returns a structured triage: a category from a fixed list, a priority, its confidence and a
draft reply. At or above the confidence threshold (input `threshold`, default 0.7) the
triage stands as the model made it; below it the task asks (`ctx.ask`) a person to approve
the draft, edit it, or answer themselves, and goes `input-required` until they do. The
deliverable says who decided: the model or a person.
"""

from __future__ import annotations

import re
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field

from bureau import SLA, Context, Decline, Fatal, agent

Category = Literal[
    "billing", "bug", "account", "how-to", "feature-request", "outage", "complaint", "other"
]
Priority = Literal["low", "normal", "high", "urgent"]
CATEGORIES: tuple[str, ...] = get_args(Category)
PRIORITIES: tuple[str, ...] = get_args(Priority)
DEFAULT_THRESHOLD = 0.7
APPROVALS = frozenset("approve approved ok okay yes send lgtm".split())
INSTRUCTIONS = (
    "You triage customer support tickets. Choose the one category that fits best and a "
    "priority (urgent: service down or data at risk for the customer; high: blocked or "
    "charged wrongly; normal: a problem with a workaround or a question; low: feedback, "
    "requests). Write a short, polite draft reply to the customer that promises nothing "
    "the ticket does not justify. `confidence` (0 to 1) is how sure you are of the category "
    "and priority and that the draft can be sent as is; be honest, a person reviews "
    "unsure ones."
)


class TriageInput(BaseModel):
    """A support ticket to triage; the goal may hold the ticket instead of `ticket`."""

    ticket: str | None = Field(default=None, description="the ticket's text (default: the goal)")
    customer: str | None = Field(default=None, description="who wrote it (name or plan)")
    product: str | None = Field(default=None, description="the product it is about")
    threshold: float = Field(
        default=DEFAULT_THRESHOLD,
        ge=0,
        le=1,
        description="below this confidence a person approves, edits or answers the draft",
    )


class Triage(BaseModel):
    """The model's triage of one ticket."""

    category: Category
    priority: Priority
    confidence: float = Field(ge=0, le=1)
    draft_reply: str = Field(description="the reply to send to the customer")
    rationale: str = Field(default="", description="one sentence on why")


REVIEW_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "object",
            "properties": {
                "decision": {"type": "string", "enum": ["approve", "edit", "answer"]},
                "reply": {"type": "string", "minLength": 1},
                "category": {"type": "string", "enum": list(CATEGORIES)},
                "priority": {"type": "string", "enum": list(PRIORITIES)},
            },
            "required": ["decision"],
            "additionalProperties": False,
        },
    ]
}


def ticket_of(params: TriageInput, goal: str) -> str:
    """The ticket's text: `input.ticket`, else the goal; raises `Decline` when empty."""
    text = (params.ticket or goal).strip()
    if not text:
        raise Decline("no ticket to triage: send its text as input.ticket or as the goal")
    return text


def prompt_of(ticket: str, params: TriageInput) -> str:
    about = [
        f"{label}: {value}"
        for label, value in (("Customer", params.customer), ("Product", params.product))
        if value
    ]
    return "\n".join([*about, f"Categories: {', '.join(CATEGORIES)}", "Ticket:", ticket])


def review_question(triage: Triage, threshold: float) -> str:
    return (
        f"Please review this triage before the reply goes out: the model is "
        f"{triage.confidence:.0%} sure (below the {threshold:.0%} threshold) that the ticket "
        f"is {triage.category}, priority {triage.priority}. {triage.rationale}".rstrip()
        + f"\n\nDraft reply:\n{triage.draft_reply}\n\n"
        'Reply "approve" to send the draft as it is, or write the reply to send instead. '
        'As JSON, {"decision": "approve" | "edit" | "answer", "reply": "...", "category": '
        '"...", "priority": "..."} also changes the category or the priority.'
    )


def decision_of(reply: Any, triage: Triage) -> dict[str, Any]:
    """What the person decided: the decision, the reply to send, category and priority."""
    decided: dict[str, Any] = {
        "decision": "approve",
        "reply": triage.draft_reply,
        "category": triage.category,
        "priority": triage.priority,
    }
    if isinstance(reply, dict):
        decided["decision"] = reply["decision"]
        decided.update({k: reply[k] for k in ("reply", "category", "priority") if k in reply})
        if decided["decision"] != "approve" and "reply" not in reply:
            raise Decline(f"the decision {reply['decision']!r} came without the reply to send")
    else:
        text = str(reply).strip()
        if re.sub(r"[^a-z ]", "", text.lower()).strip() not in APPROVALS:
            decided.update(decision="edit", reply=text)
    if not str(decided["reply"]).strip():
        raise Decline("the draft approved is empty: reply with the text to send instead")
    return decided


@agent(
    "support-triage",
    version="1.0.0",
    description=(
        "Triages a support ticket: category, priority and a draft reply; below a confidence "
        "threshold a person approves, edits or answers it. Needs a model provider"
    ),
    capabilities=["support", "triage", "classification", "human-in-the-loop", "llm"],
    input_schema=TriageInput,
    price="0.01",
    sla=SLA(expected_seconds=10, max_seconds=86400),
    models=["default"],
)
async def support_triage(ctx: Context) -> dict[str, Any]:
    """Classify the ticket and draft a reply; a person decides when the model is unsure."""
    params: TriageInput = ctx.input
    ticket = ticket_of(params, ctx.goal)
    await ctx.plan(["classify the ticket and draft a reply", "hand off to a person if unsure"])
    from pydantic_ai.exceptions import UnexpectedModelBehavior

    try:
        result = await ctx.llm.chat(
            prompt_of(ticket, params), instructions=INSTRUCTIONS, output=Triage
        )
    except UnexpectedModelBehavior as exc:  # journaled: a retry would replay the same misfit
        raise Fatal(f"the model gave no triage in the expected form: {exc}") from exc
    triage: Triage = result.output
    await ctx.progress(0.6, f"{triage.category}, {triage.priority} ({triage.confidence:.0%} sure)")
    decided = {
        "decision": "auto",
        "reply": triage.draft_reply,
        "category": triage.category,
        "priority": triage.priority,
    }
    decided_by = "model"
    if triage.confidence < params.threshold or not triage.draft_reply.strip():
        reply = await ctx.ask(review_question(triage, params.threshold), schema=REVIEW_SCHEMA)
        decided = decision_of(reply, triage)
        decided_by = "person"
    await ctx.progress(1.0, f"decided by the {decided_by}")
    return {
        "category": decided["category"],
        "priority": decided["priority"],
        "reply": decided["reply"],
        "decided_by": decided_by,
        "decision": decided["decision"],
        "confidence": triage.confidence,
        "threshold": params.threshold,
        "model_triage": triage.model_dump(),
        "customer": params.customer,
        "product": params.product,
    }
