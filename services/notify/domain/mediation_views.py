"""What notify reads of mediation's events: mediations, sessions, agreements and referrals."""

from datetime import date, datetime

from services.notify.domain.view_base import Deadline, UnitRef, _View


class MediationOpenedView(_View):
    """What notify needs of dispatch.mediation.opened."""

    mediation_id: str
    case_id: str
    organization: UnitRef
    type: str = "people"
    opened_at: datetime


class Session(_View):
    """A mediation session as mediation's events carry it."""

    no: int = 1
    start_at: datetime
    place: str | None = None
    video: bool = False


class MediationSessionView(_View):
    """What notify needs of dispatch.mediation.session_scheduled, .session_rescheduled and
    .session_cancelled."""

    mediation_id: str
    case_id: str
    case_no: str
    organization: UnitRef
    session: Session


class MediationConcludedView(_View):
    """What notify needs of dispatch.mediation.concluded."""

    mediation_id: str
    case_id: str
    case_no: str
    organization: UnitRef
    result: str
    next_step: str | None = None


class MediationEscalatedView(_View):
    """What notify needs of dispatch.mediation.escalated (the police station as mediation found it)."""

    mediation_id: str
    case_id: str
    case_no: str
    organization: UnitRef
    reason: str
    people_count: int | None = None
    threats: bool = False
    police_station: UnitRef | None = None


class MediatorRef(_View):
    """A mediator as mediation's events name them."""

    id: str
    name: str


class MediationAssignedView(_View):
    """What notify needs of dispatch.mediation.assigned (another organization, or another mediator of
    the same one)."""

    mediation_id: str
    case_id: str
    case_no: str
    organization: UnitRef
    mediator: MediatorRef | None = None
    previous_organization: UnitRef | None = None
    previous_mediator: MediatorRef | None = None
    reason: str | None = None


class MediationOverdueView(_View):
    """What notify needs of dispatch.mediation.overdue (the scanner: the time limit passed while open)."""

    mediation_id: str
    case_id: str
    case_no: str
    organization: UnitRef
    mediator: MediatorRef | None = None
    deadline: Deadline


class AgreementRef(_View):
    """An agreement as mediation's events name it."""

    agreement_no: str
    fulfilment_due: date


class FulfilmentDueView(_View):
    """What notify needs of dispatch.mediation.fulfilment_due."""

    mediation_id: str
    case_id: str
    case_no: str
    organization: UnitRef
    agreement: AgreementRef


class ReferralView(_View):
    """What notify needs of dispatch.referral.made, .accepted and .closed."""

    referral_id: str
    case_id: str
    case_no: str
    kind: str
    receiving_unit: UnitRef
    reason: str | None = None
    result: str | None = None
    note: str | None = None


class ReferralCrisisView(_View):
    """What notify needs of dispatch.referral.crisis (the police station as mediation found it)."""

    referral_id: str
    case_id: str
    case_no: str
    receiving_unit: UnitRef
    note: str | None = None
    police_station: UnitRef | None = None
