"""The protocol doors beside REST: A2A (`a2a`) and MCP (`mcp`). Each is a thin adapter over
the service layer (`bureau.service`): the same tasks, ids, event log, tenancy and scopes as
REST; it owns no state. `install(app, node)` adds a door's routes to the API app and returns
what the app's lifespan must run while it serves (or None)."""
