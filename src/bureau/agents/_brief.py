"""Assembling the brief-writer's markdown brief from its children's deliverables."""

from __future__ import annotations

from typing import Any

Section = dict[str, str]


def _data_section(outcome: dict[str, Any]) -> Section:
    result = outcome["deliverable"]
    lines = [result["answer"], "", result["summary"]]
    for anomaly in result["anomalies"][:3]:
        where = ", ".join(f"{k} {v}" for k, v in anomaly["context"].items() if v)
        lines.append(
            f"- Outlier: {anomaly['column']} = {anomaly['value']:g} in row {anomaly['row']}"
            + (f" ({where})" if where else "")
        )
    if result["charts"]:
        names = ", ".join(result["charts"])
        lines += ["", f"Charts (artifacts of the csv-analyst task): {names}."]
    return {
        "title": f"Data: {result.get('source', outcome['inputs'][0])}",
        "content": "\n".join(lines),
    }


def _documents_section(outcome: dict[str, Any]) -> Section:
    result = outcome["deliverable"]
    several = len(result["documents"]) > 1
    lines = [
        f"- {s['text']}" + (f" ({s['document']})" if several else "")
        for s in result.get("sentences", [])
    ] or [result["summary"]]
    if result["key_phrases"]:
        lines += ["", "Key phrases: " + ", ".join(result["key_phrases"]) + "."]
    headings = [str(item["title"]) for item in result["outline"] if item["level"] == 1]
    if headings:
        lines += ["", "Covers: " + "; ".join(headings[:8]) + "."]
    reading = sum(d["reading_minutes"] for d in result["documents"])
    words = sum(d["words"] for d in result["documents"])
    lines += [
        "",
        f"{len(result['documents'])} document(s), {words} words, about {reading:.1f} min to read.",
    ]
    return {"title": "Documents: " + ", ".join(outcome["inputs"]), "content": "\n".join(lines)}


def _key_findings(completed: list[dict[str, Any]]) -> Section:
    bullets = []
    for outcome in completed:
        result = outcome["deliverable"]
        if outcome["agent"] == "csv-analyst":
            bullets.append(f"- {result.get('source', outcome['inputs'][0])}: {result['answer']}")
        else:
            bullets += [f"- {s['text']}" for s in result.get("sentences", [])[:3]]
    return {"title": "Key findings", "content": "\n".join(bullets)}


def assemble(
    goal: str, feedback: str | None, outcomes: list[dict[str, Any]], skipped: list[str]
) -> dict[str, Any]:
    """The brief as markdown, its sections, and the sources with what happened to each.

    Failed children appear under "Gaps"; so do files that no specialist could read.
    """
    completed = [o for o in outcomes if o["status"] == "completed"]
    sections = [_key_findings(completed)]
    for outcome in completed:
        if outcome["agent"] == "csv-analyst":
            sections.append(_data_section(outcome))
        else:
            sections.append(_documents_section(outcome))
    gaps = [
        f"- {', '.join(o['inputs'])}: {o['agent']} {o['status']} ({o.get('error')})"
        for o in outcomes
        if o["status"] != "completed"
    ] + [f"- {name}: skipped (not CSV, text, markdown or HTML, or empty)" for name in skipped]
    if gaps:
        sections.append({"title": "Gaps", "content": "\n".join(gaps)})
    if feedback:
        sections.insert(
            0,
            {
                "title": "Reviewer feedback",
                "content": f"> {feedback}\n\nThis brief is a redo that takes it into account.",
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
