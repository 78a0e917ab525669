"""Assembling the brief-writer's markdown brief from its children's outcomes.

The brief answers first: one line per child with its `answer` to the part of the goal it
was asked, and a plain "not answered" line for each child that declined or failed. The
supporting findings follow, then the gaps and the sources.
"""

from __future__ import annotations

from typing import Any

Section = dict[str, str]
VERBS = {"rejected": "declined", "failed": "failed", "canceled": "was canceled"}


def reason_of(error: object) -> str:
    """A child's error as one sentence: the message of an error record, or its text."""
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or error)
    return str(error)


def _source(outcome: dict[str, Any]) -> str:
    return ", ".join(outcome["inputs"])


def _answer(completed: list[dict[str, Any]], others: list[dict[str, Any]]) -> Section:
    lines = [f"- {_source(o)}: {o['deliverable'].get('answer', '').strip()}" for o in completed]
    lines += [
        f"- Not answered from {_source(o)}: {o['agent']} {VERBS.get(o['status'], o['status'])}"
        f" ({o['error']})"
        for o in others
    ]
    return {"title": "Answer", "content": "\n".join(lines)}


def _data_section(outcome: dict[str, Any]) -> Section:
    result = outcome["deliverable"]
    lines = [result.get("summary", "")]
    for anomaly in result.get("anomalies", [])[:3]:
        where = ", ".join(f"{k} {v}" for k, v in anomaly.get("context", {}).items() if v)
        lines.append(
            f"- Outlier: {anomaly['column']} = {anomaly['value']:g} in row {anomaly['row']}"
            + (f" ({where})" if where else "")
        )
    if result.get("charts"):
        lines += ["", f"Charts (artifacts of the csv-analyst task): {', '.join(result['charts'])}."]
    return {
        "title": f"Data: {result.get('source', outcome['inputs'][0])}",
        "content": "\n".join(lines).strip(),
    }


def _documents_section(outcome: dict[str, Any]) -> Section:
    result = outcome["deliverable"]
    several = len(result["documents"]) > 1
    lines = []
    if result.get("result", {}).get("kind") != "summary":  # else the answer is the summary
        lines += ["Summary:", ""]
        lines += [
            f"- {s['text']}" + (f" ({s['document']})" if several else "")
            for s in result.get("sentences", [])
        ] or [result["summary"]]
        lines.append("")
    if result["key_phrases"]:
        lines += ["Key phrases: " + ", ".join(result["key_phrases"]) + ".", ""]
    headings = [str(item["title"]) for item in result["outline"] if item["level"] == 1]
    if headings:
        lines += ["Covers: " + "; ".join(headings[:8]) + ".", ""]
    reading = sum(d["reading_minutes"] for d in result["documents"])
    words = sum(d["words"] for d in result["documents"])
    lines.append(
        f"{len(result['documents'])} document(s), {words} words, about {reading:.1f} min to read."
    )
    return {"title": "Documents: " + _source(outcome), "content": "\n".join(lines)}


def assemble(
    goal: str, feedback: str | None, outcomes: list[dict[str, Any]], skipped: list[str]
) -> dict[str, Any]:
    """The brief as markdown, its sections, and the sources with what happened to each.

    Children that declined or failed appear in the answer as not answered, and under
    "Gaps" with files that no specialist could read.
    """
    completed = [o for o in outcomes if o["status"] == "completed"]
    others = [o for o in outcomes if o["status"] != "completed"]
    sections = [_answer(completed, others)]
    for outcome in completed:
        if outcome["agent"] == "csv-analyst":
            sections.append(_data_section(outcome))
        else:
            sections.append(_documents_section(outcome))
    gaps = [
        f"- {_source(o)}: {o['agent']} {VERBS.get(o['status'], o['status'])} "
        f"when asked “{o['goal']}” ({o['error']})"
        for o in others
    ] + [f"- {name}: skipped (not CSV, text, markdown or HTML, or empty)" for name in skipped]
    if gaps:
        sections.append({"title": "Gaps", "content": "\n".join(gaps)})
    if feedback:
        sections.insert(
            0,
            {
                "title": "Reviewer feedback",
                "content": f"> {feedback}\n\nThis brief is a redo; doc-digest was given the "
                "feedback with its goal.",
            },
        )
    sources = [
        {"name": name, "agent": o["agent"], "status": o["status"]}
        for o in outcomes
        for name in o["inputs"]
    ] + [{"name": name, "agent": None, "status": "skipped"} for name in skipped]
    lines = [f"# Brief: {goal or 'key findings'}", ""]
    for section in sections:
        lines += [f"## {section['title']}", "", section["content"], ""]
    lines += ["## Sources", ""]
    lines += [f"- {s['name']} — {s['agent'] or 'not read'} ({s['status']})" for s in sources]
    return {"brief": "\n".join(lines) + "\n", "sections": sections, "sources": sources}
