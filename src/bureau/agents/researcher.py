"""`researcher`: answers a question from the documents it is sent, citing the passages used.

Needs a model (`@agent(models=["default"])`, enabled by `BUREAU_LLM_MODELS`). The documents
(text, markdown, HTML; read as doc-digest reads them) are split into numbered passages, a
journaled step; the model reads the passages and the question and returns a structured
answer: claims, each citing passage ids, and a confidence. Bureau then checks the answer
against the passages, not the model's word: every cited id must be a passage it was shown,
every claim must cite one, and the cited passages must hold a good part of the claim's
words; otherwise the model is asked once more, then the task is declined.
The deliverable quotes the cited passages from the documents themselves. When the
documents do not answer the question it declines (nothing is billed); when the model is
unsure (confidence below `min_confidence`) it asks whether to deliver the answer anyway.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from bureau import SLA, Context, Decline, Fatal, agent
from bureau.agents._doc_passages import Passage, as_prompt, passages_of, shown_to_model
from bureau.agents._doc_sources import collect_sources, describe
from bureau.agents._inputs import InputFile
from bureau.agents._text import terms

INSTRUCTIONS = (
    "You answer a question from the numbered passages you are given, and from nothing "
    "else: no outside knowledge, no guesses. Write the answer in a few sentences, and split "
    "it into claims: each claim is one statement of the answer with the ids of the passages "
    'that state it (e.g. ["p3"]). `citations` lists every passage id the answer uses. If '
    "the passages do not answer the question, set `answered` to false, leave the answer, "
    "claims and citations empty, and say in `missing` what the passages lack. `confidence` "
    "(0 to 1) is how fully the cited passages support the whole answer."
)
PLAN = [
    "split the documents into numbered passages",
    "ask the model for an answer that cites the passages",
    "check every citation against the passages",
    "write the answer with the cited passages",
]


class ResearcherInput(BaseModel):
    """Documents (text, markdown or HTML) as files or inline text; the goal is the question.
    The answer cites the passages it comes from, quoted from the documents."""

    text: str | None = Field(default=None, description="a document's text (plain, markdown, HTML)")
    files: list[InputFile] = Field(
        default_factory=list, description="text, markdown or HTML files to answer from"
    )
    min_confidence: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="below this confidence it asks whether to deliver the answer "
        "(or declines, when not interactive)",
    )
    interactive: bool = Field(
        default=True, description="false: never ask; decline an answer below min_confidence"
    )


class Claim(BaseModel):
    statement: str = Field(description="one statement of the answer")
    citations: list[str] = Field(description="ids of the passages that state it, e.g. ['p3']")


class ResearchAnswer(BaseModel):
    """The model's answer, before Bureau checks it."""

    answered: bool = Field(description="false when the passages do not answer the question")
    answer: str = Field(default="", description="the answer, from the passages only")
    claims: list[Claim] = Field(default_factory=list)
    citations: list[str] = Field(
        default_factory=list, description="every passage id the answer uses"
    )
    confidence: float = Field(ge=0, le=1, description="how fully the passages support it")
    missing: str = Field(default="", description="what the passages lack, if anything")


def _unsupported(claim: Claim, texts: dict[str, str]) -> bool:
    """True when the passages a claim cites share too few of its words to state it: fewer
    than a third of its content words (a citation to the wrong passage, typically)."""
    said = set(terms(claim.statement))
    cited = {t for c in claim.citations if c in texts for t in terms(texts[c])}
    return bool(said) and len(said & cited) * 3 < len(said)


def problems_of(answer: ResearchAnswer, shown: list[Passage]) -> list[str]:
    """Why the answer cannot be delivered as supported by the passages ([] when it can):
    no answer or no claim, a claim citing nothing, a citation to a passage it was not
    shown, or a claim whose cited passages do not hold its words."""
    texts = {p["id"]: p["text"] for p in shown}
    found = []
    if not answer.answer.strip():
        found.append("the answer is empty")
    if not answer.claims:
        found.append("the answer makes no claim with a citation")
    for claim in answer.claims:
        if not claim.citations:
            found.append(f"the claim {claim.statement!r} cites no passage")
        elif _unsupported(claim, texts):
            cited = ", ".join(claim.citations)
            found.append(f"the passages cited for {claim.statement!r} ({cited}) do not state it")
    cited_ids = [*answer.citations, *(c for claim in answer.claims for c in claim.citations)]
    for unknown in dict.fromkeys(c for c in cited_ids if c not in texts):
        found.append(f"it cites {unknown!r}, which is not one of the passages")
    return found


def cited_passages(answer: ResearchAnswer, passages: list[Passage]) -> list[Passage]:
    """The passages the answer cites, in reading order, with the documents' own text."""
    cited = {*answer.citations, *(c for claim in answer.claims for c in claim.citations)}
    return [p for p in passages if p["id"] in cited]


def write_report(
    question: str, answer: dict[str, Any], cited: list[Passage], decided_by: str
) -> str:
    """The answer in markdown: the claims with their citations, then the passages quoted."""
    lines = [f"# {question}", "", answer["answer"], "", "## Claims", ""]
    for claim in answer["claims"]:
        lines.append(f"- {claim['statement']} [{', '.join(claim['citations'])}]")
    lines += ["", "## Sources", ""]
    for passage in cited:
        where = " / ".join(part for part in (passage["document"], passage["section"]) if part)
        lines += [f"**[{passage['id']}]** {where}", "", f"> {passage['text']}", ""]
    confidence = f"Confidence {answer['confidence']:.2f}"
    note = " (delivered at the consumer's word)" if decided_by == "person" else ""
    lines.append(f"_{confidence}{note}._")
    return "\n".join(lines) + "\n"


async def _chat(ctx: Context, prompt: str) -> ResearchAnswer:
    """One structured answer of the model; raises `Fatal` when it gave none that fits
    (journaled, so retrying the task would replay the same misfit)."""
    from pydantic_ai.exceptions import UnexpectedModelBehavior

    try:
        chat = await ctx.llm.chat(prompt, instructions=INSTRUCTIONS, output=ResearchAnswer)
    except UnexpectedModelBehavior as exc:
        raise Fatal(f"the model gave no answer in the expected form: {exc}") from exc
    answer: ResearchAnswer = chat.output
    return answer


async def _ask_model(ctx: Context, question: str, shown: list[Passage]) -> ResearchAnswer:
    """The model's answer, checked; asked once more with the problems when it fails the
    check. Raises `Decline` when the documents do not answer or it cannot be supported."""
    prompt = f"Question: {question}\n\nPassages:\n{as_prompt(shown)}"
    answer = await _chat(ctx, prompt)
    if answer.answered and (problems := problems_of(answer, shown)):
        answer = await _chat(
            ctx,
            f"{prompt}\n\nYour previous answer could not be used: {'; '.join(problems)}. "
            "Answer again, citing only the passage ids above, every claim with at least one.",
        )
    if not answer.answered or not (answer.answer.strip() or answer.claims):
        lacking = f": {answer.missing.strip()}" if answer.missing.strip() else ""
        raise Decline(
            f"the documents do not answer {question!r}{lacking}. The researcher answers only "
            "from the documents it is sent, so nothing was delivered or billed"
        )
    if problems := problems_of(answer, shown):
        raise Decline(
            f"the model's answer to {question!r} could not be checked against the documents "
            f"({'; '.join(problems)}), so nothing was delivered or billed"
        )
    return answer


@agent(
    "researcher",
    version="1.0.0",
    description=(
        "Answers a question from the documents sent (text, markdown, HTML) with citations "
        "to the passages used, quoted from the documents; declines what they do not answer. "
        "Needs a model provider"
    ),
    capabilities=["research", "question-answering", "citations", "documents", "llm"],
    input_schema=ResearcherInput,
    price="0.02",
    sla=SLA(expected_seconds=20, max_seconds=3600),
    models=["default"],
)
async def researcher(ctx: Context) -> dict[str, Any]:
    """Answer the question (the goal) from the documents, citing the passages used."""
    params: ResearcherInput = ctx.input
    question = " ".join(ctx.goal.split())
    if not question:
        raise Decline("the researcher needs a question: put it in the goal")
    sources, skipped = collect_sources(params.files, params.text, agent="researcher")
    await ctx.plan(PLAN)
    passages: list[Passage] = await ctx.step("passages", passages_of, sources)
    if not passages:
        raise Decline("the documents hold no paragraph of text to answer from")
    shown = shown_to_model(passages, question)
    await ctx.progress(0.2, f"split {len(sources)} document(s) into {len(passages)} passages")
    answer = await _ask_model(ctx, question, shown)
    await ctx.progress(0.7, f"checked {len(answer.claims)} claim(s) against the passages")
    decided_by = "model"
    if answer.confidence < params.min_confidence:
        if not params.interactive:
            raise Decline(
                f"the documents support an answer to {question!r} only in part (confidence "
                f"{answer.confidence:.2f}, below {params.min_confidence:.2f}); nothing was "
                "delivered or billed"
            )
        reply = await ctx.ask(
            f"The documents support this answer only in part (confidence "
            f"{answer.confidence:.2f}, below {params.min_confidence:.2f}): {answer.answer} "
            f"(citing {', '.join(p['id'] for p in cited_passages(answer, passages))}). "
            "Deliver it as it stands, or decline?",
            schema={"type": "string", "enum": ["deliver", "decline"]},
        )
        if reply != "deliver":
            raise Decline(f"you chose not to take the low-confidence answer to {question!r}")
        decided_by = "person"
    cited = cited_passages(answer, passages)
    result = answer.model_dump(exclude={"answered", "missing"})
    report = write_report(question, result, cited, decided_by)
    await ctx.artifact("answer.md", report, media_type="text/markdown")
    await ctx.progress(1.0, "answer written")
    notes = describe(skipped)
    return {
        "answer": f"{answer.answer.strip()} {notes}".strip(),
        "claims": result["claims"],
        "citations": cited,
        "confidence": answer.confidence,
        "missing": answer.missing.strip() or None,
        "decided_by": decided_by,
        "passages": {"total": len(passages), "shown": len(shown)},
        "documents": [name for name, _, _ in sources],
        "skipped": skipped,
        "report": "answer.md",
    }
