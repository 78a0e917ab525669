"""The digest.md artifact of doc-digest: the answer first, then the standard digest."""

from __future__ import annotations

from typing import Any

from bureau.agents._report import head


def _answer_lines(answer: str, result: dict[str, Any]) -> list[str]:
    lines = ["## Answer", "", answer, ""]
    items = result.get("items") or []
    if items and result["kind"] != "names":
        lines += [f"- {item['sentence']} _({item['document']})_" for item in items]
        lines.append("")
    return lines


def write_digest(
    goal: str,
    feedback: str | None,
    answer: str,
    result: dict[str, Any],
    digest: dict[str, Any],
    sources: list[dict[str, Any]] | None = None,
) -> str:
    """The digest as markdown: the answer to the goal, then summary, key phrases, outline,
    document statistics, and the MCP tools documents came from (`sources`)."""
    stats = digest["stats"]
    several = len(stats) > 1
    redo = "This is a redo; its words weigh in the choice of summary sentences."
    lines = head("Digest", goal, feedback, redo)
    lines += _answer_lines(answer, result)
    lines += ["## Summary", ""]
    lines += [
        f"- {s['text']}" + (f" _({s['document']})_" if several else "") for s in digest["summary"]
    ]
    lines += ["", "## Key phrases", "", ", ".join(digest["key_phrases"]) or "(none)", ""]
    lines += ["## Outline", ""]
    for item in digest["outline"]:
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
    if sources:
        lines += ["", "## Sources", ""]
        lines += [
            f"- {', '.join(s['documents']) or '(no text)'}: tool `{s['tool']}` of {s['url']}"
            for s in sources
        ]
    return "\n".join(lines) + "\n"
