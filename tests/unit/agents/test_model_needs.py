"""What the catalog says of an agent's models (`service.catalog.model_needs`) and how the
CLI shows it: needed, ready, and what to configure when it is not."""

from __future__ import annotations

from typing import Any

from bureau.agents import AGENTS, csv_analyst, doc_digest, researcher, support_triage
from bureau.cli.views import agent_details, agents_table
from bureau.service.catalog import model_needs

PROFILES = ["fast", "balanced", "thorough"]


def spec(models: dict[str, list[str]] | None) -> dict[str, Any]:
    return {"profiles": PROFILES, **({"models": models} if models else {})}


def test_an_agent_that_calls_no_model_has_no_models_field() -> None:
    assert model_needs(spec(None), ["default"]) is None
    assert model_needs(spec({}), []) is None


def test_the_demo_llm_agents_need_the_model_default() -> None:
    for definition in (researcher, support_triage):
        entry = definition.catalog_entry()
        assert entry["models"] == {"*": ["default"]} and "models_required" not in entry
        assert model_needs(entry, ["default", "big"]) == {
            "needs": ["default"],
            "required": True,
            "ready": True,
            "why": None,
        }
    assert model_needs(researcher.catalog_entry(), []) == {
        "needs": ["default"],
        "required": True,
        "ready": False,
        "why": "needs a model provider: set BUREAU_LLM_MODELS with a model named 'default'",
    }
    other = model_needs(researcher.catalog_entry(), ["small", "big"])
    assert other is not None and other["ready"] is False
    assert other["why"] == (
        "needs a model named 'default' in BUREAU_LLM_MODELS, which configures only 'big', 'small'"
    )
    assert {d.name for d in AGENTS if "models" in d.catalog_entry()} == {
        "csv-analyst",
        "doc-digest",
        "researcher",
        "support-triage",
    }


def test_the_data_agents_run_without_their_model() -> None:
    for definition in (csv_analyst, doc_digest):
        entry = definition.catalog_entry()
        assert entry["models"] == {"*": ["default"]} and entry["models_required"] is False
        assert model_needs(entry, []) == {
            "needs": ["default"],
            "required": False,
            "ready": False,
            "why": "runs without a model; set BUREAU_LLM_MODELS with a model named 'default' "
            "for what it does with one",
        }
        assert (model_needs(entry, ["default"]) or {}).get("ready") is True


def test_every_profile_that_names_models_needs_one_of_them() -> None:
    per_profile = spec({"fast": ["small"], "thorough": ["big", "small"], "balanced": ["big"]})
    needs = model_needs(per_profile, ["small"])
    assert needs is not None and needs["needs"] == ["small", "big"]
    assert needs["ready"] is False and "'big'" in (needs["why"] or "")
    assert (model_needs(per_profile, ["big", "small"]) or {}).get("ready") is True
    fallback = spec({"*": ["a", "b"], "fast": ["c"]})
    assert (model_needs(fallback, ["b", "c"]) or {}).get("ready") is True
    missing_fast = model_needs(fallback, ["a"])
    assert missing_fast is not None and missing_fast["why"] == (
        "needs a model named 'c' in BUREAU_LLM_MODELS, which configures only 'a'"
    )


def test_the_cli_shows_whether_the_models_are_there() -> None:
    ready = {"needs": ["default"], "required": True, "ready": True, "why": None}
    missing = {**ready, "ready": False, "why": "needs a model provider: set X"}
    optional = {**missing, "required": False, "why": "runs without a model; set X"}
    agents = [
        {"name": "support-triage", "latest_version": "1.0.0", "models": ready},
        {"name": "researcher", "latest_version": "1.0.0", "models": missing},
        {"name": "noop", "latest_version": "0.1.0"},
        {"name": "csv-analyst", "latest_version": "1.2.0", "models": optional},
    ]
    header, *rows = agents_table(agents).splitlines()
    assert header.split() == [
        "NAME",
        "VERSION",
        "PRICE",
        "SLA",
        "CAPABILITIES",
        "MODELS",
        "DESCRIPTION",
    ]
    assert "default (ready)" in rows[0] and "default (needs a provider)" in rows[1]
    assert rows[2].split()[5] == "-" and "default (optional, off)" in rows[3]
    plain = agents_table([agents[2]]).splitlines()[0].split()
    assert "MODELS" not in plain  # no column when no agent calls models
    details = agent_details(agents[1])
    assert "  models: default (not ready: needs a model provider: set X)" in details
