"""Open311 GeoReport v2 (JSON), so existing 311 apps can submit and follow cases.

POST needs an API key (`api_key`, as the standard says); reads need one too, since every endpoint
of the platform but health checks is authenticated. No personal data is ever returned.
"""

import hashlib
import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from dispatch_common.auth import Principal, Role
from dispatch_common.contracts import SCREENING_STATUS
from dispatch_common.ratelimit import retry_after
from services.intake import handlers
from services.intake.bootstrap import Intake
from services.intake.config import OPEN311_ROLE
from services.intake.domain.models import SubmitCase
from services.intake.entrypoints.deps import IntakeDeps

TOO_MANY: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "Too many requests from this app (or address): `[{code: 429, description}]`, "
        "wait `Retry-After` seconds"
    }
}
router = APIRouter(prefix="/open311/v2", tags=["open311"], responses=TOO_MANY)
# Intake's statuses (contracts.SCREENING_STATUS) as Open311's two: closed at intake, or open.
CLOSED = frozenset({"not_accepted", "redirected", "transferred", "answered"})
OPEN = frozenset(set(SCREENING_STATUS.values()) - CLOSED)


@cache
def _services(county_dir: Path) -> list[dict[str, Any]]:
    """The taxonomy of the county package as Open311 services (one per second-level category)."""
    taxonomy = json.loads((county_dir / "taxonomy.json").read_text(encoding="utf-8"))
    return [
        {
            "service_code": child["code"],
            "service_name": child["name"],
            "description": child["name"],
            "metadata": False,
            "type": "realtime",
            "keywords": "",
            "group": top["name"],
        }
        for top in taxonomy
        for child in top.get("children", [])
    ]


OPEN311_SUBJECT = "open311"
# Open311 apps follow the requests they submitted; other doors' cases and confidential reports stay out.
OPEN311_VISIBLE: dict[str, Any] = {"submitted_by": OPEN311_SUBJECT, "confidential": False}


def _error(code: int, description: str) -> JSONResponse:
    return JSONResponse([{"code": code, "description": description}], status_code=code)


def _client(intake: Intake, api_key: Any, request: Request) -> str:
    """Who the rate limit counts: the app of a known key (by a hash of the key, never the key), else
    the remote address (keyless or wrong-key calls, so guessing keys is limited too)."""
    if api_key and api_key in intake.open311_keys:
        return "open311-key:" + hashlib.sha256(str(api_key).encode()).hexdigest()[:16]
    return "open311-addr:" + (request.client.host if request.client else "unknown")


async def _limited(intake: Intake, request: Request, api_key: Any, kind: str) -> JSONResponse | None:
    """An Open311 error 429 with Retry-After when the caller is over its limit, else None."""
    wait = await intake.limiter.check(kind, _client(intake, api_key, request), OPEN311_ROLE)
    if wait is None:
        return None
    answer = _error(429, f"too many requests from this client; retry after {retry_after(wait)} s")
    answer.headers["Retry-After"] = retry_after(wait)
    return answer


def _denied(intake: Intake, api_key: Any) -> JSONResponse | None:
    """An Open311 error for a missing or unknown API key, else None."""
    if not api_key or api_key not in intake.open311_keys:
        return _error(403, "a valid api_key is required")
    return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def request_view(case: dict[str, Any]) -> dict[str, Any]:
    """A case as an Open311 service request."""
    assignment = case.get("assignment") or {}
    loc = case.get("location") or {}
    return {
        "service_request_id": case["case_no"],
        "status": "closed" if case["status"] in CLOSED else "open",
        "status_notes": (case.get("screening") or {}).get("reason"),
        "service_code": case.get("category_hint"),
        "description": case["text"],
        "agency_responsible": assignment.get("lead_unit_name"),
        "service_notice": (case.get("screening") or {}).get("answer"),
        "requested_datetime": _iso(case["received_at"]),
        "updated_datetime": _iso(assignment.get("noted_at") or case["received_at"]),
        "expected_datetime": _iso(assignment.get("due_at")),
        "address": case.get("address"),
        "lat": loc.get("lat"),
        "long": loc.get("lon"),
    }


@router.get("/services.json", summary="The categories citizens can report, as Open311 services")
async def services(
    intake: IntakeDeps, request: Request, api_key: Annotated[str | None, Query()] = None
) -> Any:
    """GeoReport v2 service list."""
    if refused := await _limited(intake, request, api_key, "read"):
        return refused
    if denied := _denied(intake, api_key):
        return denied
    return _services(request.app.state.settings.county_dir)


@router.post("/requests.json", summary="Submit a service request (GeoReport v2, form or JSON)")
async def create_request(request: Request, intake: IntakeDeps) -> Any:
    """Register a 311 request as a case; answers [{service_request_id, service_notice}]."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            form: dict[str, Any] = await request.json()
        except ValueError:
            return _error(400, "body is not JSON")
        if not isinstance(form, dict):
            return _error(400, "body must be a JSON object")
    else:
        form = dict(await request.form())
    if refused := await _limited(intake, request, form.get("api_key"), "submit"):
        return refused
    if denied := _denied(intake, form.get("api_key")):
        return denied
    settings = request.app.state.settings
    codes = {s["service_code"] for s in _services(settings.county_dir)}
    if form.get("service_code") not in codes:
        return _error(400, "service_code: not one of the codes of services.json")
    name = " ".join(str(form[k]) for k in ("first_name", "last_name") if form.get(k)) or None
    petitioner = (
        {"name": name, "phone": form.get("phone")} if (name or form.get("phone")) else {"anonymous": True}
    )
    try:
        body = {
            "channel": settings.open311_channel,
            "text": form.get("description") or "",
            "address": form.get("address_string") or None,
            "lon": _number(form.get("long")),
            "lat": _number(form.get("lat")),
            "petitioner": {k: v for k, v in petitioner.items() if v is not None},
        }
        cmd = SubmitCase.model_validate(body)
    except (ValidationError, ValueError) as exc:
        errors = exc.errors() if isinstance(exc, ValidationError) else [{"loc": (), "msg": str(exc)}]
        return JSONResponse(
            [
                {"code": 400, "description": f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}"}
                for e in errors
            ],
            status_code=400,
        )
    caller = Principal(subject=OPEN311_SUBJECT, role=Role.EXTERNAL_SYSTEM)
    submission = await handlers.register_case(
        cmd, intake=intake, caller=caller, category_hint=form["service_code"]
    )
    intake.runtime.nudge()
    case = submission.case
    notice = (case.get("screening") or {}).get("reason")
    return JSONResponse(
        [{"service_request_id": case["case_no"], "service_notice": notice, "account_id": None}],
        status_code=201,
    )


def _number(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"not a number: {value!r}") from None


@router.get("/requests.json", summary="Service requests by id or date range")
async def list_requests(
    intake: IntakeDeps,
    request: Request,
    api_key: Annotated[str | None, Query()] = None,
    service_request_id: Annotated[str | None, Query(max_length=2000)] = None,
    start_date: Annotated[datetime | None, Query()] = None,
    end_date: Annotated[datetime | None, Query()] = None,
    status_filter: Annotated[str | None, Query(alias="status", pattern="^(open|closed)$")] = None,
) -> Any:
    """GeoReport v2 request list: at most 1,000 of the newest, as the standard suggests."""
    if refused := await _limited(intake, request, api_key, "read"):
        return refused
    if denied := _denied(intake, api_key):
        return denied
    query: dict[str, Any] = dict(OPEN311_VISIBLE)
    if service_request_id:
        query["case_no"] = {"$in": [s.strip() for s in service_request_id.split(",") if s.strip()][:100]}
    if start_date or end_date:
        query["received_at"] = {
            **({"$gte": start_date} if start_date else {}),
            **({"$lte": end_date} if end_date else {}),
        }
    if status_filter:
        query["status"] = {"$in": sorted(CLOSED if status_filter == "closed" else OPEN)}
    cursor = intake.cases.cases.find(query, {"outbox": 0, "petitioner": 0, "representatives": 0})
    return [request_view(d) async for d in cursor.sort([("received_at", -1)]).limit(1000)]


@router.get("/requests/{service_request_id}.json", summary="One service request")
async def get_request(
    service_request_id: str,
    intake: IntakeDeps,
    request: Request,
    api_key: Annotated[str | None, Query()] = None,
) -> Any:
    """GeoReport v2 single request (a list of one)."""
    if refused := await _limited(intake, request, api_key, "read"):
        return refused
    if denied := _denied(intake, api_key):
        return denied
    case = await intake.cases.cases.find_one(
        {"case_no": service_request_id, **OPEN311_VISIBLE}, {"outbox": 0, "petitioner": 0}
    )
    if case is None:
        return _error(404, f"no service request {service_request_id}")
    return [request_view(case)]


def include(app: FastAPI) -> None:
    """Mount the Open311 routes."""
    app.include_router(router)
