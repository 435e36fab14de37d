"""Mediation's HTTP API: mediations, referrals, the directory of organizations and mediators, figures."""

from fastapi import FastAPI

from dispatch_common.auth import Principal, Resolver
from services.mediation.container import Mediation
from services.mediation.domain import lifecycle
from services.mediation.domain import referrals as referral_rules
from services.mediation.entrypoints import directory, mediations, mediators, referrals, worklists


def include(app: FastAPI) -> None:
    """Mount mediation's routes."""
    app.include_router(mediations.router)
    app.include_router(referrals.router)
    app.include_router(directory.router)
    app.include_router(mediators.router)
    app.include_router(worklists.router)


def resolvers(med: Mediation) -> dict[str, Resolver]:
    """What a unit's scope reaches here: the mediations of its organization (or that it asked for, or
    an escalation brought it into), the referrals it receives or made, its organization's mediators."""

    async def mediation_id(value: str, user: Principal) -> bool:
        doc = await med.repo.get(value)
        return doc is not None and lifecycle.may_see(user, doc)

    async def referral_id(value: str, user: Principal) -> bool:
        doc = await med.repo.referral(value)
        return doc is not None and referral_rules.may_see(user, doc)

    async def mediator_id(value: str, user: Principal) -> bool:
        doc = await med.repo.mediator(value)
        return doc is not None and doc.get("organization") == user.unit

    return {"mediation_id": mediation_id, "referral_id": referral_id, "mediator_id": mediator_id}
