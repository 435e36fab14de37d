"""Mediation's HTTP API: mediations, referrals, the directory of organizations and mediators, figures."""

from fastapi import FastAPI

from services.mediation.entrypoints import directory, mediations, referrals


def include(app: FastAPI) -> None:
    """Mount mediation's routes."""
    app.include_router(mediations.router)
    app.include_router(referrals.router)
    app.include_router(directory.router)
