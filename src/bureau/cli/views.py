"""Readable views of the API's objects: agents, tasks, deliverables, artifacts, next steps,
an agent's failed attempts and runs, API keys, tenants and the audit log."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime
from typing import Any

from bureau.cli.render import duration, pretty, preview, shorten, size, sla, table
from bureau.states import ReviewStatus, TaskStatus

__all__ = [
    "agent_details",
    "agents_table",
    "artifacts_block",
    "audit_table",
    "deliverable_block",
    "failures_report",
    "key_details",
    "keys_table",
    "next_steps",
    "runs_report",
    "secret_block",
    "task_details",
    "task_headline",
    "task_report",
    "tasks_table",
    "tenant_line",
    "tenants_table",
]

HEADLINE_FIELDS = ("answer", "summary", "brief")


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())


def _models(agent: dict[str, Any]) -> str:
    """The models an agent needs and whether this deployment has them ("-": none)."""
    models = agent.get("models")
    if not isinstance(models, dict):
        return "-"
    names = ",".join(models.get("needs") or [])
    if models.get("ready"):
        return f"{names} (ready)"
    return (
        f"{names} (optional, off)"
        if models.get("required") is False
        else f"{names} (needs a provider)"
    )


def agents_table(agents: list[dict[str, Any]]) -> str:
    """The catalog as a table; a MODELS column when an agent calls models."""
    if not agents:
        return "No agents found."
    with_models = any(isinstance(agent.get("models"), dict) for agent in agents)
    rows = [
        [
            agent["name"],
            str(agent.get("latest_version") or "-"),
            str(agent.get("price") or "-"),
            sla(agent.get("sla")),
            ",".join(agent.get("capabilities") or []) or "-",
            *([_models(agent)] if with_models else []),
            agent.get("description") or "",
        ]
        for agent in agents
    ]
    models = ["MODELS"] if with_models else []
    return table(["NAME", "VERSION", "PRICE", "SLA", "CAPABILITIES", *models, "DESCRIPTION"], rows)


def _reputation(value: dict[str, Any] | None) -> str:
    if not value:
        return "no runs yet"
    parts = [f"{key.replace('_', ' ')} {value[key]}" for key in value if value[key] is not None]
    return ", ".join(parts) or "no runs yet"


def _type_of(spec: dict[str, Any]) -> str:
    """A JSON Schema's type in a few characters: `integer`, `list[InputFile]`, `a|b`."""
    if "$ref" in spec:
        return str(spec["$ref"]).rsplit("/", 1)[-1]
    if "enum" in spec:
        return "|".join(str(option) for option in spec["enum"])
    if "anyOf" in spec:
        return " | ".join(_type_of(option) for option in spec["anyOf"])
    kind = spec.get("type")
    if kind == "array":
        return f"list[{_type_of(spec.get('items') or {})}]"
    return " | ".join(kind) if isinstance(kind, list) else str(kind or "any")


def _input_block(schema: Any, name: str) -> str:
    """The input schema's fields as a table (required ones starred), else the schema."""
    if not isinstance(schema, dict):
        return "  input: none declared"
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        return "  input schema:\n" + _indent(pretty(schema), "    ")
    required = set(schema.get("required") or [])
    rows = [
        [
            field + ("*" if field in required else ""),
            _type_of(spec),
            str(spec.get("description") or ""),
        ]
        for field, spec in properties.items()
    ]
    return f"  input (* required; full schema: bureau agent {name} --json):\n" + _indent(
        table(["FIELD", "TYPE", "DESCRIPTION"], rows), "    "
    )


def agent_details(agent: dict[str, Any]) -> str:
    """One agent: description, price, SLA, reputation, input schema and versions."""
    lines = [
        f"{agent['name']}@{agent.get('latest_version')}",
        f"  {agent.get('description') or ''}".rstrip(),
        f"  capabilities: {', '.join(agent.get('capabilities') or []) or '-'}",
        f"  price: {agent.get('price')}   SLA: {sla(agent.get('sla'))}",
        f"  reputation: {_reputation(agent.get('reputation'))}",
    ]
    if isinstance(models := agent.get("models"), dict):
        state = "ready" if models.get("ready") else f"not ready: {models.get('why')}"
        lines.append(f"  models: {', '.join(models.get('needs') or [])} ({state})")
    lines.append(_input_block(agent.get("input_schema"), agent["name"]))
    versions = [v for v in agent.get("versions") or [] if isinstance(v, dict)]
    if versions:
        lines.append("  versions:")
        rows = [
            [
                v.get("version", "?"),
                v.get("status", "?"),
                str(v.get("price")),
                sla(v.get("sla")),
                str(v.get("created_at") or "-"),
                v.get("description") or "",
            ]
            for v in versions
        ]
        lines.append(
            _indent(table(["VERSION", "STATUS", "PRICE", "SLA", "CREATED", "DESCRIPTION"], rows))
        )
    lines.append(f"\nRun it: bureau run {agent['name']} {shlex.quote('<goal>')}")
    return "\n".join(lines)


def remote_agent_added(agent: dict[str, Any]) -> str:
    """A remote A2A agent just published: what Bureau read from its card."""
    return "Published the remote A2A agent (runtime a2a-remote):\n" + agent_details(agent)


def tasks_table(tasks: list[dict[str, Any]]) -> str:
    """Tasks as a table, newest first as the API lists them."""
    if not tasks:
        return "No tasks."
    rows = [
        [
            task["id"],
            f"{task.get('agent')}@{task.get('agent_version')}",
            task.get("status") or "?",
            (task.get("review") or {}).get("status") or "-",
            str(task.get("created_at") or "-"),
            task.get("goal") or "",
        ]
        for task in tasks
    ]
    return table(["ID", "AGENT", "STATUS", "REVIEW", "CREATED", "GOAL"], rows)


def task_headline(task: dict[str, Any]) -> str:
    """`ID  AGENT@VERSION  STATUS` on one line."""
    return f"{task['id']}  {task.get('agent')}@{task.get('agent_version')}  {task.get('status')}"


def task_details(task: dict[str, Any]) -> str:
    """The task's state: who, what, progress, question, error, usage, review."""
    lines = [
        task_headline(task),
        f"  goal: {shorten(task.get('goal') or '', 200)}",
        f"  created {task.get('created_at')}, started {task.get('started_at') or '-'}, "
        f"finished {task.get('finished_at') or '-'}",
        f"  attempt {task.get('attempt', 1)}, revision {task.get('revision', 0)}, "
        f"cost {task.get('cost') or '0'}",
    ]
    if task.get("plan"):
        lines.append("  plan: " + " > ".join(str(step) for step in task["plan"]))
    progress = task.get("progress")
    if isinstance(progress, dict) and progress.get("fraction") is not None:
        percent = round(float(progress["fraction"]) * 100)
        lines.append(f"  progress: {percent}% {progress.get('message') or ''}".rstrip())
    question = task.get("question")
    if task.get("status") == "input-required" and isinstance(question, dict):
        lines.append(f"  question ({question.get('id')}): {question.get('text')}")
    error = task.get("error")
    if isinstance(error, dict):
        lines.append(f"  error: {error.get('code')}: {error.get('message')}")
    review = task.get("review") or {}
    if review.get("status"):
        extra = review.get("reason") or review.get("comment") or ""
        lines.append(f"  review: {review['status']} {extra}".rstrip())
    usage = task.get("usage")
    if usage:
        lines.append(f"  usage: {preview(usage, 100)}")
    return "\n".join(lines)


def deliverable_block(deliverable: Any) -> str:
    """The deliverable: its headline field (answer, summary or brief) first, then the rest."""
    if deliverable is None:
        return "Deliverable: none"
    if isinstance(deliverable, str):
        return "Deliverable:\n" + _indent(deliverable)
    parts = []
    rest = deliverable
    if isinstance(deliverable, dict):
        for field in HEADLINE_FIELDS:
            if isinstance(deliverable.get(field), str):
                parts.append(_indent(deliverable[field].rstrip()))
                rest = {k: v for k, v in deliverable.items() if k != field}
                break
    if rest:
        parts.append(_indent(pretty(rest)))
    return "Deliverable:\n" + "\n\n".join(parts)


def artifacts_block(task: dict[str, Any], base_url: str) -> str:
    """The task's artifacts with their URLs and the command that downloads each."""
    artifacts = task.get("artifacts") or []
    if not artifacts:
        return ""
    lines = ["Artifacts:"]
    for artifact in artifacts:
        name = str(artifact.get("name"))
        url = str(artifact.get("url") or "")
        lines.append(
            f"  {name}  ({size(artifact.get('size'))}, {artifact.get('media_type')})  "
            f"{url if '://' in url else base_url + url}"
        )
        command = ["bureau", "task", "artifact", task["id"], name, "-o", name]
        lines.append(f"    {shlex.join(command)}")
    return "\n".join(lines)


def next_steps(task: dict[str, Any]) -> str:
    """What the user can do next with the task, as commands."""
    task_id, status = task["id"], task.get("status")
    review = (task.get("review") or {}).get("status")
    if status == TaskStatus.COMPLETED and review in (None, ReviewStatus.PENDING):
        return (
            f"Next: bureau task accept {task_id} [--rating 1-5]\n"
            f'   or bureau task reject {task_id} --reason "..." [--redo]'
        )
    if status == TaskStatus.INPUT_REQUIRED:
        return f'Next: bureau task reply {task_id} "<your answer>"'
    if status in (TaskStatus.SUBMITTED, TaskStatus.WORKING):
        return f"Follow: bureau task events {task_id} --follow   (or: bureau task wait {task_id})"
    return ""


def task_report(task: dict[str, Any], base_url: str) -> str:
    """Everything about a task: its state, deliverable, artifacts and what to do next."""
    blocks = [task_details(task)]
    if task.get("deliverable") is not None:
        blocks.append(deliverable_block(task["deliverable"]))
    blocks += [artifacts_block(task, base_url), next_steps(task)]
    return "\n\n".join(block for block in blocks if block)


def failures_report(agent: str, failures: list[dict[str, Any]]) -> str:
    """An agent's failed attempts, newest first: task, version, time, error and traceback."""
    if not failures:
        return f"No failed attempts of {agent}."
    blocks = []
    for failure in failures:
        error = failure.get("error")
        if isinstance(error, dict):
            kind = f" ({error['type']})" if error.get("type") else ""
            error = f"{error.get('code')}{kind}: {error.get('message')}"
        lines = [
            f"{failure.get('task_id')}  {agent}@{failure.get('agent_version')}  "
            f"attempt {failure.get('attempt')}  {failure.get('status')}  {failure.get('at')}",
            f"  error: {error}",
        ]
        if failure.get("traceback"):
            lines.append(_indent(str(failure["traceback"]).rstrip(), "  | "))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _error_line(error: Any) -> str:
    """A run's error as `code (type): message`, or as it came when it is not an object."""
    if isinstance(error, dict):
        kind = f" ({error['type']})" if error.get("type") else ""
        return f"{error.get('code')}{kind}: {error.get('message')}"
    return "" if error is None else str(error)


def runs_report(agent: str, runs: list[dict[str, Any]], *, tracebacks: bool = False) -> str:
    """An agent's runs, newest first, as a table: task, version, status, duration, cost,
    review and the error of a failed one; then each traceback (with `tracebacks`) or a hint
    that there are some."""
    if not runs:
        return f"No runs of {agent}."
    rows = [
        [
            run.get("task_id") or "?",
            str(run.get("agent_version") or "-"),
            run.get("status") or "?",
            duration(run.get("duration_seconds")),
            str(run.get("cost") or "0"),
            run.get("review") or "-",
            _error_line(run.get("error")),
        ]
        for run in runs
    ]
    lines = [table(["TASK", "VERSION", "STATUS", "DURATION", "COST", "REVIEW", "ERROR"], rows)]
    traced = [run for run in runs if run.get("traceback")]
    if traced and tracebacks:
        for run in traced:
            lines.append(f"\n{run.get('task_id')}  attempt {run.get('attempt')}:")
            lines.append(_indent(str(run["traceback"]).rstrip(), "  | "))
    elif traced:
        count = f"{len(traced)} run{'s' if len(traced) > 1 else ''}"
        lines.append(f"\n{count} with a traceback: bureau runs {shlex.quote(agent)} --tracebacks")
    return "\n".join(lines)


def audit_table(records: list[dict[str, Any]]) -> str:
    """Audit records as a table, newest first as the API lists them."""
    if not records:
        return "No audit records."
    rows = [
        [
            str(record.get("at") or "-"),
            record.get("key_id") or "-",
            record.get("role") or "?",
            record.get("action") or "?",
            record.get("outcome") or "?",
            record.get("address") or "-",
            shorten(record.get("target") or "-", 40),
            record.get("request_id") or "-",
        ]
        for record in records
    ]
    headers = ["AT", "KEY", "ROLE", "ACTION", "OUTCOME", "ADDRESS", "TARGET", "REQUEST"]
    return table(headers, rows)


def _key_status(key: dict[str, Any]) -> str:
    if key.get("revoked_at"):
        return "revoked"
    expires = key.get("expires_at")
    if expires and datetime.fromisoformat(expires) <= datetime.now(UTC):
        return "expired"
    return "active"


def keys_table(keys: list[dict[str, Any]]) -> str:
    """API keys as a table (an API answer never holds their secrets)."""
    if not keys:
        return "No keys."
    rows = [
        [
            key["id"],
            key.get("name") or "",
            key.get("role") or "?",
            _key_status(key),
            str(key.get("created_at") or "-"),
            str(key.get("expires_at") or "never"),
            ",".join(key.get("scopes") or []) or "-",
        ]
        for key in keys
    ]
    return table(["ID", "NAME", "ROLE", "STATUS", "CREATED", "EXPIRES", "SCOPES"], rows)


def key_details(key: dict[str, Any]) -> str:
    """One key: name, role, scopes, dates; never its secret."""
    lines = [
        f"{key['id']}  {key.get('name')!r}  role {key.get('role')}  {_key_status(key)}",
        f"  scopes: {', '.join(key.get('scopes') or []) or 'none'}",
        f"  created {key.get('created_at')}, expires {key.get('expires_at') or 'never'}, "
        f"revoked {key.get('revoked_at') or '-'}",
    ]
    if key.get("previous_secret_until"):
        lines.append(f"  the previous secret works until {key['previous_secret_until']}")
    return "\n".join(lines)


def secret_block(issued: dict[str, Any], label: str = "Secret") -> str:
    """A newly issued key's secret, which the API shows this once."""
    return f"{label} (shown once, store it now; Bureau keeps only its hash):\n  {issued['secret']}"


def _tenant_status(tenant: dict[str, Any]) -> str:
    return "suspended" if tenant.get("suspended") else "active"


def tenant_line(tenant: dict[str, Any]) -> str:
    """`ID  'NAME'  active|suspended` on one line."""
    return f"{tenant['id']}  {tenant.get('name')!r}  {_tenant_status(tenant)}"


def tenants_table(tenants: list[dict[str, Any]]) -> str:
    """Tenants as a table."""
    if not tenants:
        return "No tenants."
    rows = [
        [
            tenant["id"],
            _tenant_status(tenant),
            str(tenant.get("created_at") or "-"),
            tenant.get("name") or "",
        ]
        for tenant in tenants
    ]
    return table(["ID", "STATUS", "CREATED", "NAME"], rows)
