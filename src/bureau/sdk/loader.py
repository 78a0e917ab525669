"""Finding agents: by file path, directory, module name, declarative YAML or TOML file, or the
`bureau.agents` entry points."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from bureau.errors import UsageError
from bureau.sdk.decorator import AgentDefinition

ENTRY_POINT_GROUP = "bureau.agents"
DECLARATIVE_SUFFIXES = (".yaml", ".yml", ".toml")


def definitions_in(module: ModuleType) -> list[AgentDefinition]:
    """Every `AgentDefinition` bound at module level, in definition order."""
    found = [value for value in vars(module).values() if isinstance(value, AgentDefinition)]
    extra = getattr(module, "AGENTS", None)
    if isinstance(extra, list | tuple):
        found.extend(d for d in extra if isinstance(d, AgentDefinition) and d not in found)
    return found


def _import_path(path: Path) -> list[ModuleType]:
    if path.is_dir():
        return [_import_file(p) for p in sorted(path.glob("*.py")) if not p.name.startswith("_")]
    return [_import_file(path)]


def _import_file(path: Path) -> ModuleType:
    name = f"bureau_user_agents.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot import agents from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_agents(sources: Iterable[str], *, entry_point_group: bool = True) -> list[AgentDefinition]:
    """Load agents from each source (a .py file, a directory of them, a module name, or a
    YAML or TOML file of declarative LLM agents, see `bureau.llm.declarative`).

    Raises `UsageError` when a source cannot be found, holds no agent, or two sources
    define the same name and version.
    """
    modules: list[ModuleType] = []
    declared: list[AgentDefinition] = []
    for source in sources:
        path = Path(source)
        if source.endswith(DECLARATIVE_SUFFIXES):
            if not path.is_file():
                raise UsageError(f"--agents {source}: no such file")
            from bureau.llm.declarative import load_file

            declared.extend(load_file(path))
            continue
        if source.endswith(".py") or path.is_dir():
            if not path.exists():
                raise UsageError(f"--agents {source}: no such file or directory")
            loaded = _import_path(path)
        else:
            try:
                loaded = [importlib.import_module(source)]
            except ImportError as exc:
                raise UsageError(f"--agents {source}: cannot import module ({exc})") from exc
        if not any(definitions_in(m) for m in loaded):
            raise UsageError(f"--agents {source}: no @agent definitions found")
        modules.extend(loaded)
    definitions = [*declared, *(d for m in modules for d in definitions_in(m))]
    if entry_point_group:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            target = ep.load()
            if isinstance(target, AgentDefinition):
                definitions.append(target)
            elif isinstance(target, ModuleType):
                definitions.extend(definitions_in(target))
    unique: dict[str, AgentDefinition] = {}
    for definition in definitions:
        existing = unique.get(definition.ref)
        if existing is not None and existing.fn is not definition.fn:
            raise UsageError(f"agent {definition.ref} is defined twice")
        unique[definition.ref] = definition
    return list(unique.values())
