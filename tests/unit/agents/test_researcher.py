"""researcher with a scripted model: citations checked against the passages, quotes taken
from the documents, honest declines, and the question asked below the confidence floor."""

from __future__ import annotations

from typing import Any

from bureau.agents import researcher
from bureau.agents._doc_passages import MAX_PASSAGE_WORDS, MAX_SHOWN, passages_of, shown_to_model
from bureau.testing import ScriptedModel, run_agent, tool_call
from tests.unit.agents.sample_data import GRID_HTML, HEAT_PUMPS_MD

QUESTION = "How much do households save on heating with a heat pump?"
SAVINGS = "Households cut heating costs by 30 to 50 percent compared with oil boilers."
PEAK = "Grid operators in the UK expect peak demand to rise by 20 percent by 2035."


def documents() -> dict[str, Any]:
    return {
        "files": [
            {"name": "heat-pumps.md", "content": HEAT_PUMPS_MD},
            {"name": "grid.html", "content": GRID_HTML},
        ]
    }


def answer(
    claims: list[tuple[str, list[str]]],
    confidence: float = 0.9,
    text: str = "Heating costs fall by 30 to 50 percent.",
    **extra: Any,
) -> Any:
    cited = sorted({c for _, ids in claims for c in ids})
    return tool_call(
        "final_result",
        answered=True,
        answer=text,
        claims=[{"statement": s, "citations": ids} for s, ids in claims],
        citations=cited,
        confidence=confidence,
        **extra,
    )


def flat(text: str) -> str:
    return " ".join(text.split())


async def test_the_answer_cites_passages_quoted_from_the_documents() -> None:
    model = ScriptedModel(answer([(SAVINGS, ["p2"]), (PEAK, ["p6"])]))
    result = await run_agent(researcher, QUESTION, documents(), models={"default": model})
    assert result.status == "completed", result.error
    deliverable = result.deliverable
    assert deliverable["answer"] == "Heating costs fall by 30 to 50 percent."
    assert deliverable["decided_by"] == "model" and deliverable["confidence"] == 0.9
    cited = {c["id"]: c for c in deliverable["citations"]}
    assert set(cited) == {"p2", "p6"}
    # the quotes are the documents' text, not the model's words
    assert cited["p2"]["document"] == "heat-pumps.md"
    assert cited["p2"]["section"] == "Performance in winter"
    assert cited["p2"]["text"] in flat(HEAT_PUMPS_MD)
    assert "households cut heating costs by 30 to 50 percent" in cited["p2"]["text"]
    assert cited["p6"]["document"] == "grid.html" and PEAK in cited["p6"]["text"]
    # the model was shown every passage, numbered, with the question
    prompt = str(model.requests[0][0].parts[0].content)  # type: ignore[attr-defined]
    assert prompt.startswith(f"Question: {QUESTION}")
    assert "[p2] (heat-pumps.md, Performance in winter) Older heat pumps" in prompt
    report = result.artifacts["answer.md"].decode()
    assert f"> {cited['p2']['text']}" in report and "[p2]" in report
    steps = [e[1]["name"] for e in result.events if e[0] == "step.completed"]
    assert steps == ["passages", "llm#1"]


async def test_a_citation_to_no_passage_is_sent_back_once_then_fixed() -> None:
    model = ScriptedModel(
        answer([(SAVINGS, ["p2", "p42"])]),
        answer([(SAVINGS, ["p2"])]),
    )
    result = await run_agent(researcher, QUESTION, documents(), models={"default": model})
    assert result.status == "completed", result.error
    assert model.calls == 2
    retry = str(model.requests[1][0].parts[0].content)  # type: ignore[attr-defined]
    assert "'p42', which is not one of the passages" in retry
    assert [c["id"] for c in result.deliverable["citations"]] == ["p2"]


async def test_an_answer_that_cannot_be_supported_is_declined_and_not_delivered() -> None:
    uncited = answer([(SAVINGS, [])])
    wrong_passage = answer([(SAVINGS, ["p3"])])  # p3 is about defrost cycles
    model = ScriptedModel(uncited, wrong_passage)
    result = await run_agent(researcher, QUESTION, documents(), models={"default": model})
    assert result.status == "rejected"
    assert model.calls == 2
    retry = str(model.requests[1][0].parts[0].content)  # type: ignore[attr-defined]
    assert f"the claim {SAVINGS!r} cites no passage" in retry
    assert "(p3) do not state it" in (result.error or "")
    assert "nothing was delivered or billed" in (result.error or "")
    assert "answer.md" not in result.artifacts


async def test_documents_that_do_not_answer_are_declined_with_what_they_lack() -> None:
    model = ScriptedModel(
        tool_call(
            "final_result",
            answered=False,
            confidence=0.0,
            missing="nothing about heat pump prices in Japan",
        )
    )
    result = await run_agent(
        researcher, "What do heat pumps cost in Japan?", documents(), models={"default": model}
    )
    assert result.status == "rejected"
    assert "nothing about heat pump prices in Japan" in (result.error or "")
    assert model.calls == 1 and not result.artifacts


async def test_low_confidence_asks_whether_to_deliver_and_records_who_decided() -> None:
    def script() -> ScriptedModel:
        return ScriptedModel(answer([(SAVINGS, ["p2"])], confidence=0.3))

    waiting = await run_agent(researcher, QUESTION, documents(), models={"default": script()})
    assert waiting.status == "input-required" and waiting.question is not None
    assert "confidence 0.30, below 0.50" in waiting.question["text"]
    assert waiting.question["schema"]["enum"] == ["deliver", "decline"]
    model = script()
    delivered = await run_agent(
        researcher, QUESTION, documents(), models={"default": model}, replies=["deliver"]
    )
    assert delivered.status == "completed" and delivered.deliverable["decided_by"] == "person"
    assert model.calls == 1  # the answer was replayed from the journal after the reply
    refused = await run_agent(
        researcher, QUESTION, documents(), models={"default": script()}, replies=["decline"]
    )
    assert refused.status == "rejected"
    unattended = await run_agent(
        researcher,
        QUESTION,
        {**documents(), "interactive": False},
        models={"default": script()},
    )
    assert unattended.status == "rejected" and "only in part" in (unattended.error or "")
    strict = await run_agent(
        researcher,
        QUESTION,
        {**documents(), "min_confidence": 0.95},
        models={"default": ScriptedModel(answer([(SAVINGS, ["p2"])], confidence=0.9))},
    )
    assert strict.status == "input-required"


async def test_no_documents_or_no_question_is_declined_before_the_model_is_called() -> None:
    model = ScriptedModel()
    empty = await run_agent(researcher, QUESTION, {"files": []}, models={"default": model})
    assert empty.status == "rejected" and "no text" in (empty.error or "")
    table = {"files": [{"name": "sales.csv", "content": "a,b\n1,2\n3,4\n"}]}
    data = await run_agent(researcher, QUESTION, table, models={"default": model})
    assert data.status == "rejected" and "researcher reads prose" in (data.error or "")
    silent = await run_agent(researcher, "  ", documents(), models={"default": model})
    assert silent.status == "rejected" and "needs a question" in (silent.error or "")
    assert model.calls == 0


async def test_without_a_model_provider_it_fails_saying_so() -> None:
    result = await run_agent(researcher, QUESTION, documents())
    assert result.status == "failed"
    assert "no model provider is configured" in (result.error or "")


def test_long_paragraphs_are_cut_between_sentences_and_ids_run_across_documents() -> None:
    sentence = "Heat pumps need well insulated walls to work in winter. "
    long_text = "# Notes\n\n" + sentence * 40 + "\n\nA short closing paragraph."
    passages = passages_of([("a.md", long_text, "markdown"), ("b.txt", "Second file.", "text")])
    assert [p["id"] for p in passages] == [f"p{i}" for i in range(1, len(passages) + 1)]
    pieces = [p for p in passages if p["document"] == "a.md"][:-1]
    assert len(pieces) > 1 and all(len(p["text"].split()) <= MAX_PASSAGE_WORDS for p in pieces)
    assert " ".join(p["text"] for p in pieces) == (sentence * 40).strip()
    assert passages[-1] == {
        "id": f"p{len(passages)}",
        "document": "b.txt",
        "section": "",
        "text": "Second file.",
    }


def test_too_many_passages_show_the_model_those_closest_to_the_question() -> None:
    filler = "\n\n".join(f"Paragraph {i} talks about gardening and roses." for i in range(100))
    text = filler + "\n\nThe boiler was replaced by a heat pump in March."
    passages = passages_of([("long.txt", text, "text")])
    shown = shown_to_model(passages, "When was the heat pump installed?")
    assert len(shown) == MAX_SHOWN
    assert shown[-1]["text"].startswith("The boiler was replaced")
    ids = [int(p["id"][1:]) for p in shown]
    assert ids == sorted(ids)  # reading order
