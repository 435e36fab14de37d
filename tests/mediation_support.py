"""The mediation service in process on a test's real servers, driven over HTTP as its callers would,
and the routed dispute that opens a mediation through its durable consumer."""

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from dispatch_common import subjects
from dispatch_common.clock import FixedClock
from dispatch_common.envelope import Envelope, make_event
from dispatch_common.http import create_app
from services.mediation.bootstrap import build
from services.mediation.config import MediationSettings
from services.mediation.container import Mediation
from services.mediation.entrypoints import api
from tests.helpers import FAST_CONSUMERS, api_client, eventually, nats_identity, publish_as_ops
from tests.mediation_cases import MONDAY, TOWN, VILLAGE, VILLAGE_COMMITTEE


@dataclass
class MediationHarness:
    """A started mediation service, its clock, and HTTP clients for it."""

    med: Mediation
    clock: FixedClock
    client: Callable[..., httpx.AsyncClient]

    async def publish(self, event: Envelope) -> None:
        """Publish an event of another service (routing's), from outside, as the operators' user."""
        settings = self.med.runtime.settings
        await publish_as_ops(settings.nats_url, settings.run_dir, event.to_document())


async def start_mediation(
    *, nats_url: str, mongodb_url: str, db_prefix: str, run_dir: Path, **overrides: Any
) -> MediationHarness:
    """Build and start mediation with fast retries and a 0.2 s scanner; the caller stops its runtime."""
    values: dict[str, Any] = FAST_CONSUMERS | {
        "nats_url": nats_url,
        "mongodb_url": mongodb_url,
        "mongodb_db_prefix": db_prefix,
        "run_dir": run_dir,
        "mediation_scan_seconds": 0.2,
        **nats_identity(run_dir, "mediation"),
    }
    clock = FixedClock(MONDAY)
    med = build(MediationSettings(**(values | overrides)), clock=clock)
    app = create_app(med.runtime, title="Mediation", description="test", include=api.include)
    app.state.mediation = med
    await med.runtime.start()

    def client(role: str, unit: str | None = None) -> httpx.AsyncClient:
        return api_client(app, run_dir / "keys", base_url="http://mediation", role=role, unit=unit)

    return MediationHarness(med, clock, client)


def case_no_of(case_id: str) -> str:
    """The case number the tests give a case id."""
    return f"990102-2026-{zlib.crc32(case_id.encode()) % 10**6:06d}"


def routed_event(
    case_id: str, *, category: str = "14", subcategory: str = "1401", flags: tuple[str, ...] = ("mediation",)
) -> Envelope:
    """dispatch.case.routed for a dispute in the demo county's village, as routing publishes it."""
    return make_event(
        type=subjects.CASE_ROUTED,
        source="/dispatch/routing",
        subject=case_id,
        data={
            "case_id": case_id,
            "case_no": case_no_of(case_id),
            "jurisdiction": {"town": TOWN, "village": VILLAGE, "grid": None, "source": "coordinates"},
            "category": {"code": category, "subcode": subcategory, "confidence": 0.9},
            "flags": list(flags),
            "lead_unit": {"code": f"{TOWN}-GOV", "name": "镇政府", "type": "town_government", "role": "lead"},
            "assisting_units": [
                {
                    "code": VILLAGE_COMMITTEE,
                    "name": "调委会",
                    "type": "mediation_committee",
                    "role": "mediation",
                }
            ],
            "tier": "general",
            "queue": "auto",
            "explanation": [],
            "package_version": "test",
        },
    )


async def opened_by_routing(h: MediationHarness, case_id: str, **kw: Any) -> dict[str, Any]:
    """Publish a routed dispute and wait for the mediation it opens, as a dispatcher reads it."""
    await h.publish(routed_event(case_id, **kw))
    async with h.client("dispatcher") as dispatcher:

        async def listed() -> dict[str, Any] | None:
            items = (await dispatcher.get("/v1/mediations", params={"case_id": case_id})).json()["items"]
            return items[0] if items else None

        return await eventually(listed, what=f"the mediation of {case_id}")


async def mediate_to_agreement(h: MediationHarness, case_id: str) -> str:
    """Open a mediation for a routed dispute and take it to an agreement as its mediator would: two
    parties consent, a session with a lawyer is scheduled and recorded, the agreement is made."""
    mid = str((await opened_by_routing(h, case_id))["id"])
    parties = [
        {"role": "applicant", "name": "张三", "consent": True},
        {"role": "respondent", "name": "李四", "consent": True},
    ]
    async with h.client("mediator", VILLAGE_COMMITTEE) as mediator:
        assert (
            await mediator.post(f"/v1/mediations/{mid}/consent", json={"parties": parties})
        ).status_code == 200
        start = (h.clock.now() + timedelta(days=1)).isoformat()
        session = {
            "start_at": start,
            "place": "村委会",
            "participants": [{"role": "lawyer", "name": "王律师"}],
        }
        assert (await mediator.post(f"/v1/mediations/{mid}/sessions", json=session)).status_code == 201
        h.clock.advance(timedelta(days=1, hours=2))
        record = {"summary": "张三李四当面协商"}
        assert (
            await mediator.post(f"/v1/mediations/{mid}/sessions/1/record", json=record)
        ).status_code == 200
        outcome = {
            "result": "agreed",
            "facts": "排水沟纠纷",
            "terms": ["李四疏通排水沟"],
            "fulfilment_method": "自行疏通",
            "fulfilment_due": (h.clock.now() + timedelta(days=5)).date().isoformat(),
        }
        assert (await mediator.post(f"/v1/mediations/{mid}/outcome", json=outcome)).status_code == 200
    return mid
