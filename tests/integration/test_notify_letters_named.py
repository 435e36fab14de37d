"""A letter by post names the petitioner in full, on the real servers: notify keeps the name and postal
address intake sealed for it (`name_token`, `address_token`) and opens them only to print, through the
print queue and a document's PDF, each print audited; the stored message, the archived document (its
HTML and hash) and the JSON views keep the masked name. An event from before the tokens prints the
masked name and says so in the letter, without failing.

A real nats-server and the embedded MongoDB server (tests/notify_support.py); PDFs parsed with pypdf.
"""

import io
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pypdf import PdfReader

from bench.notify_fakes import screened
from dispatch_common.crypto import address_aad, encrypt, name_aad
from dispatch_common.envelope import Envelope
from services.notify.domain.addressee import NO_NAME
from services.notify.domain.documents import content_hash
from tests.helpers import eventually
from tests.notify_support import Harness, start_notify, stop_notify

pytestmark = pytest.mark.integration
NAME, ADDRESS, MASKED = "欧阳明远", "幸福路12号3单元501室", "欧***"


@pytest.fixture
async def h(servers) -> AsyncIterator[Harness]:
    harness = await start_notify(**servers)
    yield harness
    await stop_notify(harness)


def post_letter(h: Harness, case_id: str, *, sealed: bool) -> Envelope:
    """dispatch.case.screened for a petitioner who chose post, with (or, as before, without) the tokens."""
    event = screened(case_id, f"990102-2026-{uuid.uuid4().int % 10**6:06d}")
    tokens = {
        "name_token": encrypt(h.keys, NAME, aad=name_aad(case_id)),
        "address_token": encrypt(h.keys, ADDRESS, aad=address_aad(case_id)),
    }
    petitioner = event.data["petitioner"] | {"name_masked": MASKED, "notify_channel": "post"}
    data = event.data | {"petitioner": petitioner | (tokens if sealed else {})}
    return event.model_copy(update={"data": data})


def pdf_text(pdf: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace(" ", "")


async def letter_and_document(h: Harness, case_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    [msg] = await h.settled(case_id, 1, done=lambda d: d["channel"] == "post")
    archive = h.notify.issuing.archive  # type: ignore[union-attr]

    async def archived() -> dict[str, Any] | None:
        return await archive.documents.find_one({"case_id": case_id})

    return msg, await eventually(archived, what=f"the acceptance notice of {case_id}")


async def test_the_printed_letter_names_the_petitioner_and_the_address_and_nothing_stored_does(h: Harness):
    case_id = str(uuid.uuid4())
    await h.publish(post_letter(h, case_id, sealed=True))
    msg, doc = await letter_and_document(h, case_id)
    assert doc["petitioner_name"] == MASKED and doc["content_hash"] == content_hash(doc["html"])
    async with h.api("reception_clerk", subject="clerk-7") as client:
        printed = pdf_text((await client.get(f"/v1/print-queue/{msg['_id']}/pdf")).content)
        assert NAME in printed and ADDRESS in printed and MASKED not in printed
        assert pdf_text((await client.get(f"/v1/documents/{doc['_id']}/pdf")).content) == printed
        view = (await client.get(f"/v1/documents/{doc['_id']}")).json()
        html = (await client.get(f"/v1/documents/{doc['_id']}/html")).text
        queue = (await client.get("/v1/print-queue", params={"limit": 200})).json()["items"]
    assert view["petitioner_name"] == MASKED and MASKED in html and NAME not in html
    assert NAME not in str([i for i in queue if i["case_id"] == case_id])
    stored = await h.notify.issuing.archive.get(doc["_id"])  # type: ignore[union-attr]
    assert stored == doc  # the archived document unchanged by printing it
    db = h.notify.runtime.db
    for name in await db.list_collection_names():
        held = [d async for d in db[name].find({})]
        assert NAME not in str(held) and "幸福路" not in str(held), name
    audit = [d async for d in db["clear_prints"].find({"case_id": case_id})]
    assert [(a["subject"], a["what"]) for a in audit] == [
        ("clerk-7", f"print-queue {msg['_id']} pdf: petitioner.name, petitioner.postal_address"),
        ("clerk-7", f"document {doc['_id']} pdf: petitioner.name, petitioner.postal_address"),
    ]


async def test_a_letter_of_an_event_from_before_the_tokens_prints_the_masked_name_and_says_so(h: Harness):
    case_id = str(uuid.uuid4())
    await h.publish(post_letter(h, case_id, sealed=False))
    msg, _ = await letter_and_document(h, case_id)
    async with h.api("reception_clerk") as client:
        answer = await client.get(f"/v1/print-queue/{msg['_id']}/pdf")
    assert answer.status_code == 200
    printed = pdf_text(answer.content)
    assert MASKED in printed and NO_NAME[:12] in printed and NAME not in printed
    assert not [d async for d in h.notify.runtime.db["clear_prints"].find({"case_id": case_id})]


async def test_a_confidential_reports_letter_is_printed_as_archived_even_if_tokens_came(h: Harness):
    """Intake sends no tokens for a 检举控告 report (its events are withheld); were one to come, notify
    still prints the letter as archived and opens nothing."""
    case_id = str(uuid.uuid4())
    event = post_letter(h, case_id, sealed=True)
    await h.publish(event.model_copy(update={"data": event.data | {"confidential": True}}))
    [msg] = await h.settled(case_id, 1, done=lambda d: d["status"] in ("sent", "queued"))
    async with h.api("admin") as client:
        answer = await client.get(f"/v1/print-queue/{msg['_id']}/pdf")
    assert answer.status_code == 200 and NAME not in pdf_text(answer.content)
    assert not [d async for d in h.notify.runtime.db["clear_prints"].find({"case_id": case_id})]
