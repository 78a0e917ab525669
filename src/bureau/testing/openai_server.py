"""A local OpenAI-compatible server that answers from a script, to test LLM agents offline.

In-process, as a context manager serving on 127.0.0.1 from a background thread:

    with OpenAITestServer([{"text": "Hello"}]) as server:
        client = OpenAI(base_url=server.url, api_key="test")
        ...
        assert server.count() == 1

As a process of its own, so it keeps counting while a test kills the process under test:

    python -m bureau.testing.openai_server --port 0 --script script.json --log calls.jsonl

Routes: `POST /v1/chat/completions` (plain or streamed), `GET /v1/models` and
`GET /v1/models/{id}` (the models the script names); and, for tests, `GET /_test/requests`
(the request log, `?model=` to filter), `DELETE /_test/requests` (clear it) and
`POST /_test/script` (replace the script with a JSON list). The `/v1` prefix is optional.
With an `api_key`, `/v1` routes require `Authorization: Bearer <api_key>`; `/_test` routes
never do. The server speaks HTTP/1.0 (one request per connection), which keeps shutdown
prompt: no idle keep-alive connection holds a thread.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import parse_qs

from bureau.errors import UsageError
from bureau.testing._script import (
    JSONObject,
    RecordedRequest,
    Script,
    ScriptedError,
    ScriptedResponse,
    ToolCall,
    Usage,
    load_script,
    parse_script,
)
from bureau.testing._wire import (
    completion_body,
    completion_chunks,
    error_body,
    scripted_error_body,
)

__all__ = [
    "OpenAITestServer",
    "RecordedRequest",
    "Script",
    "ScriptedError",
    "ScriptedResponse",
    "ToolCall",
    "Usage",
    "load_script",
    "main",
    "parse_script",
]

_POLL_SECONDS = 0.05
"""How often the accept loop checks for shutdown: `stop()` returns within about this."""


class _ScriptAndLog:
    """The script being answered from and the log of requests, shared by handler threads."""

    def __init__(self, responses: list[ScriptedResponse], log_path: Path | None) -> None:
        self._lock = threading.Lock()
        self._responses = responses
        self._used = [False] * len(responses)
        self._requests: list[RecordedRequest] = []
        self._log_path = log_path

    def replace_script(self, responses: list[ScriptedResponse]) -> None:
        with self._lock:
            self._responses = responses
            self._used = [False] * len(responses)

    def take(self, request: RecordedRequest) -> tuple[int, ScriptedResponse | None]:
        """Record `request` and pick its response; return its 1-based number and the response.

        The record is appended to the log file (and fsynced) before anything is answered,
        so a request counts even if the server or its client dies while it is delayed.
        """
        with self._lock:
            index = next(
                (
                    i
                    for i, response in enumerate(self._responses)
                    if not self._used[i] and response.accepts(request)
                ),
                None,
            )
            response = None if index is None else self._responses[index]
            if index is not None and response is not None and not response.repeat:
                self._used[index] = True
            record = replace(request, response_index=index)
            self._requests.append(record)
            if self._log_path is not None:
                with self._log_path.open("a", encoding="utf-8") as log:
                    log.write(json.dumps(record.to_json()) + "\n")
                    log.flush()
                    os.fsync(log.fileno())
            return len(self._requests), response

    def requests(self, model: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self._requests if model is None or r.model == model]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def models(self) -> list[str]:
        with self._lock:
            named = (response.model for response in self._responses)
            return list(dict.fromkeys(model for model in named if model is not None))


class _HTTPServer(ThreadingHTTPServer):
    # Handler threads are joined on close; a scripted delay ends early once `stopping` is set.
    daemon_threads = False
    block_on_close = True

    def __init__(
        self,
        address: tuple[str, int],
        state: _ScriptAndLog,
        api_key: str | None,
        verbose: bool,
    ) -> None:
        self.state = state
        self.api_key = api_key
        self.verbose = verbose
        self.stopping = threading.Event()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which stalls without DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client left, e.g. after its own timeout: nothing to report
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.0"
    timeout = 10  # seconds to wait for a request's bytes before dropping the connection

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _route(self, method: str) -> None:
        path, _, query = self.path.partition("?")
        if path.startswith("/_test/"):
            self._control(method, path, parse_qs(query))
            return
        path = path.removeprefix("/v1")
        if not self._authorized():
            return
        if (method, path) == ("POST", "/chat/completions"):
            self._chat_completion()
        elif (method, path) == ("GET", "/models"):
            models = [_model_object(model) for model in self.server.state.models()]
            self._send_json(200, {"object": "list", "data": models})
        elif method == "GET" and path.startswith("/models/"):
            model = path.removeprefix("/models/")
            if model in self.server.state.models():
                self._send_json(200, _model_object(model))
            else:
                message = f"The model '{model}' does not exist"
                self._send_json(
                    404, error_body(message, "invalid_request_error", "model_not_found")
                )
        else:
            self._send_json(
                404, error_body(f"Unknown route {method} {path}", "invalid_request_error")
            )

    def _authorized(self) -> bool:
        key = self.server.api_key
        if key is None:
            return True
        given = self.headers.get("Authorization", "")
        if given == f"Bearer {key}":
            return True
        message = "Incorrect API key provided." if given else "You didn't provide an API key."
        self._send_json(401, error_body(message, "invalid_request_error", "invalid_api_key"))
        return False

    def _chat_completion(self) -> None:
        body = self._read_json()
        if not isinstance(body, dict):
            self._bad_request("The body must be a JSON object.")
            return
        model, messages, tools = body.get("model"), body.get("messages"), body.get("tools")
        if not isinstance(model, str) or not isinstance(messages, list):
            self._bad_request("'model' (a string) and 'messages' (a list) are required.")
            return
        request = RecordedRequest(
            model=model,
            messages=messages,
            tools=tools if isinstance(tools, list) else [],
            stream=body.get("stream") is True,
            time=time.time(),
            body=body,
        )
        number, response = self.server.state.take(request)
        if response is None:
            message = (
                f"The test server's script has no response left for request {number} "
                f"(model {model!r}). Script more responses, or mark one with repeat."
            )
            self._send_json(500, error_body(message, "server_error", "script_exhausted"))
            return
        if response.delay and self.server.stopping.wait(response.delay):
            return  # shutting down: drop the connection rather than hold up stop()
        created = int(time.time())
        if response.error is not None:
            self._send_error(response.error)
        elif request.stream:
            self._send_stream(completion_chunks(request, response, number, created))
        else:
            self._send_json(200, completion_body(request, response, number, created))

    def _control(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        state = self.server.state
        if (method, path) == ("GET", "/_test/requests"):
            model = query.get("model", [None])[0]
            logged = [request.to_json() for request in state.requests(model)]
            self._send_json(200, {"count": len(logged), "requests": logged})
        elif (method, path) == ("DELETE", "/_test/requests"):
            state.clear_requests()
            self._send_json(200, {"count": 0, "requests": []})
        elif (method, path) == ("POST", "/_test/script"):
            try:
                responses = parse_script(self._read_json())
            except UsageError as exc:
                self._bad_request(f"Not a script: {exc}")
                return
            state.replace_script(responses)
            self._send_json(200, {"responses": len(responses)})
        else:
            self._send_json(404, error_body(f"Unknown route {method} {path}", "not_found"))

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            return None

    def _bad_request(self, message: str) -> None:
        self._send_json(400, error_body(message, "invalid_request_error"))

    def _send_error(self, error: ScriptedError) -> None:
        headers = {}
        if error.retry_after is not None:
            headers["Retry-After"] = f"{error.retry_after:g}"
        self._send_json(error.status, scripted_error_body(error), headers)

    def _send_json(
        self, status: int, body: JSONObject, headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_stream(self, chunks: Iterable[JSONObject]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for chunk in chunks:
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


def _model_object(model: str) -> JSONObject:
    return {"id": model, "object": "model", "created": 0, "owned_by": "bureau-testing"}


class OpenAITestServer:
    """An OpenAI-compatible Chat Completions server answering from a script.

    Args:
        script: the responses, in order (see `ScriptedResponse`; dicts in its JSON form
            are accepted). When none is left for a request, the server answers 500 with
            code `script_exhausted`.
        api_key: when given, `/v1` requests must carry `Authorization: Bearer <api_key>`.
        host, port: where to listen; port 0 picks a free one (read `url` once started).
        log_path: a file to which each request is appended as one JSON line, fsynced.
        verbose: log each HTTP request on stderr.

    Every chat completion request with a valid body is recorded before it is answered
    (or delayed). `when` predicates run on the server's threads, under its lock.
    """

    def __init__(
        self,
        script: Script = (),
        *,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        log_path: str | Path | None = None,
        verbose: bool = False,
    ) -> None:
        self._state = _ScriptAndLog(
            parse_script(script), None if log_path is None else Path(log_path)
        )
        self._address = (host, port)
        self._api_key = api_key
        self._verbose = verbose
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL to give a client, e.g. `http://127.0.0.1:50123/v1`."""
        if self._server is None:
            raise UsageError("the server is not started: use `with OpenAITestServer(...)`")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every chat completion request received so far, oldest first (a copy)."""
        return self._state.requests()

    def count(self, model: str | None = None) -> int:
        """How many chat completion requests were received, for `model` or in all."""
        return len(self._state.requests(model))

    def clear_requests(self) -> None:
        """Forget the requests received so far (the log file is kept)."""
        self._state.clear_requests()

    def set_script(self, script: Script) -> None:
        """Replace the script; every response of the new one is unused."""
        self._state.replace_script(parse_script(script))

    def start(self) -> OpenAITestServer:
        """Listen, and serve from a background thread until `stop()`."""
        server = self._listen()
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name=f"openai-test-server-{server.server_port}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: end scripted delays at once, and wait for every handler thread."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.stopping.set()
        if thread is not None:
            server.shutdown()
            thread.join()
        server.server_close()
        self._server = self._thread = None

    def serve_forever(self, on_ready: Callable[[str], None] | None = None) -> None:
        """Listen and serve in the calling thread until interrupted; `on_ready(url)` first."""
        server = self._listen()
        try:
            if on_ready is not None:
                on_ready(self.url)
            server.serve_forever(poll_interval=_POLL_SECONDS)
        finally:
            server.stopping.set()
            server.server_close()
            self._server = None

    def __enter__(self) -> OpenAITestServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _listen(self) -> _HTTPServer:
        if self._server is not None:
            raise UsageError("the server is already started")
        self._server = _HTTPServer(self._address, self._state, self._api_key, self._verbose)
        return self._server


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m bureau.testing.openai_server`: serve a script until SIGTERM or Ctrl-C.

    Prints `OpenAI test server listening on <url>` once it accepts connections.
    """
    parser = argparse.ArgumentParser(
        prog="python -m bureau.testing.openai_server",
        description="A local OpenAI-compatible server answering from a script, for tests.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 (the default) picks a free port")
    parser.add_argument("--script", type=Path, help="a JSON file holding a list of responses")
    parser.add_argument("--log", type=Path, help="append each request to FILE as a JSON line")
    parser.add_argument("--api-key", help="require `Authorization: Bearer API_KEY`")
    parser.add_argument("--verbose", action="store_true", help="log each HTTP request")
    args = parser.parse_args(argv)
    try:
        script = load_script(args.script) if args.script is not None else []
    except (UsageError, OSError) as exc:
        parser.error(str(exc))
    server = OpenAITestServer(
        script,
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        log_path=args.log,
        verbose=args.verbose,
    )
    signal.signal(signal.SIGTERM, _exit_on_signal)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever(
            lambda url: print(f"OpenAI test server listening on {url}", flush=True)
        )


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)


if __name__ == "__main__":
    main()
