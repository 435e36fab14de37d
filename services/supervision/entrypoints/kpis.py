"""The figures the county is judged by (考核指标), as JSON or CSV."""

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import Response

from services.supervision.domain import kpis as kpi_domain
from services.supervision.entrypoints.deps import CurrentUser, SupervisionDeps
from services.supervision.entrypoints.schemas import Kpis

router = APIRouter(prefix="/v1", tags=["case file"])


@router.get(
    "/kpis",
    summary="The figures the county is judged by, grouped and over a period of months",
    response_model=Kpis,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def kpis_view(
    user: CurrentUser,
    sv: SupervisionDeps,
    group_by: Literal["unit", "town", "category", "tier", "period"] = "unit",
    from_: Annotated[str | None, Query(alias="from", pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
    to: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
    unit: Annotated[str | None, Query(max_length=32)] = None,
    town: Annotated[str | None, Query(max_length=32)] = None,
    category: Annotated[str | None, Query(max_length=16)] = None,
    tier: Annotated[str | None, Query(max_length=16)] = None,
    format_: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Any:
    """响应率, 按期办结率, 解决率, 满意率, 化解率, repeat rate and average handling time, counted by the
    month of assignment; a unit leader sees its own unit only. `format=csv` exports the table."""
    if not user.county_wide:
        if not user.unit:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "a unit role needs a unit in its token")
        unit = user.unit
    query: dict[str, Any] = {}
    period: dict[str, str] = {}
    if from_:
        period["$gte"] = from_
    if to:
        period["$lte"] = to
    if period:
        query["period"] = period
    for field, value in (("unit", unit), ("town", town), ("category", category), ("tier", tier)):
        if value:
            query[field] = value
    found = await sv.files.rollup_rows(query)
    if not sv.confidentiality.reads_every_report(user):  # a unit's own reports stay in its own figures
        found = [r for r in found if not r.get("confidential") or r.get("unit") == user.unit]
    rows = kpi_domain.summarize(found, group_by)
    if format_ == "csv":
        return Response(
            _csv(rows, group_by),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="kpis.csv"'},
        )
    return {"group_by": group_by, "from": from_, "to": to, "rows": rows}


def _csv(rows: list[dict[str, Any]], group_by: str) -> str:
    out = io.StringIO()
    rates = [
        "assigned",
        "response_rate",
        "on_time_reply_rate",
        "resolution_rate",
        "satisfaction_rate",
        "dispute_resolution_rate",
        "repeat_rate",
        "average_handling_hours",
    ]
    writer = csv.writer(out)
    writer.writerow([group_by, *rates])
    for row in rows:
        writer.writerow([row[group_by], *("" if row[r] is None else row[r] for r in rates)])
    return out.getvalue()
