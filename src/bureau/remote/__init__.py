"""Remote A2A agents: an agent of another A2A server, published in Bureau's catalog with
runtime `a2a-remote` and run by Bureau's workers through the `a2a-sdk` client.

- `cards`: reading a remote card (SSRF-checked) and the catalog entry made from it;
- `outbound`: the SSRF rules and the HTTP client every outbound call goes through;
- `breaker`: the per-remote circuit breaker and its health probes;
- `proxy`: the agent function that drives a remote task durably;
- `registry`: the worker's set of remote agents, refreshed from the catalog.
"""

RUNTIME = "a2a-remote"
"""The `runtime` of a remote agent's catalog entry."""
