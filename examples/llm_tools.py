"""Python tools of the declarative agents in `examples/llm_agents.yaml`.

A tool is a plain function: its type hints and docstring tell the model how to call it.
Each call is a journaled step of the task, so a tool returns JSON data and is not run
again when the task resumes after a crash.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

WEEKDAYS = [day.lower() for day in calendar.day_name]
MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): number for number, name in enumerate(calendar.month_abbr) if name})
COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
COUNTS.update({"seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12})
FRIDAY = 4


def normalise_date(text: str, meeting_date: str) -> dict[str, str | None]:
    """Turn a due date as people write it in meeting notes into an ISO date (YYYY-MM-DD),
    counted from the meeting's date (YYYY-MM-DD).

    Understands ISO dates, "today", "EOD", "tomorrow", a weekday ("Friday", "by Friday":
    the first one after the meeting; "next Friday": the Friday of the following week),
    "end of week" and "next week" (that week's Friday), "end of month", "next month" (its
    last day), "in 3 days", "in two weeks", and "March 14" or "14 March" (this year, or
    next year when the date has passed). Returns {"date": "YYYY-MM-DD", "weekday": ...},
    or {"date": null, "reason": ...} when the text names no date.
    """
    try:
        meeting = date.fromisoformat(meeting_date.strip())
    except ValueError:
        return {"date": None, "reason": f"meeting_date {meeting_date!r} is not YYYY-MM-DD"}
    words = re.sub(r"[^a-z0-9 -]", " ", text.lower())
    words = re.sub(r"^\s*(by|on|due|until|for)\s+", "", words)
    words = " ".join(words.split())
    found = _parse(words, meeting)
    if found is None:
        return {"date": None, "reason": f"{text!r} names no date this tool understands"}
    return {"date": found.isoformat(), "weekday": calendar.day_name[found.weekday()]}


def _parse(words: str, meeting: date) -> date | None:
    next_monday = meeting + timedelta(days=7 - meeting.weekday())
    if re.fullmatch(r"\d{4}-\d\d-\d\d", words):
        try:
            return date.fromisoformat(words)
        except ValueError:
            return None
    if words in ("today", "tonight", "eod", "end of day", "end of today"):
        return meeting
    if words == "tomorrow":
        return meeting + timedelta(days=1)
    if words in ("end of week", "end of the week", "eow", "this week"):
        friday = meeting + timedelta(days=FRIDAY - meeting.weekday())
        return friday if friday >= meeting else friday + timedelta(days=7)
    if words in ("next week", "end of next week"):
        return next_monday + timedelta(days=FRIDAY)
    if words in ("end of month", "end of the month", "eom", "this month"):
        return meeting.replace(day=calendar.monthrange(meeting.year, meeting.month)[1])
    if words in ("next month", "end of next month"):
        first = (meeting.replace(day=1) + timedelta(days=32)).replace(day=1)
        return first.replace(day=calendar.monthrange(first.year, first.month)[1])
    weekday = re.fullmatch(r"(this |next )?(\w+)", words)
    if weekday and weekday[2] in WEEKDAYS:
        index = WEEKDAYS.index(weekday[2])
        if weekday[1] == "next ":
            return next_monday + timedelta(days=index)
        return meeting + timedelta(days=(index - meeting.weekday() - 1) % 7 + 1)
    later = re.fullmatch(r"in (\d+|\w+) (day|week)s?", words)
    if later:
        count = int(later[1]) if later[1].isdigit() else COUNTS.get(later[1])
        if count is not None:
            return meeting + timedelta(days=count * (7 if later[2] == "week" else 1))
    return _calendar_date(words, meeting)


def _calendar_date(words: str, meeting: date) -> date | None:
    """A month and a day, either way round, with an optional year: "March 14",
    "14th of March", "mar 14 2026"."""
    match = re.fullmatch(r"([a-z]+) (\d{1,2})(?:st|nd|rd|th)?(?: (\d{4}))?", words)
    parts = (match[1], match[2], match[3]) if match else None
    if parts is None:
        match = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?(?: of)? ([a-z]+)(?: (\d{4}))?", words)
        parts = (match[2], match[1], match[3]) if match else None
    if parts is None or parts[0] not in MONTHS:
        return None
    month, day, year = MONTHS[parts[0]], int(parts[1]), parts[2]
    try:
        found = date(int(year) if year else meeting.year, month, day)
        if not year and found < meeting:
            found = found.replace(year=meeting.year + 1)
    except ValueError:
        return None
    return found
