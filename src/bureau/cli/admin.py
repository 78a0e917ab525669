"""`keys ...` (a tenant's admins manage its API keys), `audit` (they read its audit log)
and `tenants ...` (the operator).

A key's secret is printed only by the commands that issue one (`keys create`, `keys rotate`,
`tenants create`): the API shows it in that answer only.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from bureau.cli.commands import seconds, show
from bureau.cli.common import connect
from bureau.cli.views import (
    audit_table,
    key_details,
    keys_table,
    secret_block,
    tenant_line,
    tenants_table,
)

__all__ = ["register"]

ROLES = ("admin", "publisher", "member", "viewer")
ALL_PAGE_SIZE = 200  # `audit --all` without `--limit`: the largest page the API gives


def cmd_key_create(args: argparse.Namespace) -> int:
    with connect(args) as client:
        key = client.create_key(
            args.name, role=args.role, scopes=args.scopes, expires_in_seconds=args.expires_in
        )
    show(args, key, f"Created key {key_details(key)}\n\n{secret_block(key)}")
    return 0


def cmd_key_list(args: argparse.Namespace) -> int:
    with connect(args) as client:
        found = client.keys()
    show(args, {"keys": found}, keys_table(found))
    return 0


def cmd_key_show(args: argparse.Namespace) -> int:
    with connect(args) as client:
        key = client.key(args.id)
    show(args, key, key_details(key))
    return 0


def cmd_key_revoke(args: argparse.Namespace) -> int:
    with connect(args) as client:
        key = client.revoke_key(args.id)
    show(args, key, f"{key['id']}: revoked at {key.get('revoked_at')}")
    return 0


def cmd_key_rotate(args: argparse.Namespace) -> int:
    with connect(args) as client:
        key = client.rotate_key(args.id, grace_seconds=args.grace)
    until = key.get("previous_secret_until")
    old = f"The old secret works until {until}." if until else "The old secret no longer works."
    show(args, key, f"{key['id']}: rotated.\n\n{secret_block(key, 'New secret')}\n{old}")
    return 0


def _next_page(args: argparse.Namespace, cursor: str) -> str:
    """The `bureau audit` command that lists the page after this one."""
    command = ["bureau", "audit"]
    options = (("--action", args.action), ("--key", args.key_id), ("--limit", args.limit))
    for option, value in options:
        if value is not None:
            command += [option, str(value)]
    return shlex.join([*command, "--cursor", cursor])


def cmd_audit(args: argparse.Namespace) -> int:
    limit = args.limit if args.limit is not None else ALL_PAGE_SIZE if args.all else 50
    query = {"action": args.action, "key_id": args.key_id, "limit": limit}
    with connect(args) as client:
        page = client.audit(**query, cursor=args.cursor)
        records = list(page["records"])
        while args.all and page.get("next_cursor"):
            page = client.audit(**query, cursor=page["next_cursor"])
            records += page["records"]
    cursor = page.get("next_cursor")
    more = f"\nMore: {_next_page(args, cursor)}" if cursor else ""
    show(args, {"records": records, "next_cursor": cursor}, audit_table(records) + more)
    return 0


def cmd_tenant_create(args: argparse.Namespace) -> int:
    with connect(args) as client:
        tenant = client.create_tenant(args.name)
    admin = tenant["admin_key"]
    secret = secret_block(admin, f"Admin key {admin['id']}")
    show(args, tenant, f"Created tenant {tenant_line(tenant)}\n\n{secret}")
    return 0


def cmd_tenant_list(args: argparse.Namespace) -> int:
    with connect(args) as client:
        found = client.tenants()
    show(args, {"tenants": found}, tenants_table(found))
    return 0


def cmd_tenant_suspend(args: argparse.Namespace) -> int:
    with connect(args) as client:
        tenant = client.suspend_tenant(args.id)
    show(args, tenant, tenant_line(tenant))
    return 0


def cmd_tenant_resume(args: argparse.Namespace) -> int:
    with connect(args) as client:
        tenant = client.resume_tenant(args.id)
    show(args, tenant, tenant_line(tenant))
    return 0


def _grace(text: str) -> float:
    return seconds(text, zero=True)


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add `keys ...`, `audit` and `tenants ...` to the CLI."""

    def group(name: str, help: str) -> Any:
        parser = subparsers.add_parser(name, help=help)
        return parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(
        actions: Any, name: str, func: Any, help: str, *, id_of: str | None = None
    ) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(name, parents=[common], help=help)
        if id_of:
            parser.add_argument("id", metavar="ID", help=f"the {id_of} id")
        parser.set_defaults(func=func)
        return parser

    keys = group("keys", "manage your tenant's API keys (admins)")
    create = action(keys, "create", cmd_key_create, "issue a key; prints its secret once")
    create.add_argument("name", metavar="NAME", help="what the key is for")
    create.add_argument("--role", choices=ROLES, default="member", help="default: member")
    create.add_argument(
        "--scope",
        dest="scopes",
        action="append",
        metavar="SCOPE",
        help="narrow the role to this scope (repeat for more), e.g. tasks:read",
    )
    create.add_argument(
        "--expires-in", type=seconds, metavar="SECONDS", help="default: never expires"
    )
    action(keys, "list", cmd_key_list, "the tenant's keys (never their secrets)")
    action(keys, "show", cmd_key_show, "one key (never its secret)", id_of="key")
    action(keys, "revoke", cmd_key_revoke, "revoke a key: it stops working at once", id_of="key")
    rotate = action(keys, "rotate", cmd_key_rotate, "a new secret; prints it once", id_of="key")
    rotate.add_argument(
        "--grace",
        type=_grace,
        default=3600.0,
        metavar="SECONDS",
        help="how long the old secret keeps working (default 3600, at most 7 days)",
    )

    audit = subparsers.add_parser(
        "audit", parents=[common], help="your tenant's audit log, newest first (admins)"
    )
    audit.add_argument("--action", help="only this action, e.g. tasks.cancel or keys.create")
    audit.add_argument("--key", dest="key_id", metavar="KEY_ID", help="only this key's calls")
    audit.add_argument(
        "--limit", type=int, help="at most this many a page (1-200, default 50; 200 with --all)"
    )
    audit.add_argument("--cursor", help="the next page, from a previous listing")
    audit.add_argument("--all", action="store_true", help="every page, to the oldest record")
    audit.set_defaults(func=cmd_audit)

    tenants = group("tenants", "manage tenants (the operator)")
    create = action(tenants, "create", cmd_tenant_create, "a tenant; prints its admin key once")
    create.add_argument("name", metavar="NAME")
    action(tenants, "list", cmd_tenant_list, "every tenant")
    suspend_help = "suspend a tenant: its keys stop working at once"
    action(tenants, "suspend", cmd_tenant_suspend, suspend_help, id_of="tenant")
    action(tenants, "resume", cmd_tenant_resume, "lift a tenant's suspension", id_of="tenant")
