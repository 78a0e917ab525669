"""Every outbound call to a remote A2A agent obeys the webhook SSRF rules: the URL's text
is checked (`refusal_of_url`) and its host must resolve to allowed addresses only
(`resolve_public`), with `BUREAU_WEBHOOK_ALLOWED_NETWORKS` exempt. Redirects are not
followed. (The resolution is checked before each connection, not pinned: a DNS change
between the check and the connect is not caught, unlike webhook deliveries.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

import httpx

from bureau.webhooks.destinations import (
    Network,
    RefusedDestination,
    refusal_of_url,
    resolve_public,
)


async def check_url(url: str, allowed: Sequence[Network]) -> None:
    """Raise `RefusedDestination` unless Bureau may connect to `url`."""
    reason = refusal_of_url(url, allowed)
    if reason is not None:
        raise RefusedDestination(reason.replace("webhook URL", "remote agent's URL"))
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    await resolve_public(parts.hostname or "", port, allowed)


class _Screened(httpx.AsyncHTTPTransport):
    """An httpx transport that checks every request's URL before connecting."""

    def __init__(self, allowed: Sequence[Network]) -> None:
        super().__init__()
        self._allowed = list(allowed)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await check_url(str(request.url), self._allowed)
        return await super().handle_async_request(request)


def http_client(
    allowed: Sequence[Network], headers: Mapping[str, str], timeout: float
) -> httpx.AsyncClient:
    """An HTTP client whose every request is SSRF-checked; no redirects."""
    return httpx.AsyncClient(
        transport=_Screened(allowed),
        headers=dict(headers),
        timeout=timeout,
        follow_redirects=False,
    )


def auth_headers(credential: str | None) -> dict[str, str]:
    """The headers that carry a remote's credential: a bearer token, or a full
    `Authorization` value when it names its scheme (`Basic ...`)."""
    if not credential:
        return {}
    if " " in credential.strip():
        return {"Authorization": credential.strip()}
    return {"Authorization": f"Bearer {credential.strip()}"}


async def read_capped(response: httpx.Response, limit: int) -> bytes | None:
    """The streamed body of `response`, or None once it is over `limit` bytes (the rest is
    not read)."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)
