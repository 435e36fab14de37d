"""What-if replay of the screening rules over HTTP (admin): start a replay of a period with candidate
rules, follow it, page its differences; and activation, the rules reload that records the replay report
it was approved on."""

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from fastapi.exceptions import RequestValidationError

from dispatch_common import paging
from dispatch_common.jobs import Job, Jobs
from dispatch_common.paging import PageOf
from services.intake import screening_replay
from services.intake.container import Intake, RulesMismatch
from services.intake.domain.screening import RULES_WHERE, ScreeningRulesError
from services.intake.entrypoints.deps import TOO_MANY, CurrentUser, IntakeDeps, limited
from services.intake.entrypoints.screening_replay_schemas import (
    RulesActivation,
    ScreeningDifference,
    ScreeningReplay,
    ScreeningReplayStart,
)

router = APIRouter(prefix="/v1/admin", tags=["administration"], responses=TOO_MANY)
# Who may call each operation, and with which scope: data/policy/authorization.yaml.


def rules_problems(exc: ScreeningRulesError) -> RequestValidationError:
    """The loader's problems as field-level errors: each on the file it names."""
    errors = []
    for problem in exc.problems:
        name = next((n for n, where in RULES_WHERE.items() if problem.startswith(f"{where}:")), None)
        loc = ("body", "rules", "files", name) if name else ("body", "rules")
        errors.append({"loc": loc, "msg": problem, "type": "screening_rules"})
    return RequestValidationError(errors)


FACTS = (
    "period",
    "candidate_version",
    "candidate_digest",
    "baseline_version",
    "baseline_digest",
    "requested_by",
)
"""What a screening replay started with, shown with it."""


def replay_view(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored screening replay as the API shows it (ScreeningReplay)."""
    return Jobs.view(doc, FACTS)


def _jobs(intake: Intake) -> Jobs:
    assert intake.replays is not None
    return intake.replays


async def _replay(intake: Intake, replay_id: str) -> dict[str, Any]:
    return await _jobs(intake).found(replay_id, "screening replay")


@router.post(
    "/screening-replays",
    dependencies=[limited("read")],
    response_model=ScreeningReplay,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Screen a period's cases again with candidate screening rules (what-if), changing nothing",
)
async def start_screening_replay(
    body: ScreeningReplayStart, user: CurrentUser, intake: IntakeDeps, response: Response
) -> Any:
    """The candidate is validated as a reload validates the rules (`422`, each problem on the file it
    names); then every case received in the period is screened again by the rules in use and by the
    candidate, from what intake stored, in the background. Follow it at `Location`."""
    try:
        candidate = await asyncio.to_thread(screening_replay.load_candidate, body.rules.files, intake)
    except ScreeningRulesError as exc:
        raise rules_problems(exc) from exc
    baseline = intake.screening.current  # the rules in use when the replay starts

    async def work(job: Job) -> dict[str, Any]:
        return await screening_replay.run(
            job, intake=intake, baseline=baseline, candidate=candidate, start=body.start, end=body.end
        )

    doc = await _jobs(intake).start(
        work,
        period={"from": body.start, "to": body.end},
        candidate_version=candidate.rules.version,
        candidate_digest=candidate.rules.digest,
        baseline_version=baseline.rules.version,
        baseline_digest=baseline.rules.digest,
        requested_by=user.subject,
    )
    response.headers["Location"] = f"/v1/admin/screening-replays/{doc['_id']}"
    return replay_view(doc)


@router.get(
    "/screening-replays/{replay_id}",
    dependencies=[limited("read")],
    response_model=ScreeningReplay,
    summary="A screening replay: its progress, and its totals by outcome when done",
)
async def get_screening_replay(replay_id: str, user: CurrentUser, intake: IntakeDeps) -> Any:
    """Progress (`done` of `total` cases), cases per second, and when done the totals: cases replayed
    and changed, drifted, which parts changed how often, and the cases by outcome before → after."""
    return replay_view(await _replay(intake, replay_id))


@router.get(
    "/screening-replays/{replay_id}/differences",
    dependencies=[limited("read")],
    response_model=PageOf[ScreeningDifference],
    summary="The cases a screening replay's candidate screens otherwise, both screenings side by side",
)
async def list_screening_replay_differences(
    replay_id: str,
    user: CurrentUser,
    intake: IntakeDeps,
    cursor: paging.Cursor = None,
    limit: paging.Limit = 50,
) -> Any:
    """In the order the cases were received; readable while the replay runs."""
    return await _jobs(intake).items_page(await _replay(intake, replay_id), cursor=cursor, limit=limit)


async def activate(intake: Intake, body: RulesActivation, by: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Reload the rules on disk only if they are the ones the replay tried (`409` otherwise, or while
    the replay has not finished), and record the replay report they are approved on. The rules now in
    force, and the approval."""
    doc = Jobs.done(await _replay(intake, body.replay_id))
    try:
        here = await intake.reload_rules(expect_digest=doc["candidate_digest"])
    except RulesMismatch as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    assert intake.approvals is not None
    approval = await screening_replay.record_approval(intake.approvals, doc, by=by, at=intake.clock.now())
    return here, approval
