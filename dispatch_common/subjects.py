"""Stream, subject and durable-consumer names: the one place they are spelled."""

# Streams of the platform. Each external system has two more of its own (below): INGRESS_<SYSTEM>
# (ingress.<system>.>, what it submits) and OUTCOMES_<SYSTEM> (outcome.<system>.>, what it is answered).
DISPATCH_STREAM = "DISPATCH"
DISPATCH_SUBJECTS = "dispatch.>"
DLQ_STREAM = "DLQ"
DLQ_SUBJECTS = "dlq.>"
INGRESS_PREFIX = "ingress"
OUTCOME_PREFIX = "outcome"

# Event types. A platform event is published on the subject that is its type; what an external system
# submits (ingress.<type>) and what it is answered (outcome.<type>) carry the system in the subject.
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
INSPECTION_COMPILED = "dispatch.inspection.compiled"
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
# Leaders' reception days (supervision, docs/reception.md)
RECEPTION_BOOKED = "dispatch.reception.booked"
RECEPTION_DECIDED = "dispatch.reception.decided"
NOTIFICATION_FAILED = "dispatch.notification.failed"
# The risk ledger (排查台账, services/supervision/ledger.py).
LEDGER_OPENED = "dispatch.ledger.opened"
LEDGER_UPDATED = "dispatch.ledger.updated"
LEDGER_CLOSED = "dispatch.ledger.closed"
LEDGER_DEADLINE_WARNING = "dispatch.ledger.deadline_warning"
LEDGER_OVERDUE = "dispatch.ledger.overdue"
LEDGER_ESCALATED = "dispatch.ledger.escalated"
LEDGER_TYPES = (
    LEDGER_OPENED,
    LEDGER_UPDATED,
    LEDGER_CLOSED,
    LEDGER_DEADLINE_WARNING,
    LEDGER_OVERDUE,
    LEDGER_ESCALATED,
)
# The petitioner's lookup code (issue 17.3, docs/progress.md)
CASE_LOOKUP_CODE_CHANGED = "dispatch.case.lookup_code_changed"
# Proxy agents (三级代办, docs/agents.md): a case taken up by an agent, and moved up a tier
CASE_REPRESENTED = "dispatch.case.represented"
CASE_AGENT_ESCALATED = "dispatch.case.agent_escalated"

# What external systems submit (on ingress.<system>.case.submit), and the outcome feed of what they
# submitted (on outcome.<system>.case.<event>): the type is the subject without the system.
INGRESS_CASE_SUBMIT = "ingress.case.submit"
OUTCOME_RECEIVED = "outcome.case.received"
OUTCOME_REJECTED = "outcome.case.rejected"
OUTCOME_ACCEPTED = "outcome.case.accepted"
OUTCOME_REFUSED = "outcome.case.refused"
OUTCOME_ASSIGNED = "outcome.case.assigned"
OUTCOME_PROGRESSED = "outcome.case.progressed"
OUTCOME_EXTENDED = "outcome.case.extended"
OUTCOME_REPLIED = "outcome.case.replied"
OUTCOME_RATED = "outcome.case.rated"
OUTCOME_REOPENED = "outcome.case.reopened"
OUTCOME_CLOSED = "outcome.case.closed"
OUTCOME_TYPES = (
    OUTCOME_RECEIVED,
    OUTCOME_REJECTED,
    OUTCOME_ACCEPTED,
    OUTCOME_REFUSED,
    OUTCOME_ASSIGNED,
    OUTCOME_PROGRESSED,
    OUTCOME_EXTENDED,
    OUTCOME_REPLIED,
    OUTCOME_RATED,
    OUTCOME_REOPENED,
    OUTCOME_CLOSED,
)
"""The outcome feed, in the order a case goes through it (rejected: a submission not registered)."""
OPEN311_FEED = "open311"
"""The feed of Open311 clients: outcome.open311.<client>.case.<event>, in one stream OUTCOMES_OPEN311."""

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
    INSPECTION_COMPILED,
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
    *LEDGER_TYPES,
    CASE_LOOKUP_CODE_CHANGED,
    CASE_REPRESENTED,
    CASE_AGENT_ESCALATED,
    RECEPTION_BOOKED,
    RECEPTION_DECIDED,
    INGRESS_CASE_SUBMIT,
    *OUTCOME_TYPES,
)

# Durable consumers, one per (service, purpose). Replicas of a service share them. Per external system
# there are two more (functions below): intake's on its ingress, and the one it reads its answers from.
INTAKE_ON_LIFECYCLE = "intake-case-lifecycle"  # the lifecycle a case's followers hear of
INTAKE_ON_PROFILE = "intake-profile-outcomes"  # what the petitioner profile shows of every case's later life
ROUTING_ON_SCREENED = "routing-case-screened"
SUPERVISION_CASE_FILE = "supervision-case-file"
MEDIATION_ON_ROUTED = "mediation-case-routed"
MEDIATION_ON_REROUTED = "mediation-case-rerouted"
# Notify takes every event it speaks on through one consumer (services/notify/entrypoints/subscribers.py).
NOTIFY_EVENTS = "notify-events"


def _stream_token(system: str) -> str:
    return system.upper().replace("-", "_")


def ingress_stream(system: str) -> str:
    """The stream of what one external system submits (its own de-duplication window)."""
    return f"INGRESS_{_stream_token(system)}"


def outcome_stream(system: str) -> str:
    """The stream of what one external system is answered (its own consumers and limits)."""
    return f"OUTCOMES_{_stream_token(system)}"


def ingress_subjects(system: str) -> str:
    """The subtree one external system may publish into."""
    return f"{INGRESS_PREFIX}.{system}.>"


def outcome_subjects(system: str) -> str:
    """The subtree of one external system's answers and outcomes."""
    return f"{OUTCOME_PREFIX}.{system}.>"


def _rest(event_type: str, prefix: str) -> str:
    first, _, rest = event_type.partition(".")
    if first != prefix or not rest:
        raise ValueError(f"{event_type} is no event type of the {prefix} subtree")
    return rest


def ingress_subject(system: str, event_type: str) -> str:
    """Where a system publishes an event of a type: ingress.case.submit -> ingress.<system>.case.submit."""
    return f"{INGRESS_PREFIX}.{system}.{_rest(event_type, INGRESS_PREFIX)}"


def outcome_subject(feed: str, event_type: str) -> str:
    """Where an outcome of a type goes: outcome.case.closed -> outcome.<feed>.case.closed; the feed is a
    system's id, or open311.<client> for an Open311 client."""
    return f"{OUTCOME_PREFIX}.{feed}.{_rest(event_type, OUTCOME_PREFIX)}"


def open311_feed(client: str) -> str:
    """The feed of one Open311 client (its outcomes go to its webhook, through notify)."""
    return f"{OPEN311_FEED}.{client}"


def outcome_type(subject: str) -> str:
    """The event type of an outcome subject: outcome.<feed>.case.closed -> outcome.case.closed."""
    parts = subject.split(".")
    return ".".join([parts[0], *parts[-2:]])


def feed_of(subject: str) -> str:
    """The feed an outcome subject belongs to: a system's id, or open311.<client>."""
    return ".".join(subject.split(".")[1:-2])


def intake_ingress_durable(system: str) -> str:
    """Intake's consumer of one system's submissions (its inbox keys and dead letters are the system's)."""
    return f"intake-ingress-{system}"


def outcome_durable(system: str) -> str:
    """The consumer the platform creates for a system to read its answers from."""
    return f"outcome-{system}"


def feed_pusher_durable(feed: str) -> str:
    """Notify's consumer of a feed it delivers as webhooks: `notify-feed` on a system's own stream,
    `notify-feed-<client>` on the Open311 clients' shared one."""
    system, _, client = feed.partition(".")
    return f"notify-feed-{client}" if system == OPEN311_FEED and client else "notify-feed"


def stream_of(subject: str) -> str:
    """The stream a subject is stored in."""
    prefix, _, rest = subject.partition(".")
    system = rest.partition(".")[0]
    if prefix == INGRESS_PREFIX and system:
        return ingress_stream(system)
    if prefix == OUTCOME_PREFIX and system:
        return outcome_stream(system)
    return DLQ_STREAM if prefix == "dlq" else DISPATCH_STREAM


CONTROL_PREFIX = "control"


def reload_subject(service: str) -> str:
    """Where a reload asked of one replica of a service is told to every replica (core NATS, not a
    stream: a replica that is down reads its data at start anyway)."""
    return f"{CONTROL_PREFIX}.{service}.reload"


def dead_letter_subject(durable: str) -> str:
    """The subject a consumer's dead letters go to."""
    return f"dlq.{durable}"
