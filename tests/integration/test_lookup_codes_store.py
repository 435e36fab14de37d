"""Supervision's store of lookup-code verifiers on the real embedded server: a batch's new cases in
one insert, and the highest version kept whatever the order and however often events come."""

from dispatch_common import store, subjects
from dispatch_common.bus import Delivery
from dispatch_common.envelope import make_event
from services.supervision.adapters.lookup_codes import LookupCodes


def _delivery(event_type: str, data: dict) -> Delivery:
    event = make_event(type=event_type, source="test", subject=data["case_id"], data=data)
    return Delivery(event=event, data=None, deliveries=1)


def _received(case_no: str, version: int, verifier: str) -> Delivery:
    data = {
        "case_id": f"id-{case_no}",
        "case_no": case_no,
        "lookup": {"version": version, "verifier": verifier},
    }
    event = make_event(type=subjects.CASE_RECEIVED, source="test", subject=data["case_id"], data=data)
    return Delivery(event=event, data=None, deliveries=1)


def _changed(case_no: str, version: int, verifier: str | None) -> Delivery:
    data = {"case_id": f"id-{case_no}", "case_no": case_no, "version": version, "verifier": verifier}
    event = make_event(
        type=subjects.CASE_LOOKUP_CODE_CHANGED, source="test", subject=data["case_id"], data=data
    )
    return Delivery(event=event, data=None, deliveries=1)


async def test_the_highest_version_wins_in_any_order_and_redelivery(mongodb_url, db_prefix):
    client = store.connect(mongodb_url, app_name="test-lookup-codes")
    try:
        codes = LookupCodes(client[f"{db_prefix}supervision"]["lookup_codes"])
        # one batch: two new cases, and a re-issue of the first arriving in the same batch
        await codes.apply([_received("A", 1, "v-a1"), _received("B", 1, "v-b1"), _changed("A", 2, "v-a2")])
        # later batches: the first case's received event again, then a revocation; an old re-issue late
        await codes.apply([_received("A", 1, "v-a1")])
        await codes.apply([_changed("B", 3, None), _changed("B", 2, "v-b2")])
        a, b = await codes.find("A"), await codes.find("B")
        assert a is not None and (a["version"], a["verifier"], a["case_id"]) == (2, "v-a2", "id-A")
        assert b is not None and (b["version"], b["verifier"]) == (3, None)
        assert await codes.find("C") is None
    finally:
        await client.close()
