"""What notify reads of other services' events, and the events it emits."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.notify.domain.mediation_views import (
    FulfilmentDueView,
    MediationAssignedView,
    MediationConcludedView,
    MediationEscalatedView,
    MediationOpenedView,
    MediationOverdueView,
    MediationSessionView,
    MediatorRef,
    ReferralCrisisView,
    ReferralView,
)
from services.notify.domain.reception_views import ReceptionBookedView, ReceptionDecidedView
from services.notify.domain.templates import Templates
from services.notify.domain.view_base import Deadline, UnitRef, _View

__all__ = [
    "NOTICE_OF_OUTCOME",
    "AlarmView",
    "CaseAssignedView",
    "CaseScreenedView",
    "Channel",
    "FulfilmentDueView",
    "HandlingView",
    "InspectionCompiledView",
    "LedgerAlarmView",
    "MediationAssignedView",
    "MediationConcludedView",
    "MediationEscalatedView",
    "MediationOpenedView",
    "MediationOverdueView",
    "MediationSessionView",
    "MediatorRef",
    "NotificationFailed",
    "NotificationSent",
    "PetitionerContact",
    "ReceptionBookedView",
    "ReceptionDecidedView",
    "ReferralCrisisView",
    "ReferralView",
    "ReroutedView",
    "RouteDisputedView",
    "Status",
    "Templates",
    "UnitRef",
    "WarningRaisedView",
    "petitioner_channel",
]

Channel = Literal["sms", "email", "webhook", "inbox", "post"]
Status = Literal["queued", "sent", "failed", "dead"]


class PetitionerContact(_View):
    """How the petitioner can be reached, as intake's event tells it (masked, contact encrypted)."""

    anonymous: bool
    name_masked: str | None = None
    phone_masked: str | None = None
    contact_token: str | None = None
    email_masked: str | None = None
    email_token: str | None = None  # the e-mail address sealed by intake (crypto.email_aad)
    name_token: str | None = None  # the name sealed by intake (crypto.name_aad), opened to print a letter
    address_token: str | None = None  # the postal address (crypto.address_aad), opened alike
    notify_channel: str | None = (
        None  # chosen at intake (or changed by a clerk: the case view's `preferences`)
    )
    language: str | None = None
    lookup_token: str | None = None  # the lookup code sealed by intake, for the acceptance notice


class CaseScreenedView(_View):
    """What notify needs of dispatch.case.screened."""

    case_id: str
    case_no: str
    outcome: str
    reason: str = ""
    answer: str | None = None
    transfer_to: str | None = None
    confidential: bool = False
    withheld: bool = False
    petitioner: PetitionerContact
    submitted_by: str | None = None


class CaseAssignedView(_View):
    """What notify needs of dispatch.case.assigned."""

    case_id: str
    case_no: str
    lead_unit: UnitRef
    assisting_units: list[UnitRef] = Field(default_factory=list)
    deadlines: list[Deadline] = Field(default_factory=list)
    assigned_at: datetime


class HandlingView(_View):
    """A step of handling (progressed, extended, replied, followed_up, reopened, review_answered,
    closed). `public`: a progress note the unit meant for the petitioner (absent: internal)."""

    case_id: str
    case_no: str
    status: str = ""
    action: str = ""
    at: datetime | None = None
    note: str | None = None
    units: list[str] = Field(default_factory=list)
    days: int | None = None
    approved: bool | None = None
    result: str | None = None
    rating: str | None = None
    stage: str | None = None
    public: bool = False
    handling_due_at: datetime | None = None
    matter: str | None = None  # an answer's parts (答复意见书): the matter restated, facts found, basis
    facts: str | None = None
    basis: str | None = None


class AlarmView(_View):
    """dispatch.case.deadline_warning, dispatch.case.overdue and dispatch.case.escalated."""

    case_id: str
    case_no: str
    status: str = ""
    deadline: Deadline
    lead_unit: UnitRef | None = None
    level: str | None = None
    label: str | None = None


class LedgerAlarmView(AlarmView):
    """dispatch.ledger.deadline_warning, overdue and escalated: a risk-ledger entry's alarm, read as a
    case's (its number in `case_no`, its owner unit as the lead unit), so the same notices go out."""

    case_id: str = Field(validation_alias="entry_id")
    case_no: str = Field(validation_alias="entry_no")
    lead_unit: UnitRef | None = Field(None, validation_alias="owner_unit")


class ReroutedView(_View):
    """What notify needs of dispatch.case.rerouted."""

    case_id: str
    case_no: str
    cause: str
    reason: str = ""
    lead_unit: UnitRef | None = None
    previous_lead_unit: UnitRef | None = None


class RouteDisputedView(_View):
    """What notify needs of dispatch.case.route_disputed."""

    case_id: str
    case_no: str
    reason: str
    lead_unit: UnitRef | None = None


class WarningRaisedView(_View):
    """What notify needs of dispatch.warning.raised."""

    warning_id: str
    kind: str
    reason: str
    raised_at: datetime
    case_id: str | None = None
    case_no: str | None = None


class InspectionCompiledView(_View):
    """What notify needs of dispatch.inspection.compiled: the day and its counts."""

    day: date
    compiled_at: datetime
    counts: dict[str, int]


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
    case_id: str | None
    kind: str
    channel: Channel
    recipient: str
    sent_at: datetime
    audience: str | None = None  # petitioner, lead_unit, ...: the petitioner's own are on their progress page


class NotificationFailed(BaseModel):
    """dispatch.notification.failed: a message given up on after its last try."""

    notification_id: str
    case_id: str | None
    kind: str
    channel: Channel
    recipient: str
    attempts: int
    reason: str
    failed_at: datetime
    audience: str | None = None


CONFIDENTIAL_REASON = "confidential report (检举控告): told in the inbox only"


def petitioner_channel(
    contact: PetitionerContact, *, confidential: bool = False
) -> tuple[Channel, str, str | None]:
    """The channel to tell a petitioner on, the masked recipient, and why not the one chosen (or why the
    inbox). E-mail when chosen and an address is held, SMS when a phone is, else e-mail when an address
    is, else the inbox.

    A confidential reporter is told only in the inbox, which the petition portal and the reception
    window read for them: no message to a phone someone else may see, and no contact of theirs in
    notify (intake sends none)."""
    if confidential:
        return "inbox", "petitioner", CONFIDENTIAL_REASON
    chosen = contact.notify_channel
    if chosen == "post":  # the letter goes to the print queue; clerks print, post and mark it mailed
        return "post", contact.name_masked or "petitioner", "the petitioner chose post: print queue"
    if chosen == "inbox":
        return "inbox", "petitioner", "the petitioner chose the inbox"
    email = ("email", contact.email_masked or "petitioner", None)
    if chosen == "email" and contact.email_token:
        return email
    if contact.contact_token:
        reason = "e-mail chosen, but no e-mail address is held: told by SMS" if chosen == "email" else None
        return "sms", contact.phone_masked or "petitioner", reason
    if contact.email_token:  # no phone: the address given is the way to reach them
        return email
    reason = "anonymous petitioner" if contact.anonymous else "no contact details given"
    return "inbox", "petitioner", reason
