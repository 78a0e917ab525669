"""`/v1/agents`: the catalog, with reputation from real runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from bureau.api.deps import CallerDep, ServiceDep
from bureau.api.problems import AUTHENTICATED, problems
from bureau.api.responses import OrjsonResponse
from bureau.service.catalog import RemoteAgentCreate
from bureau.states import TaskStatus
from bureau.store.views import Agent, AgentFailureList, AgentList, AgentRunList

router = APIRouter(prefix="/v1", tags=["agents"], responses=problems(*AUTHENTICATED))


@router.get("/agents", response_model=AgentList)
async def list_agents(
    caller: CallerDep,
    service: ServiceDep,
    q: Annotated[
        str | None, Query(max_length=200, description="Text in name or description")
    ] = None,
    capability: Annotated[str | None, Query(max_length=200)] = None,
) -> OrjsonResponse:
    """The catalog visible to the caller."""
    return OrjsonResponse(
        {"agents": await service.catalog.agents(caller, q=q, capability=capability)}
    )


@router.get("/agents/{name}", response_model=Agent, responses=problems(404))
async def get_agent(name: str, caller: CallerDep, service: ServiceDep) -> OrjsonResponse:
    """One agent with every version it published."""
    return OrjsonResponse(await service.catalog.agent(caller, name))


@router.get("/agents/{name}/failures", response_model=AgentFailureList, responses=problems(404))
async def agent_failures(
    name: str,
    caller: CallerDep,
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> OrjsonResponse:
    """The latest failed attempts of an agent the caller's tenant publishes, newest first,
    each with its error and traceback (a consumer sees the error only)."""
    return OrjsonResponse({"failures": await service.catalog.failures(caller, name, limit)})


@router.get("/agents/{name}/runs", response_model=AgentRunList, responses=problems(404))
async def agent_runs(
    name: str,
    caller: CallerDep,
    service: ServiceDep,
    status: TaskStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> OrjsonResponse:
    """The latest runs of an agent the caller's tenant publishes, across every consumer,
    newest first: status, timings, usage, cost, review verdict, error and traceback. Never
    the consumer's goal, input, questions, artifacts or deliverable."""
    runs = await service.catalog.runs(caller, name, status=status, limit=limit)
    return OrjsonResponse({"runs": runs})


@router.post(
    "/remote-agents",
    response_model=Agent,
    status_code=201,
    responses=problems(400, 403, 404, 413, 422),
)
async def add_remote_agent(
    body: RemoteAgentCreate, caller: CallerDep, service: ServiceDep
) -> OrjsonResponse:
    """Publish a remote A2A agent: Bureau reads its card (outbound calls obey the same
    network rules as webhooks) and lists it with runtime `a2a-remote`; Bureau's workers run
    its tasks through the A2A protocol. The credential is kept as a tenant secret and never
    returned."""
    agent = await service.catalog.publish_remote(caller, body)
    return OrjsonResponse(agent, status_code=201)
