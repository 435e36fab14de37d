"""A clerk re-issues or revokes a case's lookup code (查询码, docs/progress.md)."""

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from dispatch_common import etag, lookup_code, store
from services.intake import lookup_codes
from services.intake.entrypoints.deps import TOO_MANY, CurrentUser, IntakeDeps, limited
from services.intake.entrypoints.views import readable

router = APIRouter(
    prefix="/v1",
    tags=["lookup code"],
    responses=TOO_MANY
    | {
        200: {"headers": etag.ETAG_HEADER, "description": "`ETag`: the code's new version, for If-Match"},
        412: {"description": "If-Match names a version of the code that is no longer current"},
    },
)


class LookupCodeState(BaseModel):
    """A case's lookup code after a change: the new code in clear only when one was just issued (tell
    it to the petitioner; it is not stored and cannot be read again)."""

    case_id: str
    case_no: str
    version: int = Field(description="grows with every re-issue and revocation")
    revoked: bool
    code: str | None = Field(None, description="the new code, `ABCD-EFGH`; null when revoked")


async def _change(
    case_id: str, user: CurrentUser, intake: IntakeDeps, tag: etag.Versioned, *, revoke: bool
) -> LookupCodeState:
    what = "lookup code revocation" if revoke else "lookup code re-issue"
    case = await readable(intake, user, case_id, what)
    try:
        saved, issued = await lookup_codes.change(
            intake, case, caller=user, revoke=revoke, precondition=tag.require
        )
    except store.VersionConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, "the case changed meanwhile; try again") from exc
    intake.runtime.nudge()
    version = saved["lookup"]["version"]
    tag.send(version)
    code = lookup_code.grouped(issued.code) if issued else None
    return LookupCodeState(
        case_id=case_id, case_no=saved["case_no"], version=version, revoked=revoke, code=code
    )


@router.post(
    "/cases/{case_id}/lookup-code",
    dependencies=[limited("read")],
    summary="Re-issue the petitioner's lookup code (查询码): the old one stops working",
)
async def reissue_lookup_code(
    case_id: str, user: CurrentUser, intake: IntakeDeps, tag: etag.Versioned
) -> LookupCodeState:
    """A new code, answered once in clear for the clerk to give the petitioner; supervision accepts it
    (and refuses the old one) once it has read the change, within a moment."""
    return await _change(case_id, user, intake, tag, revoke=False)


@router.delete(
    "/cases/{case_id}/lookup-code",
    dependencies=[limited("read")],
    summary="Revoke the petitioner's lookup code: no code opens the case's progress until re-issued",
)
async def revoke_lookup_code(
    case_id: str, user: CurrentUser, intake: IntakeDeps, tag: etag.Versioned
) -> LookupCodeState:
    return await _change(case_id, user, intake, tag, revoke=True)
