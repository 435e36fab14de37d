"""An organization's own work: the mediations a mediation organization holds and the referrals a
center (legal aid, counselling, arbitration, court) receives, in cursor pages, filtered by state.

Whose list it is comes from the caller's token (its `unit`); a county-wide role names the unit
(`unit`, else `422`). Who may call is the authorization table's (data/policy/authorization.yaml).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status

from dispatch_common.auth import Principal
from dispatch_common.paging import BadCursor
from services.mediation.domain.lifecycle import CONCLUDED, OPEN
from services.mediation.domain.policy import REFERRAL_KINDS
from services.mediation.entrypoints import schemas
from services.mediation.entrypoints.deps import CurrentUser, Cursor, Limit, MediationDeps
from services.mediation.entrypoints.referrals import referral_view
from services.mediation.entrypoints.views import mediation_head

router = APIRouter(prefix="/v1/worklist", tags=["worklists"])
MEDIATION_STATES = OPEN | CONCLUDED
REFERRAL_STATES = frozenset({"made", "accepted", "closed"})
Unit = Annotated[str | None, Query(max_length=64, description="for county-wide roles: whose list")]
States = Annotated[list[str], Query(alias="status", max_length=16, description="repeat for several")]
Kinds = Annotated[list[str], Query(alias="kind", max_length=16, description="repeat for several")]
View = Callable[[dict[str, Any]], dict[str, Any]]


def _problem(field: str, msg: str, kind: str) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT, [{"loc": ["query", field], "msg": msg, "type": kind}]
    )


def _whose(user: Principal, unit: str | None) -> str:
    whose = unit if user.county_wide else user.unit
    if not whose:
        raise _problem("unit", "name a unit (the organization or center whose list it is)", "missing")
    return whose


def _known(field: str, given: list[str], allowed: frozenset[str]) -> list[str]:
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise _problem(field, f"unknown {field} {unknown}; one of {sorted(allowed)}", "enum")
    return given


def mediation_summary(doc: dict[str, Any]) -> dict[str, Any]:
    """A mediation as a list shows it: no party's name or record (those are read one mediation at a
    time, audited), the next session that is planned."""
    planned = [s for s in doc.get("sessions") or [] if s.get("status") == "scheduled"]
    nxt = min(planned, key=lambda s: s["start_at"]) if planned else None
    return mediation_head(doc) | {
        "opened_at": doc["opened_at"],
        "due_at": doc.get("due_at"),
        "concluded_at": doc.get("concluded_at"),
        "next_session": {k: nxt.get(k) for k in ("no", "start_at", "place", "video")} if nxt else None,
    }


@dataclass
class Asked:
    """What both lists are asked: whose (county-wide roles), how many, after which cursor."""

    unit: Unit = None
    limit: Limit = 50
    cursor: Cursor = None


Page = Annotated[Asked, Depends()]


async def _answer(
    whose: str, asked: Asked, fetch: Awaitable[tuple[list[dict[str, Any]], str | None]], view: View
) -> dict[str, Any]:
    try:
        docs, nxt = await fetch
    except BadCursor as exc:
        raise _problem("cursor", str(exc), "cursor") from exc
    return {"unit": whose, "items": [view(d) for d in docs], "limit": asked.limit, "next_cursor": nxt}


@router.get(
    "/mediations",
    summary="The mediations of the caller's organization, oldest first",
    response_model=schemas.OrganizationMediations,
)
async def organization_mediations(
    user: CurrentUser,
    med: MediationDeps,
    page: Page,
    states: States = [],  # noqa: B006 - FastAPI reads the default, never mutates it
) -> dict[str, Any]:
    """The mediations an organization holds (its own unit for a mediator, handler or leader), in the
    states asked (`status`, repeatable; all by default), a page at a time (`next_cursor`)."""
    whose = _whose(user, page.unit)
    wanted = _known("status", states, MEDIATION_STATES)
    fetch = med.repo.of_organization(whose, wanted, page.limit, page.cursor)
    return await _answer(whose, page, fetch, mediation_summary)


@router.get(
    "/referrals",
    summary="The referrals the caller's center receives, oldest first",
    response_model=schemas.ReceivedReferrals,
)
async def received_referrals(
    user: CurrentUser,
    med: MediationDeps,
    page: Page,
    states: States = [],  # noqa: B006 - FastAPI reads the default, never mutates it
    kinds: Kinds = [],  # noqa: B006
) -> dict[str, Any]:
    """The referrals a center receives (its own unit for a handler or leader), in the states and of
    the kinds asked (`status`, `kind`, repeatable; all by default), a page at a time (`next_cursor`)."""
    whose = _whose(user, page.unit)
    wanted = _known("status", states, REFERRAL_STATES)
    of_kinds = _known("kind", kinds, frozenset(REFERRAL_KINDS))
    fetch = med.repo.referrals_received(whose, wanted, of_kinds, page.limit, page.cursor)
    return await _answer(whose, page, fetch, referral_view)
