"""What every demo agent's markdown report opens with."""

from __future__ import annotations


def head(title: str, goal: str, feedback: str | None, redo: str) -> list[str]:
    """The title, the goal, and on a redo the reviewer's feedback with `redo` saying how
    it was used."""
    lines = [f"# {title}", "", f"**Goal:** {goal or '(none given)'}", ""]
    if feedback:
        lines += ["## Reviewer feedback", "", f"> {feedback}", "", redo, ""]
    return lines
