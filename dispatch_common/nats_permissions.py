"""Who may publish and read what on NATS: the one table every NATS identity's permissions come from.

`PRODUCERS` names the service that publishes each platform event type, `CONSUMERS` every durable
consumer of the services; the external systems add theirs from the systems file. From these come the
permissions of each service's user, of each external system's user and of the operators' `ops` user
(devtools/nats_auth.py writes them into the server configuration). A service may publish only the
event types it produces, dead-letter only to its consumers' dlq subjects, use the JetStream API only
for the streams it declares and its own consumers, and receive only on its own reply inbox.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from dispatch_common import subjects as s
from dispatch_common.systems import ExternalSystem

SERVICES = ("intake", "routing", "mediation", "supervision", "notify")
OPS_USER = "ops"

PRODUCERS: dict[str, str] = {
    **dict.fromkeys((s.CASE_RECEIVED, s.CASE_SCREENED, s.CASE_LOOKUP_CODE_CHANGED), "intake"),
    **dict.fromkeys((s.CASE_ROUTED, s.CASE_REROUTED, s.CASE_ROUTE_DISPUTED), "routing"),
    **dict.fromkeys(
        (
            s.CASE_ASSIGNED,
            s.CASE_SIGNED,
            s.CASE_PROGRESSED,
            s.CASE_EXTENDED,
            s.CASE_REPLIED,
            s.CASE_FOLLOWED_UP,
            s.CASE_CLOSED,
            s.CASE_REOPENED,
            s.CASE_REVIEW_REQUESTED,
            s.CASE_REVIEW_ANSWERED,
            s.CASE_DEADLINE_WARNING,
            s.CASE_OVERDUE,
            s.CASE_ESCALATED,
            s.CASE_SUPERVISED,
            s.RECOMMENDATION_MADE,
            s.WARNING_RAISED,
            s.INSPECTION_COMPILED,
            s.CASE_REPRESENTED,
            s.CASE_AGENT_ESCALATED,
        ),
        "supervision",
    ),
    **dict.fromkeys(
        (
            s.MEDIATION_OPENED,
            s.MEDIATION_ASSIGNED,
            s.MEDIATION_CONSENT_RECORDED,
            s.MEDIATION_SESSION_SCHEDULED,
            s.MEDIATION_SESSION_RESCHEDULED,
            s.MEDIATION_SESSION_CANCELLED,
            s.MEDIATION_SESSION_HELD,
            s.MEDIATION_CONCLUDED,
            s.MEDIATION_FULFILMENT_DUE,
            s.MEDIATION_FULFILMENT_CHECKED,
            s.MEDIATION_ESCALATED,
            s.MEDIATION_OVERDUE,
            s.REFERRAL_MADE,
            s.REFERRAL_ACCEPTED,
            s.REFERRAL_CLOSED,
            s.REFERRAL_CRISIS,
        ),
        "mediation",
    ),
    **dict.fromkeys((s.NOTIFICATION_SENT, s.NOTIFICATION_FAILED), "notify"),
    **dict.fromkeys(s.LEDGER_TYPES, "supervision"),  # the risk ledger
    **dict.fromkeys((s.RECEPTION_BOOKED, s.RECEPTION_DECIDED), "supervision"),  # leaders' reception
}
"""Platform event type -> the service that publishes it (on the subject that is the type)."""

# The outcome feed intake publishes for each system, on outcome.<system>.<...> (the system's own
# subtree), and for the Open311 clients on outcome.open311.<client>.<...>.
OUTCOME_TYPES = s.OUTCOME_TYPES
OUTCOME_PRODUCER = "intake"
LIVE_READERS = ("routing", "supervision", "notify")
"""Services serving live streams (dispatch_common/live.py): each replica reads DISPATCH through ordered
consumers (ephemeral, unacknowledged, pushed to its own inbox), made on the ephemeral-only API subject."""
FEED_PUSHER = "notify"  # delivers a feed as signed webhooks to a system that has one


@dataclass(frozen=True)
class Consumer:
    """A durable pull consumer: who reads it, what it filters, on which stream."""

    durable: str
    service: str
    subject: str | tuple[str, ...]  # what it filters: one subject, or several
    stream: str = s.DISPATCH_STREAM


# Intake keeps what a case's followers (a feed's system, an Open311 client) hear of its later life.
INTAKE_LIFECYCLE = (
    s.CASE_ASSIGNED,
    s.CASE_PROGRESSED,
    s.CASE_EXTENDED,
    s.CASE_REPLIED,
    s.CASE_FOLLOWED_UP,
    s.CASE_REOPENED,
    s.CASE_CLOSED,
)

# Intake keeps what the petitioner profile (信访人画像) shows of every case's later life (docs/profile.md).
INTAKE_PROFILE = (
    s.CASE_ROUTED,
    s.CASE_REPLIED,
    s.CASE_FOLLOWED_UP,
    s.CASE_REOPENED,
    s.CASE_CLOSED,
    s.MEDIATION_OPENED,
    s.MEDIATION_CONCLUDED,
    s.REFERRAL_MADE,
    s.CASE_REPRESENTED,  # the proxy agents (代办) of the petitioner's cases
    s.CASE_AGENT_ESCALATED,
    s.LEDGER_OPENED,  # the risk-ledger entries linked to the petitioner's cases
    s.LEDGER_UPDATED,
    s.LEDGER_CLOSED,
)

# Notify takes every event type it speaks on through one consumer (services/notify/entrypoints).
NOTIFY_SUBJECTS = (
    s.CASE_SCREENED,
    s.CASE_ASSIGNED,
    s.CASE_PROGRESSED,
    s.CASE_EXTENDED,
    s.CASE_REPLIED,
    s.CASE_FOLLOWED_UP,
    s.CASE_REOPENED,
    s.CASE_REVIEW_ANSWERED,
    s.CASE_CLOSED,
    s.CASE_DEADLINE_WARNING,
    s.CASE_OVERDUE,
    s.CASE_ESCALATED,
    s.CASE_REROUTED,
    s.CASE_ROUTE_DISPUTED,
    s.MEDIATION_OPENED,
    s.MEDIATION_ASSIGNED,
    s.MEDIATION_SESSION_SCHEDULED,
    s.MEDIATION_SESSION_RESCHEDULED,
    s.MEDIATION_SESSION_CANCELLED,
    s.MEDIATION_CONCLUDED,
    s.MEDIATION_ESCALATED,
    s.MEDIATION_FULFILMENT_DUE,
    s.MEDIATION_OVERDUE,
    s.REFERRAL_MADE,
    s.REFERRAL_ACCEPTED,
    s.REFERRAL_CLOSED,
    s.REFERRAL_CRISIS,
    s.WARNING_RAISED,
    s.INSPECTION_COMPILED,
    s.LEDGER_DEADLINE_WARNING,  # the risk ledger's alarms: the owner unit hears as of a case's
    s.LEDGER_OVERDUE,
    s.LEDGER_ESCALATED,
    s.CASE_REPRESENTED,
    s.CASE_AGENT_ESCALATED,
    s.RECEPTION_BOOKED,
    s.RECEPTION_DECIDED,
)


CONSUMERS: tuple[Consumer, ...] = (
    Consumer(s.INTAKE_ON_LIFECYCLE, "intake", INTAKE_LIFECYCLE),
    Consumer(s.INTAKE_ON_PROFILE, "intake", INTAKE_PROFILE),
    Consumer(s.ROUTING_ON_SCREENED, "routing", s.CASE_SCREENED),
    Consumer(s.SUPERVISION_CASE_FILE, "supervision", s.DISPATCH_SUBJECTS),
    Consumer(s.MEDIATION_ON_ROUTED, "mediation", s.CASE_ROUTED),
    Consumer(s.MEDIATION_ON_REROUTED, "mediation", s.CASE_REROUTED),
    Consumer(s.NOTIFY_EVENTS, "notify", NOTIFY_SUBJECTS),
)
"""The services' durable consumers of platform events (all on DISPATCH)."""


def ingress_consumer(system: ExternalSystem) -> Consumer:
    """Intake's consumer of one system's submissions."""
    return Consumer(
        s.intake_ingress_durable(system.id),
        "intake",
        s.ingress_subject(system.id, s.INGRESS_CASE_SUBMIT),
        s.ingress_stream(system.id),
    )


def outcome_consumer(system: ExternalSystem) -> Consumer:
    """The consumer a system reads its answers from; the platform (intake) creates it."""
    return Consumer(
        s.outcome_durable(system.id), system.id, s.outcome_subjects(system.id), s.outcome_stream(system.id)
    )


def feed_consumer(feed: str) -> Consumer:
    """Notify's consumer of a feed it delivers as webhooks (a system's, or an Open311 client's)."""
    return Consumer(
        s.feed_pusher_durable(feed), FEED_PUSHER, s.outcome_subjects(feed), s.stream_of(f"outcome.{feed}")
    )


def consumers_of(service: str, systems: Iterable[ExternalSystem] = ()) -> tuple[Consumer, ...]:
    """The consumers a service reads, in the table's order (notify's feed consumers are made only for
    the feeds with a webhook, so they are not listed here: see feed_consumer)."""
    own = [c for c in CONSUMERS if c.service == service]
    if service == OUTCOME_PRODUCER:
        own += [ingress_consumer(system) for system in systems]
    return tuple(own)


def streams_of(service: str, systems: Iterable[ExternalSystem] = ()) -> tuple[str, ...]:
    """The streams a service declares at start: DISPATCH and DLQ; intake also each system's two and the
    Open311 clients' outcome stream; notify the outcome streams it may deliver as webhooks."""
    streams = [s.DISPATCH_STREAM, s.DLQ_STREAM]
    if service == OUTCOME_PRODUCER:
        for system in systems:
            streams += [s.ingress_stream(system.id), s.outcome_stream(system.id)]
    if service in (OUTCOME_PRODUCER, FEED_PUSHER):
        if service == FEED_PUSHER:
            streams += [s.outcome_stream(system.id) for system in systems]
        streams.append(s.outcome_stream(s.OPEN311_FEED))
    return tuple(streams)


def inbox_prefix(user: str) -> str:
    """The reply inbox of a NATS user (nats-py's `inbox_prefix`): nobody else may subscribe to it."""
    return f"_INBOX_{user}"


@dataclass(frozen=True)
class Permissions:
    """What one NATS user may publish and subscribe to (everything else is denied)."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    deny_publish: tuple[str, ...] = ()  # exceptions to what `publish` allows with a wildcard

    def to_config(self) -> dict[str, dict[str, list[str]]]:
        """The `permissions` block of a user in the server configuration."""
        publish: dict[str, list[str]] = {"allow": list(self.publish)}
        if self.deny_publish:
            publish["deny"] = list(self.deny_publish)
        return {"publish": publish, "subscribe": {"allow": list(self.subscribe)}}


def _api(*names: str) -> list[str]:
    return [f"$JS.API.{name}" for name in names]


def _reading(consumer: Consumer) -> list[str]:
    """Fetch from, acknowledge on and look up one consumer (none of these creates or changes it)."""
    return [
        *_api(f"CONSUMER.INFO.{consumer.stream}.{consumer.durable}"),
        *_api(f"CONSUMER.MSG.NEXT.{consumer.stream}.{consumer.durable}"),
        f"$JS.ACK.{consumer.stream}.{consumer.durable}.>",
    ]


def _creating(consumer: Consumer) -> list[str]:
    """Look up and create (or bring up to date) one named consumer: the legacy durable and the named
    API forms of creation."""
    name = f"{consumer.stream}.{consumer.durable}"
    return _api(
        f"CONSUMER.INFO.{name}",
        f"CONSUMER.DURABLE.CREATE.{name}",
        f"CONSUMER.CREATE.{name}",
        f"CONSUMER.CREATE.{name}.>",
    )


def service_permissions(service: str, systems: Iterable[ExternalSystem] = ()) -> Permissions:
    """A service's user: its event types, its streams and consumers, its dead letters, its inbox."""
    if service not in SERVICES:
        raise ValueError(f"{service!r} is no service of the platform")
    systems = tuple(systems)
    publish = [*_api("INFO")]
    for stream in streams_of(service, systems):
        publish += _api(f"STREAM.INFO.{stream}", f"STREAM.CREATE.{stream}", f"STREAM.UPDATE.{stream}")
    for consumer in consumers_of(service, systems):
        publish += [*_creating(consumer), *_reading(consumer), s.dead_letter_subject(consumer.durable)]
    publish += [t for t, producer in PRODUCERS.items() if producer == service]
    if service == OUTCOME_PRODUCER:
        for system in systems:
            publish += _creating(outcome_consumer(system))  # made for the system; only it reads it
            publish += [s.outcome_subject(system.id, t) for t in OUTCOME_TYPES]
        publish += [s.outcome_subject(s.open311_feed("*"), t) for t in OUTCOME_TYPES]
    if service == FEED_PUSHER:
        for system in systems:
            publish += [*_creating(feed_consumer(system.id)), *_reading(feed_consumer(system.id))]
        # one consumer per Open311 client on their shared stream, named notify-feed-<client>
        clients = Consumer(
            "*", FEED_PUSHER, s.outcome_subjects(s.OPEN311_FEED), s.outcome_stream(s.OPEN311_FEED)
        )
        publish += [*_creating(clients), *_reading(clients)]
    if service in LIVE_READERS:
        publish += _api(f"CONSUMER.CREATE.{s.DISPATCH_STREAM}", f"CONSUMER.INFO.{s.DISPATCH_STREAM}.*")
        publish.append(f"$JS.FC.{s.DISPATCH_STREAM}.>")  # flow control answers of the ordered consumers
    # A reload reaches every replica of the service: asked on its control subject, answered on the
    # asking replica's inbox (the service's own: only its replicas may read it).
    publish += [s.reload_subject(service), f"{inbox_prefix(service)}.>"]
    subscribe = (f"{inbox_prefix(service)}.>", s.reload_subject(service))
    return Permissions(publish=tuple(dict.fromkeys(publish)), subscribe=subscribe)


def system_permissions(system: ExternalSystem) -> Permissions:
    """An external system's user: publish into its own ingress subtree; read its own outcome stream
    through the consumer the platform made for it, or through consumers it makes itself to replay from
    a time or a sequence (any name, any filter: the stream holds only its own outcomes), and delete
    those; never touch the consumer notify delivers its webhooks from."""
    stream = s.outcome_stream(system.id)
    replay = Consumer("*", system.id, s.outcome_subjects(system.id), stream)
    pusher = feed_consumer(system.id)
    publish = [
        s.ingress_subjects(system.id),
        *_reading(outcome_consumer(system)),
        *_api(f"STREAM.INFO.{stream}"),
        *_creating(replay),
        *_api(f"CONSUMER.CREATE.{stream}", f"CONSUMER.DELETE.{stream}.*"),
        *_reading(replay),
    ]
    deny = [*_creating(pusher), *_reading(pusher), *_api(f"CONSUMER.DELETE.{stream}.{pusher.durable}")]
    return Permissions(
        publish=tuple(dict.fromkeys(publish)),
        subscribe=(f"{inbox_prefix(system.id)}.>",),
        deny_publish=tuple(dict.fromkeys(deny)),
    )


OPS_PERMISSIONS = Permissions(publish=(">",), subscribe=(">",))
"""The operators' user (tools, tests and benchmarks that observe the bus from outside): everything."""
