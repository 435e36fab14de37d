"""What the chaos suite counts after the faults: each accepted case's effects, found or lost, and the
effects that happened more than once. Read from the services' own databases and the streams.

A case's effects: its case file in supervision; for a case accepted at screening, its route in routing
and a case file past routing (assigned or waiting for a dispatcher); for any outcome but the manual
queue, the petitioner's screening notice in notify. Duplicates: a case registered twice (two
`dispatch.case.received` with different ids), assigned twice (two `dispatch.case.assigned` of one route
revision), two messages of one kind to one recipient for one cause, a message sent twice through the
gateway (its idempotency key seen again).
"""

import json
from collections import Counter
from typing import Any

from nats.js.errors import NotFoundError
from pymongo import AsyncMongoClient

from dispatch_common import subjects

PETITIONER_NOTICES = ("acceptance", "refusal", "redirect", "transfer", "answer")


async def count_effects(mongodb_url: str, prefix: str, case_ids: set[str], nc: Any) -> dict[str, Any]:
    """Lost and duplicated effects of the cases submitted."""
    client: AsyncMongoClient = AsyncMongoClient(mongodb_url, tz_aware=True)
    try:
        db = {s: client[f"{prefix}{s}"] for s in ("intake", "routing", "supervision", "notify")}
        # a whole sub-document in the projection: the embedded server drops dotted projections
        cases = {d["_id"]: d async for d in db["intake"]["cases"].find({}, {"screening": 1})}
        files = {d["_id"]: d async for d in db["supervision"]["case_dossiers"].find({}, {"status": 1})}
        routes = {d["_id"] async for d in db["routing"]["routes"].find({}, {"_id": 1})}
        notices = Counter()
        petitioner = set()
        fields = {"case_id": 1, "kind": 1, "recipient_key": 1, "channel": 1, "cause_event_id": 1}
        async for d in db["notify"]["notifications"].find({}, fields):
            # one message per cause, kind, recipient and channel (two warnings of a case are two causes)
            notices[(d.get("cause_event_id"), d["kind"], d["recipient_key"], d["channel"])] += 1
            if d["recipient_key"] == "petitioner" and d["kind"] in PETITIONER_NOTICES:
                petitioner.add(d.get("case_id"))
    finally:
        await client.close()
    lost: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}

    def note(what: str, example: str) -> None:
        lost[what] += 1
        examples.setdefault(what, [])
        if len(examples[what]) < 5:
            examples[what].append(example)

    for case_id in case_ids:
        outcome = ((cases.get(case_id) or {}).get("screening") or {}).get("outcome")
        if case_id not in cases:
            note("registration", case_id)
            continue
        if case_id not in files:
            note("case_file", case_id)
        if outcome == "accepted":
            if case_id not in routes:
                note("route", case_id)
            elif (files.get(case_id) or {}).get("status") in ("registered", "accepted"):
                note("assignment", case_id)
        if outcome != "manual" and case_id not in petitioner:
            note("screening_notice", f"{case_id} ({outcome})")
    events = await dispatch_events(nc, {subjects.CASE_RECEIVED, subjects.CASE_ASSIGNED})
    # distinct event ids per case: a republished id is JetStream's to drop, a new id is a second effect
    registered = Counter(e["subject"] for e in {e["id"]: e for e in events[subjects.CASE_RECEIVED]}.values())
    assigned = Counter(e["subject"] for e in {e["id"]: e for e in events[subjects.CASE_ASSIGNED]}.values())
    duplicated = {
        "registrations": sum(n - 1 for n in registered.values() if n > 1),
        "assignments": sum(n - 1 for n in assigned.values() if n > 1),  # no case is re-routed here
        "notices": sum(n - 1 for n in notices.values() if n > 1),
    }
    twice = [f"cause {k[0]}: {k[1]} to {k[2]} by {k[3]}" for k, n in notices.items() if n > 1][:5]
    if twice:
        examples["notices_twice"] = twice
    return {"cases": len(case_ids), "lost": dict(lost), "duplicated": duplicated, "examples": examples}


async def dispatch_events(nc: Any, types: set[str]) -> dict[str, list[dict[str, Any]]]:
    """The events of some types in the DISPATCH stream, read message by message."""
    js = nc.jetstream()
    info = await js.stream_info(subjects.DISPATCH_STREAM)
    found: dict[str, list[dict[str, Any]]] = {t: [] for t in types}
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            msg = await js.get_msg(subjects.DISPATCH_STREAM, seq)
        except NotFoundError:
            continue
        if msg.subject in types:
            found[msg.subject].append(json.loads(msg.data))
    return found
