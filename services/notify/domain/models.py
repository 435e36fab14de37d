"""Notices, their channels and the events notify emits."""

import json
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

Channel = Literal["sms", "email", "webhook", "inbox"]
Status = Literal["queued", "sent", "failed", "dead"]


class PetitionerContact(BaseModel):
    """How the petitioner can be reached, as intake's event tells it (masked, contact encrypted)."""

    model_config = ConfigDict(extra="ignore")

    anonymous: bool
    phone_masked: str | None = None
    contact_token: str | None = None


class CaseScreenedView(BaseModel):
    """What notify needs of dispatch.case.screened."""

    model_config = ConfigDict(extra="ignore")

    case_id: str
    case_no: str
    outcome: str
    reason: str = ""
    answer: str | None = None
    petitioner: PetitionerContact


# The notice each screening outcome owes the petitioner (一信三反馈: the first feedback).
NOTICE_OF_OUTCOME = {
    "accepted": "acceptance",
    "not_accepted": "refusal",
    "legal_redirect": "redirect",
    "transferred": "transfer",
    "emergency_transfer": "transfer",
    "answered": "answer",
}


class NotificationSent(BaseModel):
    """dispatch.notification.sent."""

    notification_id: str
    case_id: str
    kind: str
    channel: Channel
    recipient: str
    sent_at: datetime


class Templates:
    """Message texts per kind and channel, loaded from data."""

    def __init__(self, path: Path) -> None:
        self._texts: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))["templates"]

    def render(self, kind: str, channel: str, **values: str) -> str:
        """The text of a notice with its variables filled in."""
        return self._texts[kind][channel].format(**values)


def petitioner_channel(contact: PetitionerContact) -> tuple[Channel, str, str | None]:
    """The channel to tell a petitioner on, the masked recipient, and why the inbox if it is the inbox."""
    if contact.contact_token:  # a confidential reporter's number is not even shown masked
        return "sms", contact.phone_masked or "confidential reporter", None
    reason = "anonymous petitioner" if contact.anonymous else "no contact details given"
    return "inbox", "petitioner", reason
