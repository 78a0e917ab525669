"""support-triage with a scripted model: the model decides when it is sure enough; below
the threshold a person approves, edits or answers, and the deliverable says who decided."""

from __future__ import annotations

from typing import Any

from bureau.agents import support_triage
from bureau.agents.triage import CATEGORIES
from bureau.testing import ScriptedModel, run_agent, tool_call

TICKET = "I was charged twice for my March invoice, please refund one of the payments."
DRAFT = "Sorry about the double charge: we are refunding the second payment today."


def triage(confidence: float, category: str = "billing", **extra: Any) -> Any:
    return tool_call(
        "final_result",
        category=category,
        priority="high",
        confidence=confidence,
        draft_reply=DRAFT,
        rationale="A duplicate charge.",
        **extra,
    )


async def test_a_confident_triage_is_decided_by_the_model() -> None:
    model = ScriptedModel(triage(0.92))
    result = await run_agent(
        support_triage,
        "Triage this",
        {"ticket": TICKET, "customer": "Ada (Pro plan)", "product": "Invoicing"},
        models={"default": model},
    )
    assert result.status == "completed", result.error
    assert result.question is None and "question" not in result.event_types()
    deliverable = result.deliverable
    assert deliverable["decided_by"] == "model" and deliverable["decision"] == "auto"
    assert (deliverable["category"], deliverable["priority"]) == ("billing", "high")
    assert deliverable["reply"] == DRAFT and deliverable["threshold"] == 0.7
    prompt = str(model.requests[0][0].parts[0].content)  # type: ignore[attr-defined]
    assert "Customer: Ada (Pro plan)" in prompt and "Product: Invoicing" in prompt
    assert prompt.endswith(TICKET) and ", ".join(CATEGORIES) in prompt


async def test_below_the_threshold_a_person_approves_the_draft() -> None:
    asked = await run_agent(support_triage, TICKET, models={"default": ScriptedModel(triage(0.55))})
    assert asked.status == "input-required" and asked.question is not None
    text = asked.question["text"]
    assert "55% sure (below the 70% threshold)" in text and DRAFT in text
    model = ScriptedModel(triage(0.55))
    done = await run_agent(support_triage, TICKET, models={"default": model}, replies=["Approve."])
    assert done.status == "completed", done.error
    assert done.deliverable["decided_by"] == "person"
    assert done.deliverable["decision"] == "approve" and done.deliverable["reply"] == DRAFT
    assert done.deliverable["confidence"] == 0.55
    assert model.calls == 1  # the triage was replayed from the journal, not asked again


async def test_a_person_can_edit_the_reply_or_change_the_category() -> None:
    edited = await run_agent(
        support_triage,
        TICKET,
        models={"default": ScriptedModel(triage(0.4))},
        replies=["We have refunded the duplicate payment; it shows within 3 days."],
    )
    assert edited.deliverable["decision"] == "edit"
    assert edited.deliverable["reply"].startswith("We have refunded the duplicate")
    assert edited.deliverable["category"] == "billing"
    answered = await run_agent(
        support_triage,
        TICKET,
        models={"default": ScriptedModel(triage(0.4))},
        replies=[
            {"decision": "answer", "reply": "Our team will call you.", "category": "complaint"}
        ],
    )
    deliverable = answered.deliverable
    assert (deliverable["decision"], deliverable["category"]) == ("answer", "complaint")
    assert deliverable["reply"] == "Our team will call you."
    assert deliverable["model_triage"]["category"] == "billing"  # what the model said, kept


async def test_the_threshold_is_an_input() -> None:
    strict = await run_agent(
        support_triage,
        TICKET,
        {"threshold": 0.95},
        models={"default": ScriptedModel(triage(0.92))},
    )
    assert strict.status == "input-required"
    lenient = await run_agent(
        support_triage,
        TICKET,
        {"threshold": 0.3},
        models={"default": ScriptedModel(triage(0.4))},
    )
    assert lenient.status == "completed" and lenient.deliverable["decided_by"] == "model"


async def test_a_category_off_the_list_is_sent_back_to_the_model() -> None:
    model = ScriptedModel(triage(0.9, category="sales"), triage(0.9))
    result = await run_agent(support_triage, TICKET, models={"default": model})
    assert result.status == "completed" and result.deliverable["category"] == "billing"
    assert model.calls == 2


async def test_a_model_that_never_fits_the_format_fails_the_task_without_retrying() -> None:
    model = ScriptedModel(triage(0.9, category="sales"), triage(0.9, category="sales"))
    result = await run_agent(support_triage, TICKET, models={"default": model})
    assert result.status == "failed" and "no triage in the expected form" in (result.error or "")
    assert result.executions == 1 and model.calls == 2


async def test_no_ticket_is_declined_and_no_provider_fails_clearly() -> None:
    model = ScriptedModel()
    empty = await run_agent(support_triage, " ", models={"default": model})
    assert empty.status == "rejected" and "no ticket" in (empty.error or "")
    assert model.calls == 0
    unconfigured = await run_agent(support_triage, TICKET)
    assert unconfigured.status == "failed"
    assert "no model provider is configured" in (unconfigured.error or "")
