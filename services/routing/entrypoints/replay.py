"""What-if replay over HTTP (admin): start a replay of a period with a candidate package, follow it,
page its differences; and activation, the reload that records the replay report it was approved on."""

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from fastapi.exceptions import RequestValidationError

from dispatch_common import paging
from dispatch_common.jobs import Job, Jobs
from dispatch_common.paging import PageOf
from services.routing import replay
from services.routing.container import PackageMismatch, Routing
from services.routing.domain.county import PACKAGE_FILES, CountyPackageError
from services.routing.entrypoints.replay_schemas import Activation, Replay, ReplayDifference, ReplayStart
from services.routing.entrypoints.views import CurrentUser, RoutingDeps

router = APIRouter(prefix="/v1/admin", tags=["administration"])
# Who may call each operation, and with which scope: data/policy/authorization.yaml.


def package_problems(exc: CountyPackageError) -> RequestValidationError:
    """The loader's problems as field-level errors: each on the file it names, else on the package."""
    errors = []
    for problem in exc.problems:
        name = next((n for n in PACKAGE_FILES if problem.startswith(n)), None)
        loc = ("body", "package", "files", name) if name else ("body", "package")
        errors.append({"loc": loc, "msg": problem, "type": "county_package"})
    return RequestValidationError(errors)


FACTS = ("period", "candidate_version", "baseline_version", "requested_by")


def replay_view(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored replay job as the API shows it (Replay)."""
    return Jobs.view(doc, FACTS)


def _jobs(routing: Routing) -> Jobs:
    assert routing.replays is not None
    return routing.replays


async def _replay(routing: Routing, replay_id: str) -> dict[str, Any]:
    return await _jobs(routing).found(replay_id, "replay")


@router.post(
    "/replays",
    response_model=Replay,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Replay a period's routes with a candidate county package (what-if), changing nothing",
)
async def start_replay(body: ReplayStart, user: CurrentUser, routing: RoutingDeps, response: Response) -> Any:
    """The candidate is validated as a reload validates a package (`422`, each problem on the file it
    names); then every route decided in the period is decided again by the package in use and by the
    candidate, from the request it stored, in the background. Follow it at `Location`."""
    try:
        candidate = await asyncio.to_thread(replay.load_candidate, body.package.files, routing)
    except CountyPackageError as exc:
        raise package_problems(exc) from exc

    async def work(job: Job) -> dict[str, Any]:
        return await replay.run(
            job,
            routing=routing,
            candidate=candidate,
            start=body.start,
            end=body.end,
            workers=routing.replay_workers,
        )

    doc = await _jobs(routing).start(
        work,
        period={"from": body.start, "to": body.end},
        candidate_version=candidate.version,
        baseline_version=routing.engine.version,
        requested_by=user.subject,
    )
    response.headers["Location"] = f"/v1/admin/replays/{doc['_id']}"
    return replay_view(doc)


@router.get(
    "/replays/{replay_id}",
    response_model=Replay,
    summary="A replay: its progress, and its totals per unit when done",
)
async def get_replay(replay_id: str, user: CurrentUser, routing: RoutingDeps) -> Any:
    """Progress (`done` of `total` routes), cases per second, and when done the totals: routes
    replayed and changed, which parts changed how often, and each unit's load before and after."""
    return replay_view(await _replay(routing, replay_id))


@router.get(
    "/replays/{replay_id}/differences",
    response_model=PageOf[ReplayDifference],
    summary="The routes a replay's candidate decides otherwise, both decisions side by side",
)
async def list_replay_differences(
    replay_id: str,
    user: CurrentUser,
    routing: RoutingDeps,
    cursor: paging.Cursor = None,
    limit: paging.Limit = 50,
) -> Any:
    """In the order the routes were decided; readable while the replay runs."""
    return await _jobs(routing).items_page(await _replay(routing, replay_id), cursor=cursor, limit=limit)


async def activate(routing: Routing, body: Activation, by: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Reload the package on disk only if it is the one the replay tried (`409` otherwise, or while
    the replay has not finished), and record the replay report it is approved on. The package now
    in use, and the approval."""
    doc = Jobs.done(await _replay(routing, body.replay_id))
    try:
        here = await routing.reload_package(expect_version=doc["candidate_version"])
    except PackageMismatch as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    assert routing.approvals is not None
    approval = await replay.record_approval(routing.approvals, doc, by=by, at=routing.clock.now())
    return here, approval


async def approval_in_use(routing: Routing) -> dict[str, Any] | None:
    """The approval of the package in use, if it was activated on a replay."""
    assert routing.approvals is not None
    return await replay.approval_of(routing.approvals, routing.engine.version)
