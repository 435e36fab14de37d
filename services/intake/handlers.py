"""Intake's commands."""

import uuid

from dispatch_common import subjects
from dispatch_common.clock import Clock
from dispatch_common.crypto import PiiKeys, encrypt, keyed_hash, mask_name, mask_phone
from dispatch_common.envelope import make_event
from services.intake.adapters.repository import CaseRepository
from services.intake.domain.events import CaseReceived, PetitionerView
from services.intake.domain.models import Registered, SubmitCase, normalize_text

SOURCE = "/dispatch/intake"


async def register_case(
    cmd: SubmitCase, *, cases: CaseRepository, clock: Clock, keys: PiiKeys, county: str
) -> Registered:
    """Register a submission as a case with its number, store it and owe `dispatch.case.received`."""
    now = clock.now()
    case_id = str(uuid.uuid4())
    case_no = await cases.next_case_no(county=county, year=now.year)
    petitioner = cmd.petitioner
    anonymous = petitioner is None or petitioner.anonymous or not (petitioner.name or petitioner.phone)
    stored_petitioner: dict[str, object] = {"anonymous": anonymous}
    view = PetitionerView(anonymous=anonymous)
    if petitioner and not anonymous:
        if petitioner.name:
            stored_petitioner["name"] = petitioner.name
            view.name_masked = mask_name(petitioner.name)
        if petitioner.phone:
            token = encrypt(keys, petitioner.phone)
            stored_petitioner |= {
                "phone_enc": token,
                "phone_hash": keyed_hash(keys, petitioner.phone),
                "phone_masked": mask_phone(petitioner.phone),
            }
            view.phone_masked, view.contact_token = mask_phone(petitioner.phone), token
    text = normalize_text(cmd.text)
    address = normalize_text(cmd.address) if cmd.address else None
    case = {
        "_id": case_id,
        "case_no": case_no,
        "channel": cmd.channel.value,
        "text": text,
        "text_original": cmd.text,
        "address": address,
        "location": {"lon": cmd.lon, "lat": cmd.lat} if cmd.lon is not None else None,
        "people_count": cmd.people_count,
        "petitioner": stored_petitioner,
        "status": "received",
        "received_at": now,
    }
    event = make_event(
        type=subjects.CASE_RECEIVED,
        source=SOURCE,
        subject=case_id,
        clock=clock,
        data=CaseReceived(
            case_id=case_id,
            case_no=case_no,
            channel=cmd.channel.value,
            text=text,
            address=address,
            lon=cmd.lon,
            lat=cmd.lat,
            people_count=cmd.people_count,
            received_at=now,
            petitioner=view,
        ),
    )
    await cases.add(case, [event])
    return Registered(case_id=case_id, case_no=case_no, status="received")
