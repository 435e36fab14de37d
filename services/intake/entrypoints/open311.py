"""Open311 GeoReport v2, so existing 311 apps can list services, submit and follow requests.

Every endpoint answers in XML or JSON by its extension, errors in the specification's format. The
service list and definitions need no key; `POST requests` needs the client's `api_key` (a named
client, domain/open311_clients.py), honours an `Idempotency-Key` header and passes the chosen
`service_code` to routing as the category hint; `GET requests` shows every Open311 request in public
fields, and the client's own in full (domain/open311_views.py). `jurisdiction_id`, when given, must be
one the door serves. No answer carries personal data. Every call counts against a rate limit (429 with
Retry-After): a client's by its name, a call without a known key by its remote address.
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from dispatch_common import subjects
from dispatch_common.auth import Principal, Role
from dispatch_common.http_errors import foreign_errors
from dispatch_common.problems import Problem
from dispatch_common.ratelimit import retry_after
from services.intake import handlers
from services.intake.config import OPEN311_ROLE
from services.intake.container import Intake
from services.intake.domain.models import SubmitCase
from services.intake.domain.open311_clients import Open311Client
from services.intake.domain.open311_views import open311_status, request_view
from services.intake.entrypoints.deps import IntakeDeps
from services.intake.entrypoints.open311_format import Fmt, answer, error, fmt_of

TOO_MANY: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "Too many requests from this client (or address): the specification's error, "
        "wait `Retry-After` seconds"
    }
}
router = APIRouter(prefix="/open311/v2", tags=["open311"], responses=TOO_MANY)
MAX_REQUESTS = 1000  # the most one answer lists, newest first, as the specification suggests
DEFAULT_DAYS = 90  # the range of GET requests without dates, and the widest range one may ask for
ATTRIBUTE = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")
# Where a field of the case is given in an Open311 request (for the reasons of a refusal).
OPEN311_NAMES = {
    "text": "description",
    "address": "address_string",
    "lon": "long",
    "lat": "lat",
    "petitioner.phone": "phone",
    "petitioner.email": "email",
}
Ext = Annotated[str, "json or xml"]
JurisdictionId = Annotated[str | None, Query(max_length=100, description="optional; one this door serves")]
ApiKey = Annotated[str | None, Query(max_length=200, description="the client's key")]


def _format(ext: str) -> Fmt | Response:
    fmt = fmt_of(ext)
    return fmt if fmt is not None else error("json", 404, f"format: .{ext} is not served; use .json or .xml")


def _jurisdiction(fmt: Fmt, intake: Intake, given: str | None) -> Response | None:
    if given and given not in intake.open311.catalogue.jurisdiction_ids:
        return error(fmt, 400, f"jurisdiction_id: {given} is not served here")
    return None


async def _caller(
    fmt: Fmt, intake: Intake, request: Request, key: str | None, kind: str, *, required: bool
) -> Open311Client | Response | None:
    """The client whose key this is (None without a key where none is required), or the error answer:
    429 with Retry-After when the caller is over its limit, checked first (a known client is counted by
    its name, a call without a known key by its remote address, so guessing keys is limited too), then
    403 for a wrong key, or a missing one where it is required. The key is identified once."""
    client = intake.open311.clients.identify(key) if key else None
    if client is not None:
        who = f"open311-client:{client.name}"
    else:
        who = "open311-addr:" + (request.client.host if request.client else "unknown")
    wait = await intake.limiter.check(kind, who, OPEN311_ROLE)
    if wait is not None:
        refused = error(fmt, 429, f"too many requests from this client; retry after {retry_after(wait)} s")
        refused.headers["Retry-After"] = retry_after(wait)
        return refused
    if not key:
        return error(fmt, 403, "api_key: a client's key is required to submit") if required else None
    return client if client is not None else error(fmt, 403, "api_key: not a key of this door")


@router.get("/services.{ext}", summary="The services (categories) one may request; no key needed")
async def services(
    ext: Ext,
    intake: IntakeDeps,
    request: Request,
    api_key: ApiKey = None,
    jurisdiction_id: JurisdictionId = None,
) -> Response:
    """GeoReport v2 service list (no key is needed, but a wrong one is refused)."""
    reader = await _reader(ext, intake, request, api_key, jurisdiction_id)
    if isinstance(reader, Response):
        return reader
    return answer(reader[0], "services", intake.open311.catalogue.services)


@router.get("/services/{service_code}.{ext}", summary="A service's definition: what it asks; no key needed")
async def service_definition(
    service_code: str,
    ext: Ext,
    intake: IntakeDeps,
    request: Request,
    api_key: ApiKey = None,
    jurisdiction_id: JurisdictionId = None,
) -> Response:
    """GeoReport v2 service definition."""
    reader = await _reader(ext, intake, request, api_key, jurisdiction_id)
    if isinstance(reader, Response):
        return reader
    fmt = reader[0]
    definition = intake.open311.catalogue.definition(service_code)
    if definition is None:
        return error(fmt, 404, f"service_code: no service {service_code}")
    return answer(fmt, "service_definition", definition)


async def _fields(request: Request) -> dict[str, list[str]] | str:
    """The posted fields (form or JSON object), each a list of its values; a reason when unreadable."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            return "body: not JSON"
        if not isinstance(body, dict):
            return "body: not a JSON object"
        fields: dict[str, list[str]] = {}
        for key, value in body.items():
            if key == "attribute" and isinstance(value, dict):
                for code, inner in value.items():
                    fields[f"attribute[{code}]"] = [
                        str(v) for v in (inner if isinstance(inner, list) else [inner])
                    ]
            elif value is not None:
                fields[key] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        return fields
    form: FormData = await request.form()
    collected: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            collected.setdefault(key, []).append(value)
    return collected


def _first(fields: dict[str, list[str]], name: str) -> str | None:
    values = fields.get(name) or []
    return values[0].strip() or None if values else None


def _number(fields: dict[str, list[str]], name: str, problems: list[str]) -> float | None:
    value = _first(fields, name)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        problems.append(f"{name}: not a number")
        return None


def _submission(
    fields: dict[str, list[str]], intake: Intake, code: str, channel: str
) -> tuple[SubmitCase | None, dict[str, Any], list[str]]:
    """The case an Open311 request is, the attribute values kept, and every problem."""
    attributes: dict[str, list[str]] = {}
    for key, values in fields.items():
        if found := ATTRIBUTE.match(key):
            attributes.setdefault(found.group(1), []).extend(values)
    kept, case_fields, problems = intake.open311.catalogue.check(code, attributes)
    name = " ".join(v for v in (_first(fields, "first_name"), _first(fields, "last_name")) if v) or None
    phone, email = _first(fields, "phone"), _first(fields, "email")
    body = {
        "channel": channel,
        "text": _first(fields, "description") or intake.open311.catalogue.name(code),
        "address": _first(fields, "address_string"),
        "lon": _number(fields, "long", problems),
        "lat": _number(fields, "lat", problems),
        "petitioner": {k: v for k, v in {"name": name, "phone": phone, "email": email}.items() if v}
        or {"anonymous": True},
        **case_fields,
    }
    try:
        return SubmitCase.model_validate(body), kept, problems
    except ValidationError as exc:
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            path = ".".join(loc)
            where = OPEN311_NAMES.get(path) or OPEN311_NAMES.get(loc[0], path) if loc else "request"
            problems.append(f"{where}: {err['msg']}")
        return None, kept, problems


@router.post(
    "/requests.{ext}",
    status_code=201,
    summary="Submit a service request (form fields or JSON); the client's api_key is required",
    responses={200: {"description": "A retry under the same Idempotency-Key: the request submitted before"}},
)
async def create_request(
    ext: Ext,
    request: Request,
    intake: IntakeDeps,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=128)
    ] = None,
) -> Response:
    """Register a 311 request as a case; answers [{service_request_id, service_notice, account_id}]."""
    fmt = _format(ext)
    if isinstance(fmt, Response):
        return fmt
    fields = await _fields(request)
    if isinstance(fields, str):
        return error(fmt, 400, fields)
    client = await _caller(fmt, intake, request, _first(fields, "api_key"), "submit", required=True)
    if not isinstance(client, Open311Client):
        return client  # type: ignore[return-value]
    if refused := _jurisdiction(fmt, intake, _first(fields, "jurisdiction_id")):
        return refused
    code = _first(fields, "service_code")
    if code is None or intake.open311.catalogue.name(code) is None:
        return error(fmt, 400, "service_code: not one of the codes of services")
    cmd, kept, problems = _submission(fields, intake, code, request.app.state.settings.open311_channel)
    if problems or cmd is None:
        return error(fmt, 400, *problems)
    door = handlers.Door(
        "open311",
        feed=subjects.open311_feed(client.name) if client.name in intake.open311.feeds else None,
        open311={"client": client.name, "service_code": code, "attributes": kept},
    )
    caller = Principal(subject=client.subject, role=Role.EXTERNAL_SYSTEM)
    try:
        submission = await handlers.register_case(
            cmd, intake=intake, caller=caller, idempotency_key=idempotency_key, door=door
        )
    except handlers.IdempotencyConflict:
        return error(fmt, 409, "Idempotency-Key: used before with a different request")
    case = submission.case
    notice = (case.get("screening") or {}).get("answer") if case["status"] == "answered" else None
    created = [{"service_request_id": case["case_no"], "service_notice": notice, "account_id": None}]
    if submission.replayed:
        return answer(fmt, "service_requests", created, headers={"Idempotent-Replayed": "true"})
    intake.runtime.nudge()
    return answer(fmt, "service_requests", created, status=201)


def _when(value: str | None, name: str, problems: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        problems.append(f"{name}: not a date and time (W3C, e.g. 2026-01-01T00:00:00Z)")
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _listed(values: str | None) -> list[str]:
    return [v.strip() for v in (values or "").split(",") if v.strip()]


def _views(intake: Intake, docs: list[dict[str, Any]], client: Open311Client | None) -> list[dict[str, Any]]:
    catalogue, areas = intake.open311.catalogue, intake.open311.areas
    return [
        request_view(
            d,
            service_name=catalogue.name(d.get("category_hint")),
            areas=areas,
            full=client is not None and d.get("submitted_by") == client.subject,
        )
        for d in docs
    ]


async def _reader(
    ext: str, intake: Intake, request: Request, api_key: str | None, jurisdiction_id: str | None
) -> tuple[Fmt, Open311Client | None] | Response:
    """Who reads, in which format: the client of a key (none without one), or the error answer."""
    fmt = _format(ext)
    if isinstance(fmt, Response):
        return fmt
    client = await _caller(fmt, intake, request, api_key, "read", required=False)
    if isinstance(client, Response):
        return client
    return _jurisdiction(fmt, intake, jurisdiction_id) or (fmt, client)


# Never read from a case for an Open311 answer: personal data and what only intake keeps.
HIDDEN = {"outbox": 0, "petitioner": 0, "representatives": 0, "free_text_pii": 0, "text_original": 0}
PUBLIC_CASES = {"door": "open311", "confidential": False}  # confidential reports never show here


@router.get("/requests.{ext}", summary="Service requests: public fields, and the client's own in full")
async def list_requests(
    ext: Ext,
    intake: IntakeDeps,
    request: Request,
    api_key: ApiKey = None,
    service_request_id: Annotated[str | None, Query(max_length=2000)] = None,
    service_code: Annotated[str | None, Query(max_length=2000)] = None,
    start_date: Annotated[str | None, Query(max_length=40)] = None,
    end_date: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=20, description="open, closed or both")] = None,
    jurisdiction_id: JurisdictionId = None,
) -> Response:
    """GeoReport v2 request list: at most 1,000, newest first; by ids, or by services, dates (90 days
    at most; the last 90 by default) and status."""
    reader = await _reader(ext, intake, request, api_key, jurisdiction_id)
    if isinstance(reader, Response):
        return reader
    fmt, client = reader
    query: dict[str, Any] = dict(PUBLIC_CASES)
    statuses = set(_listed(status))
    problems = [f"status: {s} is neither open nor closed" for s in sorted(statuses - {"open", "closed"})]
    ids = _listed(service_request_id)[:100]
    if ids:  # the ids override every other argument
        query["case_no"] = ids[0] if len(ids) == 1 else {"$in": ids}
        statuses = set()
    else:
        codes = _listed(service_code)
        if codes:
            query["category_hint"] = codes[0] if len(codes) == 1 else {"$in": codes}
        start, end = _when(start_date, "start_date", problems), _when(end_date, "end_date", problems)
        end = end or (start + timedelta(days=DEFAULT_DAYS) if start else intake.clock.now())
        start = start or end - timedelta(days=DEFAULT_DAYS)
        if end - start > timedelta(days=DEFAULT_DAYS) or end < start:
            problems.append(f"start_date, end_date: a range of at most {DEFAULT_DAYS} days, start before end")
        query["received_at"] = {"$gte": start, "$lte": end}
    if problems:
        return error(fmt, 400, *problems)
    cursor = intake.cases.cases.find(query, HIDDEN).sort([("received_at", -1)]).limit(MAX_REQUESTS)
    docs = [d async for d in cursor]
    if statuses and statuses != {"open", "closed"}:
        docs = [d for d in docs if open311_status(d) in statuses]
    return answer(fmt, "service_requests", _views(intake, docs, client))


@router.get("/requests/{service_request_id}.{ext}", summary="One service request (a list of one)")
async def get_request(
    service_request_id: str,
    ext: Ext,
    intake: IntakeDeps,
    request: Request,
    api_key: ApiKey = None,
    jurisdiction_id: JurisdictionId = None,
) -> Response:
    """GeoReport v2 single request: public fields, or in full for the client that submitted it."""
    reader = await _reader(ext, intake, request, api_key, jurisdiction_id)
    if isinstance(reader, Response):
        return reader
    fmt, client = reader
    case = await intake.cases.cases.find_one({"case_no": service_request_id, **PUBLIC_CASES}, HIDDEN)
    if case is None:
        return error(fmt, 404, f"service_request_id: no service request {service_request_id}")
    return answer(fmt, "service_requests", _views(intake, [case], client))


def _shell_error(path: str, problem: Problem) -> Response:
    """An error of the shell (an unknown path, a query over its limits, a database that is down...) on
    an Open311 path, in the specification's format: one entry per field problem, else the detail."""
    fmt: Fmt = "xml" if path.lower().endswith(".xml") else "json"
    reasons = [f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in problem.errors or ()]
    refused = error(fmt, problem.status, *(reasons or [problem.detail]))
    refused.headers.update(problem.headers)
    return refused


def include(app: FastAPI) -> None:
    """Mount the Open311 routes; the shell's errors on them answer in the specification's format."""
    app.include_router(router)
    foreign_errors(app, router.prefix + "/", _shell_error)
