"""What units and supervisors do to a case: each action checked, recorded and answered with the case file."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from dispatch_common import etag, store
from dispatch_common.auth import Principal
from services.supervision import commands
from services.supervision.container import Supervision
from services.supervision.domain.lifecycle import NotAllowed, NotEntitled
from services.supervision.entrypoints.cases import case_file_view
from services.supervision.entrypoints.deps import Code, CurrentUser, SupervisionDeps
from services.supervision.entrypoints.schemas import CaseFile

# Every action answers the case file as it is after the action, with its new version as the ETag; an
# If-Match from another version is refused with 412 and changes nothing.
router = APIRouter(
    prefix="/v1",
    tags=["case file"],
    responses={
        200: {"description": "the case file after the action", "headers": etag.ETAG_HEADER},
        412: {"description": "If-Match names a version of the case file that is no longer current"},
    },
)


class Note(BaseModel):
    """What a person writes with an action."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=2000)


class Progress(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=2000)
    visibility: Literal["internal", "public"] = Field(
        "internal",
        description="`public`: the note may be told to the petitioner (一信三反馈) as written; "
        "`internal` (default): a working note for staff only",
    )


class Assistance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    units: list[Code] = Field(min_length=1, max_length=10)
    note: str = Field(min_length=1, max_length=2000)


class ExtensionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: int = Field(ge=1, le=365)
    reason: str = Field(min_length=2, max_length=2000)


class ExtensionDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    reason: str = Field(min_length=2, max_length=2000)


class Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    result: Literal["resolved", "explained", "not_supported"]
    text: str = Field(min_length=2, max_length=10_000, description="the opinion (处理意见)")
    matter: str | None = Field(
        None, max_length=2000, description="the matter raised (反映事项); default: the case's text"
    )
    facts: str | None = Field(
        None, max_length=5000, description="the facts found (查明事实); default: says none were given"
    )
    basis: str | None = Field(
        None, max_length=2000, description="legal or policy basis (依据); default: says none was given"
    )


class FollowUp(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: Literal["satisfied", "basically_satisfied", "dissatisfied"]
    note: str | None = Field(None, max_length=2000)
    reopen: bool = Field(
        False,
        description="不满意 and the petitioner asks for the matter to be handled again (重办): the case "
        "reopens for its unit (the county's policy may reopen every 不满意)",
    )


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=2, max_length=2000)


@contextmanager
def _answers() -> Iterator[None]:
    try:
        yield
    except commands.CaseNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except NotEntitled as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except NotAllowed as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except store.VersionConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, "the case changed meanwhile; read it again") from exc


async def _act(
    sv: Supervision, case_id: str, user: Principal, tag: etag.Version, cmd: commands.Command
) -> CaseFile:
    with _answers():
        doc = await commands.act(
            case_id,
            cmd,
            caller=user,
            files=sv.files,
            keeper=sv.keeper,
            clock=sv.clock,
            confidential_readers=sv.confidentiality.readers,
            precondition=tag.require,
        )
    sv.runtime.nudge()
    tag.send(doc["version"])
    await sv.confidentiality.shown(user, [doc], f"case file ({cmd.action})", key="_id")
    return CaseFile.model_validate(case_file_view(doc, await sv.files.entries(case_id), sv.clock.now()))


@router.post("/cases/{case_id}/sign", summary="The lead unit signs for the case (签收)")
async def sign(
    case_id: str, body: Note, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> CaseFile:
    return await _act(sv, case_id, user, tag, commands.Command("sign", body.note))


@router.post("/cases/{case_id}/progress", summary="The lead or an assisting unit posts progress")
async def progress(
    case_id: str, body: Progress, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> CaseFile:
    """A working note stays internal unless the unit marks it `public` for the petitioner."""
    details = {"visibility": body.visibility}
    return await _act(sv, case_id, user, tag, commands.Command("progress", body.note, details))


@router.post("/cases/{case_id}/assistance", summary="The lead unit asks other units to assist (请求协办)")
async def assistance(
    case_id: str, body: Assistance, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> CaseFile:
    """The units asked join the case as assisting units: they see it, post progress and have it on
    their worklist. Each must be a unit of the county's directory."""
    unknown = [
        {
            "loc": ["body", "units", i],
            "msg": f"no unit {code} in the county's directory",
            "type": "value_error",
        }
        for i, code in enumerate(body.units)
        if code not in sv.units
    ]
    if unknown:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, unknown)
    units = [sv.units[code] for code in dict.fromkeys(body.units)]
    return await _act(sv, case_id, user, tag, commands.Command("assistance", body.note, {"units": units}))


@router.post("/cases/{case_id}/extension", summary="The lead unit asks for an extension (申请延期), once")
async def extension(
    case_id: str, body: ExtensionRequest, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> CaseFile:
    return await _act(sv, case_id, user, tag, commands.Command("extension", body.reason, {"days": body.days}))


@router.post("/cases/{case_id}/extension/decision", summary="A supervisor approves or refuses the extension")
async def extension_decision(
    case_id: str, body: ExtensionDecision, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> CaseFile:
    return await _act(
        sv, case_id, user, tag, commands.Command("extension_decision", body.reason, {"approve": body.approve})
    )


@router.post(
    "/cases/{case_id}/reply", summary="The lead unit replies (答复/办结); the reply document is made"
)
async def reply(
    case_id: str, body: Reply, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> CaseFile:
    details = body.model_dump(include={"result", "matter", "facts", "basis"})
    return await _act(sv, case_id, user, tag, commands.Command("reply", body.text, details))


@router.post("/cases/{case_id}/followup", summary="The petitioner's rating at the follow-up call (回访)")
async def followup(
    case_id: str, body: FollowUp, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> CaseFile:
    """满意 and 基本满意 end the follow-up; 不满意 reopens the case with a new handling limit when the
    petitioner asks for it to be handled again (`reopen`) or the county's policy reopens every 不满意;
    otherwise the petitioner may ask for a review (复查)."""
    details = {"rating": body.rating, "reopen": body.reopen}
    return await _act(sv, case_id, user, tag, commands.Command("followup", body.note, details))


@router.post("/cases/{case_id}/close", summary="Close a followed-up or review-answered case (结案)")
async def close(
    case_id: str, body: Note, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> CaseFile:
    return await _act(sv, case_id, user, tag, commands.Command("close", body.note))


@router.post("/cases/{case_id}/review", summary="Record the petitioner's request for a review (复查)")
async def review(
    case_id: str, body: Reason, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> CaseFile:
    return await _act(sv, case_id, user, tag, commands.Command("review", body.reason))


@router.post("/cases/{case_id}/review/answer", summary="The review's answer (复查意见)")
async def review_answer(
    case_id: str, body: Reason, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> CaseFile:
    return await _act(sv, case_id, user, tag, commands.Command("review_answer", body.reason))


@router.post("/cases/{case_id}/re-review", summary="Record the petitioner's request for a re-review (复核)")
async def re_review(
    case_id: str, body: Reason, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> CaseFile:
    return await _act(sv, case_id, user, tag, commands.Command("re_review", body.reason))


@router.post(
    "/cases/{case_id}/re-review/answer", summary="The re-review's answer (复核意见), which closes the case"
)
async def re_review_answer(
    case_id: str, body: Reason, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> CaseFile:
    return await _act(sv, case_id, user, tag, commands.Command("re_review_answer", body.reason))


class LeaderHolding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    leader: str = Field(min_length=1, max_length=100)
    responsibilities: str = Field(min_length=2, max_length=2000)
    plan: str = Field(min_length=2, max_length=10_000, description="一案一策: the plan for this case")


class JointSupervision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    with_: str = Field(
        alias="with", min_length=1, max_length=100, description="e.g. the discipline inspection"
    )
    reason: str = Field(min_length=2, max_length=2000)


@router.post("/cases/{case_id}/leader-holding", summary="A leader holds a key case (领导包案, 一案一策)")
async def leader_holding(
    case_id: str, body: LeaderHolding, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> CaseFile:
    details = {"leader": body.leader, "responsibilities": body.responsibilities, "plan": body.plan}
    return await _act(sv, case_id, user, tag, commands.Command("leader_holding", None, details))


@router.post(
    "/cases/{case_id}/joint-supervision", summary="Supervise jointly with discipline inspection (信访+纪检)"
)
async def joint_supervision(
    case_id: str, body: JointSupervision, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> CaseFile:
    return await _act(
        sv, case_id, user, tag, commands.Command("joint_supervision", body.reason, {"with": body.with_})
    )
