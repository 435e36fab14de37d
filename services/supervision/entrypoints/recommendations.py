"""The three recommendation powers (三项建议权) used on a unit."""

from typing import Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from dispatch_common import paging
from services.supervision.entrypoints import schemas
from services.supervision.entrypoints.deps import CurrentUser, Cursor, Limit, SupervisionDeps
from services.supervision.recommendations import recommend as record_recommendation

router = APIRouter(prefix="/v1", tags=["case file"])


class Recommendation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["improve_work", "improve_policy", "accountability"]
    text: str = Field(min_length=2, max_length=10_000)
    case_id: str | None = Field(None, max_length=64)


@router.post(
    "/units/{unit}/recommendations",
    summary="Use a recommendation power on a unit (三项建议权)",
    status_code=201,
)
async def recommend(
    unit: str, body: Recommendation, user: CurrentUser, sv: SupervisionDeps
) -> schemas.RecommendationView:
    """改进工作, 完善政策 or 追究责任, recorded against the unit and announced."""
    doc = await record_recommendation(
        unit, body.kind, body.text, body.case_id, caller=user, files=sv.files, clock=sv.clock
    )
    sv.runtime.nudge()
    return schemas.RecommendationView.model_validate(
        {k: v for k, v in doc.items() if k not in ("outbox", "outbox_pending", "version")}
    )


@router.get("/units/{unit}/recommendations", summary="The recommendations recorded against a unit")
async def recommendations(
    unit: str, user: CurrentUser, sv: SupervisionDeps, limit: Limit = 50, cursor: Cursor = None
) -> schemas.Recommendations:
    """Oldest first, a cursor page at a time (`next_cursor`; null: the last page)."""
    if not user.county_wide and user.unit != unit:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no recommendations for {unit}")
    found = await paging.page_or_422(
        sv.files.recommendations,
        {"unit": unit, "at_ts": {"$gte": 0}},
        sort="at_ts",
        limit=limit,
        cursor=cursor,
        projection={"outbox": 0, "outbox_pending": 0, "version": 0},
    )
    items = [
        {"recommendation_id": d["_id"], **{k: v for k, v in d.items() if k not in ("_id", "at_ts")}}
        for d in found.items
    ]
    page = {"unit": unit, "items": items, "limit": limit, "next_cursor": found.next_cursor}
    return schemas.Recommendations.model_validate(page)
