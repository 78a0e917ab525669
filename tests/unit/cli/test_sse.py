"""SSE: the decoder's WHATWG rules, and `Client.stream` resuming with Last-Event-ID."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest

from bureau.client import BureauUnreachable, Client, ServerSentEvent, SSEDecoder, parse_sse
from tests.unit.cli.fake import API_KEY, URL, FakeBureau, sse_frame


def test_multi_line_data_joins_with_newlines() -> None:
    lines = ["event: note", "data: first", "data:second", "data:  third", "", ""]
    assert list(parse_sse(lines)) == [
        ServerSentEvent(data="first\nsecond\n third", event="note", id=None)
    ]


def test_comments_and_heartbeats_are_skipped() -> None:
    lines = [": ping", "", "id: 7", ": still here", "data: {}", "", ": ping", ""]
    assert list(parse_sse(lines)) == [ServerSentEvent(data="{}", event="message", id="7")]


def test_event_without_data_is_not_dispatched_but_its_id_is_kept() -> None:
    decoder = SSEDecoder()
    for line in ["retry: 1500", "id: 3", "event: status", ""]:
        assert decoder.feed(line) is None
    assert (decoder.retry, decoder.last_event_id) == (1500, "3")
    assert decoder.feed("data: x") is None
    assert decoder.feed("") == ServerSentEvent(data="x", event="message", id="3")


def test_invalid_retry_and_unknown_fields_are_ignored() -> None:
    decoder = SSEDecoder()
    for line in ["retry: soon", "colour: blue", "data", ""]:
        decoder.feed(line)
    assert decoder.retry is None
    assert list(parse_sse(["data", ""])) == [ServerSentEvent(data="", event="message")]


def test_an_unterminated_last_event_is_dropped() -> None:
    assert list(parse_sse(["data: complete", "", "data: cut off"])) == [
        ServerSentEvent(data="complete")
    ]


def event(seq: int, kind: str, data: object) -> dict[str, object]:
    return {"seq": seq, "type": kind, "at": "2025-01-01T00:00:00Z", "data": data}


LOG = [
    event(1, "status", {"status": "working"}),
    event(2, "progress", {"fraction": 0.5, "message": "half\nway"}),
    event(3, "artifact", {"name": "a.md"}),
    event(4, "status", {"status": "completed"}),
]


def cut_after(frames: list[bytes], partial: bytes) -> Iterator[bytes]:
    yield from frames
    yield partial
    raise httpx.ReadError("connection reset by peer")


def test_stream_resumes_after_a_cut_with_last_event_id(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr("bureau.client.time.sleep", sleeps.append)
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:  # two events and half of the third, then the connection drops
            frames = [b"retry: 250\n\n", sse_frame(LOG[0]), b": ping\n\n", sse_frame(LOG[1])]
            body: Iterator[bytes] = cut_after(frames, sse_frame(LOG[2])[:20])
        else:
            after = int(request.headers["last-event-id"])
            body = iter([sse_frame(e) for e in LOG if e["seq"] > after])
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    with Client(url=URL, api_key=API_KEY, transport=httpx.MockTransport(handle)) as client:
        got = list(client.stream("task_1"))
    assert got == LOG
    assert "last-event-id" not in seen[0].headers
    assert seen[1].headers["last-event-id"] == "2"
    assert seen[0].headers["accept"] == "text/event-stream"
    assert sleeps == [0.25]  # the server's retry delay


def test_stream_starts_after_the_given_event_id(fake: FakeBureau) -> None:
    task_id = fake.create_task({"agent": "csv-analyst", "goal": "go"})["id"]
    fake.finish(task_id, {"data": "revenue"})
    with Client(url=URL, api_key=API_KEY, transport=fake.transport) as client:
        got = list(client.stream(task_id, last_event_id=9))
    assert [e["seq"] for e in got] == [10, 11, 12, 13]
    assert got[-1]["data"] == {"status": "completed"}
    assert fake.requests[0].headers["last-event-id"] == "9"


def test_a_stream_of_a_finished_task_with_nothing_new_ends(fake: FakeBureau) -> None:
    task_id = fake.create_task({"agent": "csv-analyst", "goal": "go"})["id"]
    fake.finish(task_id, {"data": "revenue"})
    last = fake.events[task_id][-1]["seq"]
    with Client(url=URL, api_key=API_KEY, transport=fake.transport) as client:
        assert list(client.stream(task_id, last_event_id=last)) == []


def test_stream_gives_up_after_repeated_cuts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bureau.client.time.sleep", lambda _: None)
    calls = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        body = cut_after([b"retry: 1\n\n"], b"")
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    with (
        Client(url=URL, api_key=API_KEY, transport=httpx.MockTransport(handle)) as client,
        pytest.raises(BureauUnreachable, match="cannot reach Bureau"),
    ):
        list(client.stream("task_1"))
    assert len(calls) == Client.max_reconnects + 1


def test_stream_error_before_any_connection_is_raised_at_once() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with (
        Client(url=URL, api_key=API_KEY, transport=httpx.MockTransport(refuse)) as client,
        pytest.raises(BureauUnreachable, match="is `bureau serve` running"),
    ):
        next(client.stream("task_1"))


def test_stream_data_that_is_not_an_event_object_is_wrapped() -> None:
    body = b'id: 5\nevent: note\ndata: {"hello": 1}\n\n' + sse_frame(
        event(6, "status", {"status": "failed"})
    )
    transport = httpx.MockTransport(
        lambda _: httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
    )
    with Client(url=URL, api_key=API_KEY, transport=transport) as client:
        first, last = list(client.stream("task_1"))
    assert first == {"seq": 5, "type": "note", "at": None, "data": orjson.loads(b'{"hello": 1}')}
    assert last["data"] == {"status": "failed"}
