"""Supervision's administration: rebuilding the projections."""

from fastapi import APIRouter

from services.supervision.entrypoints.deps import CurrentUser, SupervisionDeps
from services.supervision.entrypoints.schemas import Reprojected

router = APIRouter(prefix="/v1", tags=["case file"])


@router.post("/admin/reproject", summary="Rebuild the worklist and KPI rollups from the case files")
async def reproject(user: CurrentUser, sv: SupervisionDeps) -> Reprojected:
    """After a crash between a case file and its projections, or a change of their shape."""
    return Reprojected.model_validate(await sv.files.reproject(sv.keeper.timezone))
