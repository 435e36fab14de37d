"""FastAPI dependencies of supervision's routes, and what a case file says of who is on it."""

from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import Field

from dispatch_common import paging
from dispatch_common.auth import Principal, authenticate
from services.supervision.container import Supervision


async def _supervision(request: Request) -> Supervision:
    return request.app.state.supervision


CurrentUser = Annotated[Principal, Depends(authenticate)]
SupervisionDeps = Annotated[Supervision, Depends(_supervision)]
Cursor, Limit = paging.Cursor, paging.Limit  # one page size and cursor for every list
Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_-]+$")]


def _unit_codes(doc: dict[str, Any]) -> set[str]:
    units = [doc.get("lead_unit"), *list(doc.get("assisting_units") or [])]
    return {u["code"] for u in units if u}


def _area_codes(doc: dict[str, Any]) -> set[str]:
    jurisdiction = doc.get("jurisdiction") or {}
    return {v for k, v in jurisdiction.items() if k in ("town", "village", "grid") and v}
