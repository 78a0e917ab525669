"""The deployment files: Kubernetes manifests against the official schemas, and the
promises they make (probes, drain time, non-root)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "deploy" / "k8s").glob("*.yaml"))


def _documents() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.mark.parametrize("kubernetes_version", ["1.29.0", kubernetes_validate.latest_version()])
def test_manifests_are_valid_kubernetes(kubernetes_version: str) -> None:
    documents = _documents()
    assert len(documents) >= 10
    for document in documents:
        kubernetes_validate.validate(document, kubernetes_version, strict=True)


def test_fleet_shape_probes_and_drain() -> None:
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for document in _documents():
        by_kind.setdefault(document["kind"], []).append(document)
    deployments = {d["metadata"]["name"]: d for d in by_kind["Deployment"]}
    assert set(deployments) == {"bureau-api", "bureau-worker"}
    for deployment in deployments.values():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        container = pod["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    config = next(c for c in by_kind["ConfigMap"] if c["metadata"]["name"] == "bureau")
    grace = float(config["data"]["BUREAU_SHUTDOWN_GRACE_SECONDS"])
    worker_pod = deployments["bureau-worker"]["spec"]["template"]["spec"]
    assert worker_pod["terminationGracePeriodSeconds"] > grace
    assert worker_pod["containers"][0]["args"][0] == "worker"
    assert {
        p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
        for p in by_kind["PodDisruptionBudget"]
    } == {"api", "worker"}
    (autoscaler,) = by_kind["HorizontalPodAutoscaler"]
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == "bureau-worker"
    assert autoscaler["spec"]["metrics"][0]["external"]["metric"]["name"] == "bureau_queue_depth"


def test_compose_and_dockerfile() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert {"api", "worker", "postgres", "redis", "migrate"} <= set(compose["services"])
    assert compose["services"]["worker"]["command"][0] == "worker"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER 10001" in dockerfile and "-slim" in dockerfile
