"""Formal documents (规范文书) on the real servers: a case's events make numbered documents, archived
once each and listed with the case, printable as A4 PDFs; a petitioner who chose post gets a letter in
the print queue; a language without templates falls back to Chinese, and the fallback is recorded.

A real nats-server and the embedded MongoDB server carry the events (tests/notify_support.py); the
documents are read from the archive and through notify's API; the PDFs are parsed with pypdf.
"""

import hashlib
import io
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pypdf import PdfReader

from bench.notify_fakes import alarm, assigned, handled, screened, unit
from dispatch_common import subjects
from dispatch_common.crypto import encrypt
from dispatch_common.envelope import Envelope
from dispatch_common.lookup_code import lookup_aad
from tests.helpers import eventually
from tests.notify_support import Harness, start_notify, stop_notify

pytestmark = pytest.mark.integration
PHONE = "13812345678"
LEAD = unit("990102-ZJJ", "示范县住房和城乡建设局")
A4 = (595.28, 841.89)


@pytest.fixture
async def h(servers) -> AsyncIterator[Harness]:
    harness = await start_notify(**servers)
    yield harness
    await stop_notify(harness)


def new_case() -> tuple[str, str]:
    return str(uuid.uuid4()), f"990102-2026-{uuid.uuid4().int % 10**6:06d}"


def screened_by(h: Harness, case_id: str, case_no: str, **petitioner: Any) -> Envelope:
    """dispatch.case.screened as intake publishes it for a named petitioner with a phone and choices."""
    event = screened(case_id, case_no, **h.contact(PHONE, case_id))
    data = dict(event.data)
    data["petitioner"] = data["petitioner"] | {"name_masked": "张*"} | petitioner
    return event.model_copy(update={"data": data})


async def documents_of(h: Harness, case_id: str, count: int) -> list[dict[str, Any]]:
    archive = h.notify.issuing.archive  # type: ignore[union-attr]

    async def probe() -> list[dict[str, Any]] | None:
        docs = [d async for d in archive.documents.find({"case_id": case_id}).sort("created_ts", 1)]
        return docs if len(docs) >= count else None

    return await eventually(probe, what=f"{count} documents of {case_id}")


def pdf_text(pdf: bytes) -> tuple[tuple[float, float], str]:
    reader = PdfReader(io.BytesIO(pdf))
    box = reader.pages[0].mediabox
    return (round(float(box.width), 2), round(float(box.height), 2)), "".join(
        p.extract_text() for p in reader.pages
    )


async def test_a_case_from_acceptance_to_answer_has_its_numbered_documents_archived_in_order_and_printable(
    h: Harness,
):
    case_id, case_no = new_case()
    await h.publish(screened_by(h, case_id, case_no))
    await documents_of(h, case_id, 1)  # each event in its turn, as the case lives
    await h.publish(assigned(case_id, case_no, LEAD))
    await documents_of(h, case_id, 2)
    await h.publish(
        alarm(subjects.CASE_ESCALATED, case_id, case_no, LEAD, level="supervision_letter", label="督办函")
    )
    await documents_of(h, case_id, 3)
    await h.publish(
        handled(
            subjects.CASE_REPLIED,
            case_id,
            case_no,
            "reply",
            status="replied",
            result="resolved",
            note="路灯已修复。",
            matter="反映解放路路灯损坏。",
            facts="经现场核实，路灯线路老化，属实。",
            basis="《城市道路照明设施管理规定》第十条",
        )
    )
    await documents_of(h, case_id, 4)
    await h.publish(
        handled(
            subjects.CASE_REVIEW_ANSWERED,
            case_id,
            case_no,
            "review_answer",
            stage="复查",
            note="维持原答复意见。",
        )
    )
    docs = await documents_of(h, case_id, 5)

    types = [d["type"] for d in docs]
    assert types == [
        "acceptance_notice",
        "assignment_letter",
        "supervision_letter",
        "reply_opinion",
        "review_opinion",
    ]
    words = {
        "acceptance_notice": "受",
        "assignment_letter": "交",
        "supervision_letter": "督",
        "reply_opinion": "复",
        "review_opinion": "复查",
    }
    for d in docs:
        assert re.fullmatch(rf"示信{words[d['type']]}〔\d{{4}}〕[1-9]\d*号", d["number"]), d["number"]
        assert d["content_hash"] == "sha256:" + hashlib.sha256(d["html"].encode()).hexdigest()
        assert d["template_version"] == h.notify.templates.version and d["version"] == 1
    reply = docs[3]
    assert reply["title"] == "答复意见书" and reply["petitioner_name"] == "张*"
    for part in (
        "张*：",
        "反映解放路路灯损坏",
        "经现场核实",
        "第十条",
        "路灯已修复",
        "示范县人民政府",
        "30日",
        "示范县信访局",
    ):
        assert part in reply["html"], part
    assert docs[2]["title"] == "督办函" and LEAD["name"] in docs[2]["html"]

    async with h.api("dispatcher") as client:
        first = (await client.get(f"/v1/cases/{case_id}/documents", params={"limit": 3})).json()
        rest = (
            await client.get(f"/v1/cases/{case_id}/documents", params={"cursor": first["next_cursor"]})
        ).json()
        listed = first["items"] + rest["items"]
        assert [d["number"] for d in listed] == [d["number"] for d in docs] and rest["next_cursor"] is None
        one = await client.get(f"/v1/documents/{reply['_id']}")
        assert one.status_code == 200 and one.headers["etag"] and one.json()["pdf_path"].endswith("/pdf")
        pdf = await client.get(one.json()["pdf_path"])
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        size, text = pdf_text(pdf.content)
        assert size == A4
        assert reply["number"] in text and "张*" in text and "答复意见书" in text and "示范县信访局" in text
        assert (await client.get(one.json()["pdf_path"])).content == pdf.content  # the same bytes again
        html = await client.get(f"/v1/documents/{reply['_id']}/html")
        assert hashlib.sha256(html.content).hexdigest() == reply["content_hash"].removeprefix("sha256:")
        assert (await client.get("/v1/documents/doc-none")).status_code == 404
    async with h.api("unit_handler", unit=LEAD["code"]) as client:
        assert (await client.get(f"/v1/cases/{case_id}/documents")).status_code == 403


async def test_the_same_event_twice_makes_one_document_and_takes_one_number(h: Harness):
    case_id, case_no = new_case()
    event = screened_by(h, case_id, case_no)
    await h.publish(event)
    [doc] = await documents_of(h, case_id, 1)
    # the same event again (another Nats-Msg-Id, as a republish after the duplicate window would be)
    await h.nc.jetstream().publish(
        event.type, event.to_bytes(), headers={"Nats-Msg-Id": f"again-{event.id}"}, stream="DISPATCH"
    )
    other_id, other_no = new_case()
    await h.publish(screened_by(h, other_id, other_no))  # after the replay in the stream
    [other] = await documents_of(h, other_id, 1)
    assert len(await documents_of(h, case_id, 1)) == 1
    assert other["seq"] == doc["seq"] + 1  # the replay took no number


async def test_a_petitioner_who_chose_post_gets_a_print_queue_item_instead_of_an_sms(h: Harness):
    case_id, case_no = new_case()
    await h.publish(screened_by(h, case_id, case_no, notify_channel="post"))
    [msg] = await h.settled(case_id, 1, done=lambda d: d["channel"] == "post")
    assert (msg["channel"], msg["status"], msg["print_status"]) == ("post", "queued", "to_print")
    assert msg["due_ts"] is None and not h.gateway.requests  # no SMS, and no sender will try it
    [doc] = await documents_of(h, case_id, 1)
    async with h.api("reception_clerk") as client:
        queue = (await client.get("/v1/print-queue", params={"limit": 200})).json()["items"]
        item = next(i for i in queue if i["id"] == msg["_id"])
        assert item["documents"] == [doc["_id"]] and item["print_status"] == "to_print"
        size, text = pdf_text((await client.get(item["pdf_path"])).content)
        assert size == A4 and doc["number"] in text and "张*" in text
        stale = await client.post(
            f"/v1/print-queue/{msg['_id']}/mailed", headers={"If-Match": '"99"'}, json={}
        )
        assert stale.status_code == 412
        done = await client.post(
            f"/v1/print-queue/{msg['_id']}/mailed",
            headers={"If-Match": f'"{item["version"]}"'},
            json={"reference": "XA123456789CN"},
        )
        assert done.status_code == 200 and done.json()["print_status"] == "mailed", done.text
        assert (await client.post(f"/v1/print-queue/{msg['_id']}/mailed", json={})).status_code == 409
        mailed = (await client.get("/v1/print-queue", params={"status": "mailed", "limit": 200})).json()[
            "items"
        ]
        assert msg["_id"] in [i["id"] for i in mailed]
        # the petitioner asks at the window to be told by SMS from now on
        prefs = await client.get(f"/v1/cases/{case_id}/preferences")
        assert prefs.json()["notify_channel"] == "post"
        changed = await client.put(
            f"/v1/cases/{case_id}/preferences",
            headers={"If-Match": prefs.headers["etag"]},
            json={"notify_channel": "sms"},
        )
        assert changed.status_code == 200 and changed.json()["notify_channel"] == "sms", changed.text
        bad = await client.put(f"/v1/cases/{case_id}/preferences", json={"language": "fr"})
        assert bad.status_code == 422
    [sent] = [d for d in await h.messages(case_id) if d["_id"] == msg["_id"]]
    assert sent["status"] == "sent" and sent["mailed_by"]
    await h.publish(assigned(case_id, case_no, LEAD))

    async def told_of_assignment() -> dict[str, Any] | None:
        mine = [
            d
            for d in await h.messages(case_id)
            if d["kind"] == "assignment" and d["audience"] == "petitioner"
        ]
        return mine[0] if mine else None

    later = await eventually(told_of_assignment, what="the petitioner's assignment notice")
    assert later["channel"] == "sms"


async def test_a_language_without_templates_falls_back_to_chinese_and_the_fallback_is_recorded(h: Harness):
    told: dict[str, dict[str, Any]] = {}
    for language in ("ug", "en", "fr"):
        case_id, case_no = new_case()
        await h.publish(screened_by(h, case_id, case_no, language=language))
        [msg] = await h.settled(case_id, 1)
        [doc] = await documents_of(h, case_id, 1)
        told[language] = {"msg": msg, "doc": doc}
    ug = told["ug"]
    assert (ug["msg"]["language"], ug["msg"]["language_requested"], ug["msg"]["language_fallback"]) == (
        "zh",
        "ug",
        True,
    )
    assert ug["msg"]["language_fallback_reason"] == "no template in ug" and "已受理" in ug["msg"]["body"]
    assert (
        ug["doc"]["language"] == "zh" and ug["doc"]["language_fallback"] and "予以受理" in ug["doc"]["html"]
    )
    en = told["en"]
    assert (
        en["msg"]["language"] == "en"
        and not en["msg"]["language_fallback"]
        and "accepted" in en["msg"]["body"]
    )
    assert en["doc"]["language"] == "en" and "accepted" in en["doc"]["html"]
    fr = told["fr"]
    assert fr["msg"]["language_fallback_reason"] == "fr is not a language of the county"
    async with h.api("dispatcher") as client:
        shown = (await client.get("/v1/notifications", params={"case_id": ug["msg"]["case_id"]})).json()[
            "items"
        ]
        assert shown[0]["language_fallback"] is True and shown[0]["language"] == "zh"


async def test_the_acceptance_letter_by_post_carries_the_lookup_code_only_when_printed(h: Harness):
    """A petitioner told by post gets the lookup code (查询码) on the printed letter, as the SMS carries
    it: the stored message and its text keep only the sealed token, the PDF has the code."""
    case_id, case_no = new_case()
    code = "K7MPQ2XZ"
    token = encrypt(h.keys, code, aad=lookup_aad(case_id))
    await h.publish(screened_by(h, case_id, case_no, notify_channel="post", lookup_token=token))
    [msg] = await h.settled(case_id, 1, done=lambda d: d["channel"] == "post")
    assert msg["kind"] == "acceptance" and msg["lookup_token"] == token
    assert "K7MP" not in str(msg)  # nowhere in clear in the store
    async with h.api("reception_clerk") as client:
        _, text = pdf_text((await client.get(f"/v1/print-queue/{msg['_id']}/pdf")).content)
    assert "K7MP-Q2XZ" in text.replace(" ", "") and case_no in text.replace(" ", "")
