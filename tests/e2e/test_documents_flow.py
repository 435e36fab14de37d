"""A case through the whole platform makes its formal documents: intake registers a named petitioner
who chose post, routing assigns, the unit answers with facts and basis, and notify archives the
受理告知书, 交办函 and 答复意见书 in that order, numbered, each a parsable A4 PDF, and queues the
letters by post for the reception window. The printed letters name the petitioner in full with their
postal address (sealed by intake for notify, opened only to print); the archived documents, their
JSON and notify's store hold only the masked name."""

import io

import pytest
from pymongo import MongoClient
from pypdf import PdfReader

from tests.e2e.flow import settled_case_file, submission, wait_for

NAME, ADDRESS = "王小明", "幸福路12号3单元501室"


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "".join(p.extract_text() for p in reader.pages).replace(" ", "")


pytestmark = pytest.mark.e2e


def test_a_case_from_acceptance_to_answer_leaves_its_documents_and_letters_to_post(
    stack, clerk, dispatcher, as_role, samples
):
    sample = next(s for s in samples if s["expect"].get("town") and not s["expect"]["flags"])
    petitioner = {"name": NAME, "phone": "13912345670", "notify_channel": "post", "postal_address": ADDRESS}
    r = clerk.post(
        "intake", "/v1/cases", json=submission(sample, channel="petition_letter", petitioner=petitioner)
    )
    assert r.status_code == 201, r.text
    case = settled_case_file(dispatcher, r.json()["case_id"])
    assert case["status"] == "assigned", case
    case_id, unit = case["case_id"], as_role("unit_handler", case["lead_unit"]["code"])
    assert unit.post("supervision", f"/v1/cases/{case_id}/sign", json={}).status_code == 200
    answer = {
        "result": "resolved",
        "text": "已督促修复。",
        "facts": "经现场核实，反映属实。",
        "basis": "《信访工作条例》第三十三条",
    }
    r = unit.post("supervision", f"/v1/cases/{case_id}/reply", json=answer)
    assert r.status_code == 200, r.text

    def documents():
        items = dispatcher.get("notify", f"/v1/cases/{case_id}/documents").json()["items"]
        return items if len(items) >= 3 else None

    docs = wait_for(documents, what="the case's three documents")
    assert [d["type"] for d in docs] == ["acceptance_notice", "assignment_letter", "reply_opinion"]
    reply = docs[-1]
    assert reply["number"].startswith("示信复〔") and reply["petitioner_name"] == "王**"
    pdf = dispatcher.get("notify", reply["pdf_path"])
    assert pdf.status_code == 200
    page = PdfReader(io.BytesIO(pdf.content)).pages
    assert (round(float(page[0].mediabox.width)), round(float(page[0].mediabox.height))) == (595, 842)
    text = pdf_text(pdf.content)
    assert reply["number"] in text and "经现场核实" in text
    assert NAME in text and ADDRESS in text and "王**" not in text  # opened for the print only
    archived = dispatcher.get("notify", reply["html_path"]).text
    assert "王**" in archived and NAME not in archived and NAME not in str(reply)

    def letters():
        items = clerk.get("notify", "/v1/print-queue", params={"limit": 200}).json()["items"]
        mine = [i for i in items if i["case_id"] == case_id]
        return mine if {"acceptance", "reply"} <= {i["kind"] for i in mine} else None

    queued = wait_for(letters, what="the letters by post")
    assert all(i["recipient"] != "13912345670" for i in queued) and NAME not in str(queued)
    posted = next(i for i in queued if i["kind"] == "reply")
    assert NAME in pdf_text(clerk.get("notify", posted["pdf_path"]).content)  # the 答复意见书 to post
    notify_db = MongoClient(stack.mongodb_url, tz_aware=True)["dispatch_notify"]
    assert "case_views" in notify_db.list_collection_names()  # the database notify writes
    for name in notify_db.list_collection_names():  # notify never stores the clear name or address
        held = str(list(notify_db[name].find({})))
        assert NAME not in held and ADDRESS not in held, name
    sms = dispatcher.get("notify", "/v1/notifications", params={"case_id": case_id}).json()["items"]
    assert not [m for m in sms if m["audience"] == "petitioner" and m["channel"] == "sms"]
