"""Events intake emits (see proto/schemas/events)."""

from datetime import datetime

from pydantic import BaseModel


class PetitionerView(BaseModel):
    """The petitioner as other services may see them: masked, contact encrypted."""

    anonymous: bool
    name_masked: str | None = None
    phone_masked: str | None = None
    contact_token: str | None = None


class CaseReceived(BaseModel):
    """dispatch.case.received: a case was registered."""

    case_id: str
    case_no: str
    channel: str
    text: str
    address: str | None = None
    lon: float | None = None
    lat: float | None = None
    people_count: int | None = None
    received_at: datetime
    petitioner: PetitionerView
