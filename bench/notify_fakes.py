"""Stand-ins for what notify talks to, on loopback: an HTTP receiver for the SMS gateway and webhooks,
an SMTP server, and the events other services publish. Used by notify's tests and its benchmark.

The HTTP receiver checks each request's signature, keeps idempotency keys as a real gateway would
(a repeated key answers 409 and is counted as a duplicate, never delivered twice), and can be told
to fail, refuse, answer slowly, or hang past the client's timeout.
"""

import asyncio
import email
import email.policy
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from aiohttp import web

from devtools.stack import free_port
from dispatch_common import subjects
from dispatch_common.contracts import validate_event
from dispatch_common.envelope import Envelope, make_event, new_event_id
from services.notify.adapters.channels import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


@dataclass
class Received:
    """One request the receiver got."""

    at: float
    key: str
    body: dict[str, Any]
    signed: bool
    behaviour: str


@dataclass
class FakeReceiver:
    """A loopback HTTP endpoint standing in for the SMS gateway or a webhook receiver.

    `script` holds the behaviour of the next requests, one each, then `default` applies:
    `ok`; `fail` (503); `busy` (429 with Retry-After); `reject` (400, never worth a retry); `slow`
    (answers ok after `slow_seconds`); `hang` (answers nothing for `hang_seconds`, delivers nothing).
    """

    secret: str
    default: str = "ok"
    script: list[str] = field(default_factory=list)
    slow_seconds: float = 0.5
    hang_seconds: float = 30.0
    requests: list[Received] = field(default_factory=list)
    delivered: dict[str, dict[str, Any]] = field(default_factory=dict)
    delivered_at: dict[str, float] = field(default_factory=dict)
    duplicates: int = 0
    url: str = ""
    _runner: web.AppRunner | None = None
    _taking: set[str] = field(default_factory=set)

    @property
    def taking(self) -> set[str]:
        """Keys of messages being taken right now (slow answers in progress)."""
        return set(self._taking)

    async def start(self, port: int | None = None) -> str:
        """Listen on a loopback port (a free one unless given); the URL to post to."""
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = port or free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}/send"
        return self.url

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        key = request.headers.get(IDEMPOTENCY_HEADER, "")
        signed = verify(
            self.secret,
            request.headers.get(TIMESTAMP_HEADER, ""),
            raw,
            request.headers.get(SIGNATURE_HEADER, ""),
        )
        behaviour = self.script.pop(0) if self.script else self.default
        body = json.loads(raw)
        self.requests.append(Received(time.monotonic(), key, body, signed, behaviour))
        if not signed:
            return web.json_response({"error": "bad signature"}, status=401)
        if key in self.delivered or key in self._taking:  # taken, or being taken right now
            self.duplicates += 1
            return web.json_response({"error": "duplicate", "id": key}, status=409)
        if behaviour == "fail":
            return web.json_response({"error": "unavailable"}, status=503)
        if behaviour == "busy":
            return web.json_response({"error": "slow down"}, status=429, headers={"Retry-After": "0"})
        if behaviour == "reject":
            return web.json_response({"error": "invalid recipient"}, status=400)
        if behaviour == "hang":
            await asyncio.sleep(self.hang_seconds)
            return web.json_response({"error": "too late"}, status=504)
        if behaviour == "slow":
            self._taking.add(key)
            try:
                await asyncio.sleep(self.slow_seconds)
            finally:
                self._taking.discard(key)
        self.delivered[key] = body
        self.delivered_at[key] = time.monotonic()
        return web.json_response({"id": f"gw-{len(self.delivered)}"})


class SmtpSink:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives.

    `fail_next` answers that many DATA commands with a temporary failure (451) first.
    """

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.fail_next = 0
        self.port = free_port()
        self._controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Keep the message, or refuse it for now."""
        if self.fail_next > 0:
            self.fail_next -= 1
            return "451 4.3.0 try again later"
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def start(self) -> int:
        """Listen on a free loopback port (the server runs in its own thread); the port."""
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self.port

    def stop(self) -> None:
        """Stop the server."""
        if self._controller is not None:
            self._controller.stop()


# -- events as intake, supervision and mediation publish them ----------------------------------------


def _event(
    event_type: str, source: str, case_id: str | None, data: dict[str, Any], at: datetime | None
) -> Envelope:
    event = make_event(type=event_type, source=source, subject=case_id, data=data, event_id=new_event_id())
    if at is not None:
        event = event.model_copy(update={"time": at})
    validate_event(event.to_document())
    return event


def screened(
    case_id: str,
    case_no: str,
    *,
    contact_token: str | None = None,
    phone_masked: str | None = None,
    email_token: str | None = None,
    email_masked: str | None = None,
    notify_channel: str | None = None,
    anonymous: bool = False,
    outcome: str = "accepted",
    reason: str = "",
    at: datetime | None = None,
    submitted_by: str | None = None,
) -> Envelope:
    """dispatch.case.screened for a case with (or without) a petitioner's phone or e-mail address."""
    contact = {"email_token": email_token, "email_masked": email_masked, "notify_channel": notify_channel}
    data = {
        "case_id": case_id,
        "case_no": case_no,
        "channel": "hotline_12345",
        "text": "路灯坏了一个月没人修",
        "received_at": (at or datetime.now(UTC)).isoformat(),
        "outcome": outcome,
        "reason": reason,
        "rules_version": "test",
        "screened_by": "rules",
        "confidential": False,
        "links": {"repeat_of": None, "incident_of": None, "earlier_cases": 0},
        "petitioner": {"anonymous": anonymous, "phone_masked": phone_masked, "contact_token": contact_token}
        | {k: v for k, v in contact.items() if v},
        "submitted_by": submitted_by,
    }
    return _event(subjects.CASE_SCREENED, "/dispatch/intake", case_id, data, at)


def mediation_opened(case_id: str) -> Envelope:
    """dispatch.mediation.opened as mediation publishes it: a people's mediation at one committee."""
    data = {
        "mediation_id": f"m-{case_id}",
        "case_id": case_id,
        "type": "people",
        "status": "opened",
        "organization": {"code": "u1", "name": "调委会", "type": "mediation_committee"},
        "opened_at": "2026-11-23T01:00:00+00:00",
    }
    return _event(subjects.MEDIATION_OPENED, "/dispatch/mediation", case_id, data, None)


def unit(code: str, name: str, role: str = "lead") -> dict[str, str]:
    """A unit as events carry it."""
    return {"code": code, "name": name, "type": "department", "role": role}


def assigned(
    case_id: str, case_no: str, lead: dict[str, str], assisting: list[dict[str, str]] | None = None
) -> Envelope:
    """dispatch.case.assigned with a 60-day handling deadline."""
    now = datetime.now(UTC)
    data = {
        "case_id": case_id,
        "case_no": case_no,
        "lead_unit": lead,
        "assisting_units": assisting or [],
        "deadlines": [
            {
                "kind": "handling",
                "label": "办理并答复",
                "due_at": (now + timedelta(days=60)).isoformat(),
                "basis": "t",
            }
        ],
        "assigned_at": now.isoformat(),
    }
    return _event(subjects.CASE_ASSIGNED, "/dispatch/supervision", case_id, data, None)


def alarm(
    event_type: str,
    case_id: str,
    case_no: str,
    lead: dict[str, str],
    *,
    level: str | None = None,
    label: str = "",
) -> Envelope:
    """dispatch.case.deadline_warning, .overdue or .escalated (with `level` and `label`)."""
    data: dict[str, Any] = {
        "case_id": case_id,
        "case_no": case_no,
        "status": "in_progress",
        "deadline": {"kind": "handling", "label": "办理并答复", "due_at": datetime.now(UTC).isoformat()},
        "lead_unit": lead,
    }
    if event_type == subjects.CASE_ESCALATED:
        data |= {"level": level or "reminder", "label": label or "提醒函"}
    return _event(event_type, "/dispatch/supervision", case_id, data, None)


def handled(event_type: str, case_id: str, case_no: str, action: str, **extra: Any) -> Envelope:
    """A handling step: dispatch.case.progressed, .replied, .followed_up, .extended, .reopened."""
    data = {
        "case_id": case_id,
        "case_no": case_no,
        "status": "in_progress",
        "action": action,
        "by": {"subject": "h", "role": "unit_handler", "unit": None},
        "at": datetime.now(UTC).isoformat(),
        "note": extra.pop("note", None),
        **extra,
    }
    return _event(event_type, "/dispatch/supervision", case_id, data, None)


async def publish(js: Any, event: Envelope) -> None:
    """Publish an event as its producer's outbox relay would: Nats-Msg-Id = its id."""
    await js.publish(
        event.type, event.to_bytes(), stream=subjects.stream_of(event.type), headers={"Nats-Msg-Id": event.id}
    )


def main() -> None:
    """Serve one receiver that accepts everything (an SMS gateway for bench/e2e_load.py) until killed:
    a process of its own, so that its work is not done on the load driver's event loop."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()

    async def serve() -> None:
        receiver = FakeReceiver(secret=args.secret)
        await receiver.start(args.port)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
