"""The petitioner profile (信访人画像) over HTTP: opened from a case, by the roles the authorization
table names for it, with a reason that is audited like a clear read; personal data masked unless
unmasked."""

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query

from dispatch_common.auth import Principal, require_capability
from dispatch_common.problems import invalid
from services.intake.container import Intake, Profiles
from services.intake.domain import profile
from services.intake.domain.protection import reveal_petitioner
from services.intake.entrypoints.deps import TOO_MANY, CurrentUser, IntakeDeps, limited
from services.intake.entrypoints.profile_schemas import Profile
from services.intake.entrypoints.views import readable, registration_view

router = APIRouter(prefix="/v1", tags=["profile"], responses=TOO_MANY)

Reason = Annotated[
    str | None, Query(max_length=200, description="why the profile is opened (required; it is audited)")
]


def parts(intake: Intake) -> Profiles:
    """The profile's parts (built with the service)."""
    assert intake.profiles is not None
    return intake.profiles


async def petitioner_keys(intake: Intake, case: dict[str, Any]) -> tuple[str, ...]:
    """Every key the case's petitioner is known by now: those at registration and any linked since."""
    identity = await intake.identities.identify(case.get("petitioner") or {})
    return tuple(dict.fromkeys([*(case.get("petitioner_keys") or []), *identity.keys]))


async def assemble(intake: Intake, user: Principal, keys: tuple[str, ...]) -> dict[str, Any]:
    """The cases, patterns, facts and added sections of the petitioner with these keys."""
    desk = parts(intake)
    case_ids = await desk.reader.case_ids(keys)
    pairs, facts = await asyncio.gather(desk.reader.cases_with_outcomes(case_ids), desk.pool.facts_of(keys))
    reads_all = intake.confidentiality.reads_every_report(user)
    shown = [(c, later) for c, later in pairs if reads_all or not c.get("confidential")]
    await intake.confidentiality.shown(
        user, [{"case_id": c["_id"], **c} for c, _ in shown], "petitioner profile"
    )
    size = desk.policy.group_size
    lines = [profile.case_line(c, later, group_size=size) for c, later in shown]
    lines.sort(key=lambda line: line["received_at"], reverse=True)
    names = {k: v.name for k, v in desk.policy.kinds.items()}
    # a section sees only the cases the caller is shown: a withheld confidential report adds nothing
    extra = await asyncio.gather(*(section(keys, shown) for section in desk.sections.values()))
    return {
        "summary": profile.summary(lines, withheld=len(pairs) - len(shown)),
        "cases": lines,
        "patterns": profile.patterns(lines),
        "facts": sorted(
            (profile.fact_line(f, b, names.get(f["kind"])) for f, b in facts),
            key=lambda line: line["date"],
            reverse=True,
        ),
        "sections": {"agents": [], "risk_entries": []} | dict(zip(desk.sections, extra, strict=True)),
    }


@router.get(
    "/cases/{case_id}/profile",
    dependencies=[limited("read")],
    response_model=Profile,
    summary="The petitioner profile (信访人画像) of a case's petitioner; every opening is audited",
    responses={403: {"description": "the authorization table does not name the caller's role"}},
)
async def get_petitioner_profile(
    case_id: str,
    user: CurrentUser,
    intake: IntakeDeps,
    reason: Reason = None,
    unmask: Annotated[bool, Query(description="show the petitioner's own data in clear (audited)")] = False,
) -> dict[str, Any]:
    """Every case of the petitioner across channels and years with what became of it, the repeat and
    group patterns, and the facts other systems supplied; the opening and its reason go to the case's
    audit log (`GET /v1/cases/{case_id}/audit`)."""
    if not reason or not reason.strip():
        raise invalid([{"loc": ["query", "reason"], "msg": "opening a profile states why (it is audited)"}])
    if unmask:
        require_capability(user, "unmask")
    case = await readable(intake, user, case_id, "petitioner profile")
    if case.get("petitioner_hash") is None:
        raise invalid(
            [
                {
                    "loc": ["path", "case_id"],
                    "msg": "the case's petitioner is anonymous or gave no ID number or phone",
                }
            ]
        )
    clear = reveal_petitioner(intake.keys, case) if unmask else {}
    body = await assemble(intake, user, await petitioner_keys(intake, case))
    await intake.cases.audit_unmasked_read(
        case_id=case_id,
        subject=user.subject,
        role=user.role.value,
        fields=["profile", *sorted(clear)],
        at=intake.clock.now(),
        reason=reason.strip(),
    )
    return {"case_id": case_id, "petitioner": registration_view(case, clear=clear)["petitioner"], **body}
