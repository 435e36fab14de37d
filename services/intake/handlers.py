"""Intake's commands: register a case (number, protect, screen, link), and screen it by hand."""

import asyncio
import dataclasses
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dispatch_common import subjects
from dispatch_common.auth import Principal
from dispatch_common.contracts import SCREENING_STATUS
from dispatch_common.envelope import Outgoing, derived_event_id, make_event
from services.intake.container import Intake
from services.intake.domain import feed, lookup
from services.intake.domain.disclosure import disclosed
from services.intake.domain.duplicates import CaseSnapshot, Links
from services.intake.domain.events import CaseReceived, CaseScreened, PetitionerView
from services.intake.domain.models import Registered, SubmitCase, normalize_text
from services.intake.domain.protection import (
    petitioner_hash,
    protect_free_text,
    protect_person,
    protect_petitioner,
)
from services.intake.domain.screening import RulesFile, Screener, ScreeningInput, ScreeningResult

SOURCE = "/dispatch/intake"
_IDS = uuid.UUID("0c6f7b1e-5a8d-4f4e-9a57-3b2f6f1d2c11")


class IdempotencyConflict(Exception):
    """The same idempotency key or external reference came with a different request."""


@dataclass(frozen=True)
class Submission:
    """The outcome of a submission: the case as stored, and whether it was registered before (a retry)."""

    registered: Registered
    replayed: bool
    case: dict[str, Any]


def case_id_for(cmd: SubmitCase, *, caller: str, idempotency_key: str | None, secret: bytes) -> str:
    """A deterministic id for retried submissions (by external reference, else by key), else a fresh one.

    The name is keyed (HMAC with `secret`, the personal-data hash key), so nobody who knows a system's
    reference or a caller's key can compute the case id it becomes."""
    if cmd.external_ref is not None:
        name = f"external|{cmd.external_ref.system}|{cmd.external_ref.id}"
    elif idempotency_key:
        name = f"key|{caller}|{idempotency_key}"
    else:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_IDS, hmac.new(secret, name.encode(), hashlib.sha256).hexdigest()))


def request_hash(cmd: SubmitCase, extra: dict[str, Any] | None = None) -> str:
    """A fingerprint of the request, to tell a retry from a different request under the same key
    (`extra`: what the door adds, e.g. an Open311 request's service_code and attributes)."""
    text = cmd.model_dump_json(exclude_none=True)
    if extra:
        text += json.dumps(extra, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Door:
    """How a submission came in: `nats`, `http` or `open311`; the feed its system hears the case's
    outcomes on (none for staff's own submissions); the NATS submission's event id; what an Open311
    request adds (client, service_code as the category hint, attributes)."""

    kind: str = "http"
    feed: str | None = None
    submission_id: str | None = None
    open311: dict[str, Any] | None = None
    agent: dict[str, Any] | None = None  # a proxy agent's filing: who, with what consent (docs/agents.md)

    @property
    def category_hint(self) -> str | None:
        """The category the submitter chose (an Open311 service_code), which routing weighs."""
        return (self.open311 or {}).get("service_code")


def http_door(intake: Intake, cmd: SubmitCase) -> Door:
    """An HTTP submission: its external reference's system hears the outcomes, when it is a system of
    the systems file."""
    ref = cmd.external_ref
    known = {s.id for s in intake.systems}
    return Door("http", feed=ref.system if ref is not None and ref.system in known else None)


def _registered(case: dict[str, Any]) -> Registered:
    return Registered(case_id=case["_id"], case_no=case["case_no"], status=case["status"])


def _facts(case: dict[str, Any], view: PetitionerView) -> dict[str, Any]:
    loc = case.get("location") or {}
    return {
        "case_id": case["_id"],
        "case_no": case["case_no"],
        "channel": case["channel"],
        "text": case["text"],
        "address": case.get("address"),
        "lon": loc.get("lon"),
        "lat": loc.get("lat"),
        "people_count": case.get("people_count"),
        "received_at": case["received_at"],
        "petitioner": view,
        "submitted_by": case.get("submitted_by"),
    }


def _leaving(data: dict[str, Any], case: dict[str, Any], rules: RulesFile) -> dict[str, Any]:
    """An event's data as it may leave intake (domain/disclosure.py: a confidential report's details,
    and a waiting case's, are withheld)."""
    return disclosed(data, case, confidential_text=rules.confidential_text, withheld_text=rules.withheld_text)


def screened_event(
    case: dict[str, Any],
    view: PetitionerView,
    result: ScreeningResult,
    *,
    screened_by: str,
    cause: str,
    clock: Any,
    rules: RulesFile,
) -> Any:
    """The dispatch.case.screened event of a case and its screening result."""
    data = {
        **_facts(case, view),
        **result.model_dump(exclude={"evidence"}),  # the evidence stays with the registration
        "screened_by": screened_by,
        "links": case.get("links") or _no_links(),
        "category_hint": case.get("category_hint"),
    }
    return make_event(
        type=subjects.CASE_SCREENED,
        source=SOURCE,
        subject=case["_id"],
        clock=clock,
        event_id=derived_event_id("intake", case["_id"], subjects.CASE_SCREENED, cause),
        data=CaseScreened(**_leaving(data, case, rules)),
    )


def _no_links() -> dict[str, Any]:
    return {"repeat_of": None, "incident_of": None}


async def register_case(
    cmd: SubmitCase,
    *,
    intake: Intake,
    caller: Principal,
    idempotency_key: str | None = None,
    door: Door | None = None,
) -> Submission:
    """Register a submission: number it, protect personal data, screen it, link repeats and incidents;
    the submitter's feed hears that it was received, and accepted or refused."""
    door = door or Door()
    case_id = case_id_for(
        cmd, caller=caller.subject, idempotency_key=idempotency_key, secret=intake.keys.hash_key
    )
    retryable = cmd.external_ref is not None or bool(idempotency_key)  # else the id is fresh: no lookup
    # what tells a retry from a different request
    fingerprint = request_hash(cmd, door.open311) if retryable else None
    existing = await intake.cases.get(case_id) if retryable else None
    if existing is not None:
        if existing.get("request_hash") != fingerprint:
            raise IdempotencyConflict(
                f"already registered as case {existing['case_no']} with a different request"
            )
        return Submission(_registered(existing), replayed=True, case=existing)

    now = intake.clock.now()
    text = normalize_text(cmd.text)
    address = normalize_text(cmd.address) if cmd.address else None
    has_location = cmd.lon is not None or bool(address)
    outside = (
        (not intake.boundary.contains(cmd.lon, cmd.lat))
        if cmd.lon is not None and cmd.lat is not None
        else None
    )
    rules = intake.screening.current
    anonymous = cmd.petitioner is None or cmd.petitioner.anonymous
    question = ScreeningInput(
        channel=cmd.channel.value,
        text=text,
        address=address,
        has_location=has_location,
        outside_county=outside,
        people_count=cmd.people_count,
        anonymous=anonymous,
    )
    # screening, protection and the text's fingerprint cost CPU in proportion to the text: off the loop
    result, stored, view, masked, sealed, snapshot = await asyncio.to_thread(
        _assess, cmd, question, intake, case_id=case_id, now=now, rules=rules
    )
    issued = lookup.issue(intake.keys, case_id, 1)
    identity = await intake.identities.identify(stored)  # a phone seen before with an ID number
    snapshot = dataclasses.replace(snapshot, petitioner_hash=identity.person, petitioner_keys=identity.keys)
    who = snapshot.petitioner_hash
    keys = intake.keys
    links: Links = await intake.find_links(snapshot)
    case_no = await intake.cases.next_case_no(county=intake.county, year=now.astimezone(intake.timezone).year)
    snapshot = dataclasses.replace(snapshot, case_no=case_no)
    case = {
        "_id": case_id,
        "case_no": case_no,
        "channel": cmd.channel.value,
        **masked,
        "free_text_pii": sealed,
        "location": {"lon": cmd.lon, "lat": cmd.lat} if cmd.lon is not None else None,
        "people_count": cmd.people_count,
        "petitioner": stored,
        "representatives": [
            protect_person(keys, person, case_id=case_id, role="representatives")
            for person in cmd.representatives or []
        ],
        "police_incident_no": cmd.police_incident_no,
        "grid_worker": cmd.grid_worker.model_dump() if cmd.grid_worker else None,
        "category_hint": door.category_hint,  # the category a 311 app chose (Open311 service_code)
        "external_ref": cmd.external_ref.model_dump() if cmd.external_ref else None,
        "submitted_by": caller.subject,
        "filed_by_agent": door.agent,
        "door": door.kind,
        "open311": door.open311,
        "feed": door.feed,  # who hears the outcomes (domain/feed.py)
        "tracked": bool(door.feed) or door.kind == "open311",  # its lifecycle is kept (domain/lifecycle.py)
        "assign_seq": 0,
        "request_hash": fingerprint,
        "status": SCREENING_STATUS[result.outcome],
        "screening": result.model_dump(),
        "confidential": result.confidential,
        "links": links.to_document(),
        "petitioner_hash": who,
        "petitioner_keys": list(identity.keys),
        "received_at": now,
        "lookup": lookup.stored(issued.version),
    }
    view = lookup.with_token(keys, view, case)
    received = make_event(
        type=subjects.CASE_RECEIVED,
        source=SOURCE,
        subject=case_id,
        clock=intake.clock,
        event_id=derived_event_id("intake", case_id, subjects.CASE_RECEIVED),
        data=CaseReceived(
            **_leaving(
                {
                    **_facts(case, view),
                    "external_ref": case["external_ref"],
                    "police_incident_no": cmd.police_incident_no,
                    "grid_worker_id": cmd.grid_worker.id if cmd.grid_worker else None,
                    "campaign": case["campaign"],
                    "confidential": result.confidential,
                    "lookup": {"version": issued.version, "verifier": issued.verifier},
                    "filed_by_agent": door.agent,
                },
                case,
                rules.rules.file,
            )
        ),
    )
    screened = screened_event(
        case, view, result, screened_by="rules", cause="rules", clock=intake.clock, rules=rules.rules.file
    )
    registered = _registered(case)
    extra: list[Outgoing] = []  # the feed's first events, stored atomically with the case
    if door.feed:
        extra.append(feed.received(case, feed=door.feed, submission_id=door.submission_id, at=now))
        extra += feed.screened(case, case["screening"], feed=door.feed, by="rules", at=now, cause="rules")
    history = intake.history.entry(snapshot, links, outcome=result.outcome)  # written in the same trip
    along = [history, *intake.identities.entry(identity)]
    if not await intake.cases.add(case, [received, screened, *extra], along=along):
        raced = await intake.cases.get(case_id)  # the same key or reference, registered concurrently
        assert raced is not None
        if raced.get("request_hash") != fingerprint:
            raise IdempotencyConflict(
                f"already registered as case {raced['case_no']} with a different request"
            )
        return Submission(_registered(raced), replayed=True, case=raced)
    return Submission(registered, replayed=False, case=case)


def _assess(
    cmd: SubmitCase,
    question: ScreeningInput,
    intake: Intake,
    *,
    case_id: str,
    now: datetime,
    rules: Screener,
) -> tuple[ScreeningResult, dict[str, Any], PetitionerView, dict[str, Any], list[Any], CaseSnapshot]:
    """Screen a submission, protect its petitioner and its free text, and fingerprint the masked text
    (CPU only, no I/O). Screening reads the clear text; what is stored, compared and published is
    masked (domain/protection.py)."""
    result = rules.screen(question)
    keys = intake.keys
    stored, view = protect_petitioner(keys, cmd.petitioner, case_id=case_id, confidential=result.confidential)
    free_text = {
        "text": question.text,
        "text_original": cmd.text,
        "address": question.address,
        "address_original": cmd.address,
        "campaign": cmd.campaign,
    }
    masked, sealed = protect_free_text(keys, case_id, free_text)
    snapshot = CaseSnapshot.build(
        case_id=case_id,
        case_no="",
        received_at=now,
        text=masked["text"] or "",
        policy=intake.duplicates,
        petitioner_hash=petitioner_hash(stored),
        lon=cmd.lon,
        lat=cmd.lat,
        address=masked["address"],
    )
    return result, stored, view, masked, sealed, snapshot
