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
CASE_ROUTED = "dispatch.case.routed"
CASE_ASSIGNED = "dispatch.case.assigned"
MEDIATION_OPENED = "dispatch.mediation.opened"
NOTIFICATION_SENT = "dispatch.notification.sent"

ALL_EVENT_TYPES = (CASE_RECEIVED, CASE_ROUTED, CASE_ASSIGNED, MEDIATION_OPENED, NOTIFICATION_SENT)

# Durable consumers, one per (service, purpose). Replicas of a service share them.
ROUTING_ON_RECEIVED = "routing-case-received"
SUPERVISION_CASE_FILE = "supervision-case-file"
MEDIATION_ON_ROUTED = "mediation-case-routed"
NOTIFY_ON_RECEIVED = "notify-case-received"


def dead_letter_subject(durable: str) -> str:
    """The subject a consumer's dead letters go to."""
    return f"dlq.{durable}"
