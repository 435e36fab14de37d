"""Stream, subject and durable-consumer names: the one place they are spelled."""

# Streams
DISPATCH_STREAM = "DISPATCH"
DISPATCH_SUBJECTS = "dispatch.>"
INGRESS_STREAM = "INGRESS"
INGRESS_SUBJECTS = "ingress.>"
DLQ_STREAM = "DLQ"
DLQ_SUBJECTS = "dlq.>"

# Event types; each is also the NATS subject it is published on.
CASE_RECEIVED = "dispatch.case.received"
CASE_SCREENED = "dispatch.case.screened"
CASE_ROUTED = "dispatch.case.routed"
CASE_REROUTED = "dispatch.case.rerouted"
CASE_ROUTE_DISPUTED = "dispatch.case.route_disputed"
CASE_ASSIGNED = "dispatch.case.assigned"
CASE_SIGNED = "dispatch.case.signed"
CASE_PROGRESSED = "dispatch.case.progressed"
CASE_EXTENDED = "dispatch.case.extended"
CASE_REPLIED = "dispatch.case.replied"
CASE_FOLLOWED_UP = "dispatch.case.followed_up"
CASE_CLOSED = "dispatch.case.closed"
CASE_REOPENED = "dispatch.case.reopened"
CASE_REVIEW_REQUESTED = "dispatch.case.review_requested"
CASE_REVIEW_ANSWERED = "dispatch.case.review_answered"
CASE_DEADLINE_WARNING = "dispatch.case.deadline_warning"
CASE_OVERDUE = "dispatch.case.overdue"
CASE_ESCALATED = "dispatch.case.escalated"
CASE_SUPERVISED = "dispatch.case.supervised"
RECOMMENDATION_MADE = "dispatch.recommendation.made"
WARNING_RAISED = "dispatch.warning.raised"
MEDIATION_OPENED = "dispatch.mediation.opened"
MEDIATION_ASSIGNED = "dispatch.mediation.assigned"
MEDIATION_CONSENT_RECORDED = "dispatch.mediation.consent_recorded"
MEDIATION_SESSION_SCHEDULED = "dispatch.mediation.session_scheduled"
MEDIATION_SESSION_RESCHEDULED = "dispatch.mediation.session_rescheduled"
MEDIATION_SESSION_CANCELLED = "dispatch.mediation.session_cancelled"
MEDIATION_SESSION_HELD = "dispatch.mediation.session_held"
MEDIATION_CONCLUDED = "dispatch.mediation.concluded"
MEDIATION_FULFILMENT_DUE = "dispatch.mediation.fulfilment_due"
MEDIATION_FULFILMENT_CHECKED = "dispatch.mediation.fulfilment_checked"
MEDIATION_ESCALATED = "dispatch.mediation.escalated"
MEDIATION_OVERDUE = "dispatch.mediation.overdue"
REFERRAL_MADE = "dispatch.referral.made"
REFERRAL_ACCEPTED = "dispatch.referral.accepted"
REFERRAL_CLOSED = "dispatch.referral.closed"
REFERRAL_CRISIS = "dispatch.referral.crisis"
NOTIFICATION_SENT = "dispatch.notification.sent"
NOTIFICATION_FAILED = "dispatch.notification.failed"

# What external systems publish and read (stream INGRESS).
INGRESS_CASE_SUBMIT = "ingress.case.submit"
INGRESS_CASE_ACCEPTED = "ingress.case.accepted"
INGRESS_CASE_REJECTED = "ingress.case.rejected"

ALL_EVENT_TYPES = (
    CASE_RECEIVED,
    CASE_SCREENED,
    CASE_ROUTED,
    CASE_REROUTED,
    CASE_ROUTE_DISPUTED,
    CASE_ASSIGNED,
    CASE_SIGNED,
    CASE_PROGRESSED,
    CASE_EXTENDED,
    CASE_REPLIED,
    CASE_FOLLOWED_UP,
    CASE_CLOSED,
    CASE_REOPENED,
    CASE_REVIEW_REQUESTED,
    CASE_REVIEW_ANSWERED,
    CASE_DEADLINE_WARNING,
    CASE_OVERDUE,
    CASE_ESCALATED,
    CASE_SUPERVISED,
    RECOMMENDATION_MADE,
    WARNING_RAISED,
    MEDIATION_OPENED,
    MEDIATION_ASSIGNED,
    MEDIATION_CONSENT_RECORDED,
    MEDIATION_SESSION_SCHEDULED,
    MEDIATION_SESSION_RESCHEDULED,
    MEDIATION_SESSION_CANCELLED,
    MEDIATION_SESSION_HELD,
    MEDIATION_CONCLUDED,
    MEDIATION_FULFILMENT_DUE,
    MEDIATION_FULFILMENT_CHECKED,
    MEDIATION_ESCALATED,
    MEDIATION_OVERDUE,
    REFERRAL_MADE,
    REFERRAL_ACCEPTED,
    REFERRAL_CLOSED,
    REFERRAL_CRISIS,
    NOTIFICATION_SENT,
    NOTIFICATION_FAILED,
    INGRESS_CASE_SUBMIT,
    INGRESS_CASE_ACCEPTED,
    INGRESS_CASE_REJECTED,
)

# Durable consumers, one per (service, purpose). Replicas of a service share them.
INTAKE_INGRESS = "intake-ingress-submit"
INTAKE_ON_ASSIGNED = "intake-case-assigned"
ROUTING_ON_SCREENED = "routing-case-screened"
SUPERVISION_CASE_FILE = "supervision-case-file"
MEDIATION_ON_ROUTED = "mediation-case-routed"
MEDIATION_ON_REROUTED = "mediation-case-rerouted"
# Notify takes every event it speaks on through one consumer (services/notify/entrypoints/subscribers.py).
NOTIFY_EVENTS = "notify-events"


def stream_of(subject: str) -> str:
    """The stream a subject is stored in."""
    return INGRESS_STREAM if subject.startswith("ingress.") else DISPATCH_STREAM


def dead_letter_subject(durable: str) -> str:
    """The subject a consumer's dead letters go to."""
    return f"dlq.{durable}"
