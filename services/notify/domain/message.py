"""A message's life: recorded (queued, or sent at once for the inbox), claimed, tried, and settled.

Pure functions over the stored document: each returns the top-level fields to change, so the
repository saves them whole under the version guard.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from dispatch_common import subjects
from dispatch_common.clock import Clock
from dispatch_common.envelope import Envelope, derived_event_id, make_event
from services.notify.domain.delivery import Outcome, QuietHours, backoff_seconds
from services.notify.domain.models import NotificationFailed, NotificationSent
from services.notify.domain.plan import Notice
from services.notify.domain.templates import Rendered

SOURCE = "/dispatch/notify"


def to_ms(moment: datetime) -> int:
    """A moment as integer milliseconds since the epoch (what ranges are queried on)."""
    return int(moment.timestamp() * 1000)


def message_id(cause_event_id: str, kind: str, recipient_key: str, channel: str) -> str:
    """The message's id: the same cause, kind, recipient and channel always give the same id."""
    return derived_event_id("notification", cause_event_id, kind, recipient_key, channel)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how far apart a message is tried."""

    max_attempts: int
    base_seconds: float
    cap_seconds: float
    lease_seconds: float


def hold_for_quiet_hours(
    channel: str, urgent: bool, at: datetime, quiet: QuietHours | None, tz: ZoneInfo
) -> datetime:
    """When a message may go: a non-urgent SMS due in quiet hours waits for their end."""
    if channel != "sms" or urgent or quiet is None:
        return at
    return quiet.release(at, tz)


def new_message(
    notice: Notice,
    rendered: Rendered,
    *,
    cause: Envelope,
    now: datetime,
    due: datetime,
    case_no: str | None,
) -> dict[str, Any]:
    """The stored document of a message not yet sent (the inbox is settled by `delivered_now`)."""
    target = notice.target
    inbox_owner = None
    if target.channel == "inbox":
        key = target.recipient.key
        inbox_owner = f"petitioner:{notice.case_id}" if key == "petitioner" else key
    return {
        "_id": message_id(cause.id, notice.kind, target.recipient.key, target.channel),
        "case_id": notice.case_id,
        "case_no": case_no,
        "kind": notice.kind,
        "level": notice.level,
        "audience": target.recipient.audience,
        "channel": target.channel,
        "recipient": notice.label,
        "recipient_key": target.recipient.key,
        "channel_reason": target.reason,
        "contact_token": notice.contact_token,
        "email_token": notice.email_token,
        "lookup_token": notice.lookup_token,
        "urgent": notice.urgent,
        "subject": rendered.subject,
        "body": rendered.text,
        "document_html": rendered.html,
        "segments": rendered.segments,
        "truncated": rendered.truncated,
        "template_version": rendered.version,
        "inbox_owner": inbox_owner,
        "read": False if inbox_owner else None,
        "read_at": None,
        "status": "queued",
        "attempts": 0,
        "due_ts": to_ms(due),
        "lease_ts": None,
        "claim": None,
        "created_at": now,
        "created_ts": to_ms(now),
        "sent_at": None,
        "last_error": None,
        "dead_reason": None,
        "cause_event_id": cause.id,
        "cause_type": cause.type,
        "cause_time": cause.time,
    }


def _outcome_event(doc: dict[str, Any], event_type: str, data: BaseModel, clock: Clock) -> Envelope:
    return make_event(
        type=event_type,
        source=SOURCE,
        subject=doc["case_id"],
        clock=clock,
        event_id=derived_event_id("notify", doc["_id"], event_type),
        data=data,
    )


def _about(doc: dict[str, Any]) -> dict[str, Any]:
    """What every outcome event says of its message."""
    return {
        "notification_id": doc["_id"],
        "case_id": doc["case_id"],
        "kind": doc["kind"],
        "channel": doc["channel"],
        "recipient": doc["recipient"],
        "audience": doc.get("audience"),
    }


def sent_event(doc: dict[str, Any], at: datetime, clock: Clock) -> Envelope:
    """dispatch.notification.sent for a message."""
    return _outcome_event(doc, subjects.NOTIFICATION_SENT, NotificationSent(**_about(doc), sent_at=at), clock)


def failed_event(doc: dict[str, Any], reason: str, at: datetime, clock: Clock) -> Envelope:
    """dispatch.notification.failed for a message given up on."""
    data = NotificationFailed(**_about(doc), attempts=doc["attempts"], reason=reason, failed_at=at)
    return _outcome_event(doc, subjects.NOTIFICATION_FAILED, data, clock)


def delivered_now(doc: dict[str, Any], now: datetime) -> dict[str, Any]:
    """An inbox message is delivered by being stored."""
    return doc | {"status": "sent", "sent_at": now, "due_ts": None}


def claim(claim_id: str, now: datetime, policy: RetryPolicy) -> dict[str, Any]:
    """Take a message for sending: off the due list, onto a lease that another sender may take over."""
    lease_end = now + timedelta(seconds=policy.lease_seconds)
    return {"claim": {"id": claim_id, "at": now}, "due_ts": None, "lease_ts": to_ms(lease_end)}


def settle(
    doc: dict[str, Any],
    outcome: Outcome,
    *,
    now: datetime,
    policy: RetryPolicy,
    quiet: QuietHours | None,
    tz: ZoneInfo,
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """The state after one try: sent, back in the queue after a back-off, or dead with its reason."""
    attempts = doc["attempts"] + 1
    done = {"attempts": attempts, "claim": None, "lease_ts": None, "last_error": None}
    if outcome.status == "delivered":
        return done | {"status": "sent", "sent_at": now, "due_ts": None, "provider_ref": outcome.provider_ref}
    done["last_error"] = outcome.reason
    if outcome.status == "permanent":
        return done | {"status": "dead", "due_ts": None, "dead_reason": f"refused: {outcome.reason}"}
    if attempts >= policy.max_attempts:
        reason = f"gave up after {attempts} tries; last: {outcome.reason}"
        return done | {"status": "dead", "due_ts": None, "dead_reason": reason}
    wait = backoff_seconds(attempts, base=policy.base_seconds, cap=policy.cap_seconds, rng=rng)
    if outcome.retry_after is not None:
        wait = max(wait, min(outcome.retry_after, policy.cap_seconds))
    at = hold_for_quiet_hours(
        doc["channel"], bool(doc.get("urgent")), now + timedelta(seconds=wait), quiet, tz
    )
    return done | {"status": "failed", "due_ts": to_ms(at)}


def interrupted(doc: dict[str, Any], *, now: datetime, confirms: bool) -> dict[str, Any]:
    """A message whose sender stopped mid-try: tried again under the same key where the channel
    recognises repeats, else given up on rather than risk sending it twice."""
    attempts = doc["attempts"] + 1
    if confirms:
        return {
            "attempts": attempts,
            "claim": None,
            "lease_ts": None,
            "due_ts": to_ms(now),
            "status": "failed",
            "last_error": "interrupted; sent again under the same idempotency key",
        }
    reason = "interrupted while sending; the channel cannot confirm delivery, so it is not sent again"
    return {
        "attempts": attempts,
        "claim": None,
        "lease_ts": None,
        "due_ts": None,
        "status": "dead",
        "last_error": reason,
        "dead_reason": reason,
    }
