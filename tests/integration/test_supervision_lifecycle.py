"""The case lifecycle after routing on the real (embedded) MongoDB server, with the clock moved.

Every transition and permission, reopening, review and assistance. The deadlines, the scanner, the
worklist and the figures: test_supervision_deadlines.py.
"""

from datetime import timedelta

import pytest

from dispatch_common import subjects
from services.supervision import commands
from services.supervision.domain.lifecycle import NotAllowed, NotEntitled
from services.supervision.domain.policy import FollowupRule, Timekeeper
from tests.supervision_cases import (
    ASSISTING,
    CLERK,
    DISPATCHER,
    HANDLER,
    KEEPER,
    MONDAY,
    STRANGER,
    SUPERVISOR,
    act,
    assigned,
    deadline,
    owed,
)

pytestmark = pytest.mark.integration


async def test_a_case_goes_from_assignment_to_closure_with_an_event_and_record_for_each_step(files, clock):
    doc = await assigned(files, clock)
    assert deadline(doc, "handling")["due_at"] == MONDAY + timedelta(days=60)
    clock.advance(timedelta(hours=2))
    doc = await act(files, clock, HANDLER, "sign")
    assert doc["status"] == "signed" and deadline(doc, "sign")["met_at"] == clock.now()
    doc = await act(files, clock, ASSISTING, "progress", "已到现场核实")
    assert doc["status"] == "in_progress"
    doc = await act(files, clock, HANDLER, "extension", "需协调多个部门", days=20)
    assert doc["extension_request"]["decision"] is None
    doc = await act(files, clock, SUPERVISOR, "extension_decision", "同意", approve=True)
    assert doc["status"] == "extended"
    assert deadline(doc, "handling")["due_at"] == MONDAY + timedelta(days=80)
    clock.advance(timedelta(days=10))
    doc = await act(files, clock, HANDLER, "reply", "路灯已修复。\n感谢监督。", result="resolved")
    assert doc["status"] == "replied" and deadline(doc, "handling")["met_at"] == clock.now()
    assert (
        "答复意见书" in doc["reply"]["document_html"]
        and "路灯已修复。<br>感谢监督。" in doc["reply"]["document_html"]
    )
    assert deadline(doc, "followup")["due_at"] == clock.now() + timedelta(days=7)
    doc = await act(files, clock, CLERK, "followup", rating="satisfied")
    assert doc["status"] == "followed_up" and doc["rating"]["label"] == "满意"
    doc = await act(files, clock, DISPATCHER, "close")
    assert doc["status"] == "closed"
    assert [a["action"] for a in doc["actions"]] == [
        "sign",
        "progress",
        "extension",
        "extension_decision",
        "reply",
        "followup",
        "close",
    ]
    assert [a["by"]["subject"] for a in doc["actions"]][:2] == ["h", "p"]
    # the outbox holds the assignment and the events of the last step not yet published
    assert owed(doc)[-1] == subjects.CASE_CLOSED


async def test_actions_in_the_wrong_state_are_refused_with_the_reason(files, clock):
    await assigned(files, clock)
    with pytest.raises(NotAllowed, match=r"reply .* not allowed in state assigned"):
        await act(files, clock, HANDLER, "reply", result="resolved")
    await act(files, clock, HANDLER, "sign")
    with pytest.raises(NotAllowed, match="sign"):
        await act(files, clock, HANDLER, "sign")
    with pytest.raises(NotAllowed):
        await act(files, clock, DISPATCHER, "close")
    with pytest.raises(NotAllowed, match="no extension request"):
        await act(files, clock, SUPERVISOR, "extension_decision", approve=True)
    with pytest.raises(NotAllowed, match="1 to 30 days"):
        await act(files, clock, HANDLER, "extension", days=45)
    await act(files, clock, HANDLER, "extension", days=10)
    with pytest.raises(NotAllowed, match="waiting for its decision"):
        await act(files, clock, HANDLER, "extension", days=10)
    await act(files, clock, SUPERVISOR, "extension_decision", approve=False)
    doc = await act(files, clock, HANDLER, "extension", days=5)  # a refused request uses up nothing
    await act(files, clock, SUPERVISOR, "extension_decision", approve=True)
    with pytest.raises(NotAllowed, match="extended 1 time"):
        await act(files, clock, HANDLER, "extension", days=5)
    assert doc["extension_request"]["days"] == 5


async def test_only_the_entitled_act_and_strangers_do_not_see_the_case(files, clock):
    await assigned(files, clock)
    with pytest.raises(NotEntitled):
        await act(files, clock, ASSISTING, "sign")  # an assisting unit does not sign for the lead
    with pytest.raises(NotEntitled):
        await act(files, clock, CLERK, "sign")
    with pytest.raises(commands.CaseNotFound):
        await act(files, clock, STRANGER, "progress")
    await act(files, clock, HANDLER, "sign")
    with pytest.raises(NotEntitled):
        await act(files, clock, HANDLER, "extension_decision", approve=True)  # not its own extension
    with pytest.raises(NotEntitled):
        await act(files, clock, ASSISTING, "reply", result="resolved")


async def test_a_dissatisfied_petitioner_reopens_the_case_with_a_new_limit(files, clock):
    await assigned(files, clock)
    await act(files, clock, HANDLER, "sign")
    clock.advance(timedelta(days=3))
    await act(files, clock, HANDLER, "reply", result="explained")
    clock.advance(timedelta(days=1))
    doc = await act(files, clock, CLERK, "followup", "仍未解决", rating="dissatisfied", reopen=True)
    assert doc["status"] == "reopened" and doc["reopen_count"] == 1
    assert deadline(doc, "sign")["met_at"] == clock.now()  # the same unit: no second signature owed
    assert owed(doc)[-1] == subjects.CASE_REOPENED
    handling = deadline(doc, "handling")
    assert handling["met_at"] is None and handling["due_at"] == clock.now() + timedelta(days=60)
    doc = await act(files, clock, HANDLER, "reply", result="resolved")
    assert doc["status"] == "replied"


async def test_a_dissatisfied_rating_reopens_only_on_request_or_by_the_countys_policy(files, clock):
    await assigned(files, clock)
    await act(files, clock, HANDLER, "sign")
    await act(files, clock, HANDLER, "reply", result="explained")
    doc = await act(files, clock, CLERK, "followup", "不认可解释", rating="dissatisfied")
    assert doc["status"] == "followed_up" and doc["rating"]["label"] == "不满意"
    assert owed(doc)[-1] == subjects.CASE_FOLLOWED_UP and doc.get("reopen_count", 0) == 0
    doc = await act(files, clock, CLERK, "review", "申请复查")  # the petitioner's way on from here
    assert doc["status"] == "review"

    reopens = KEEPER.policy.model_copy(update={"followup": FollowupRule(dissatisfied="reopen")})
    keeper = Timekeeper(reopens, KEEPER.calendar, KEEPER.timezone)
    await assigned(files, clock, case_id="c2")
    for action, details in (
        ("sign", {}),
        ("reply", {"result": "explained"}),
        ("followup", {"rating": "dissatisfied"}),
    ):
        caller = CLERK if action == "followup" else HANDLER
        cmd = commands.Command(action, "说明", details)
        doc = await commands.act("c2", cmd, caller=caller, files=files, keeper=keeper, clock=clock)
    assert doc["status"] == "reopened" and owed(doc)[-1] == subjects.CASE_REOPENED


async def test_a_review_answer_can_close_the_case_and_a_reopened_case_can_be_reviewed(files, clock):
    await assigned(files, clock)
    await act(files, clock, HANDLER, "sign")
    await act(files, clock, HANDLER, "reply", result="not_supported")
    await act(files, clock, CLERK, "review", "不服答复")
    await act(files, clock, SUPERVISOR, "review_answer", "维持原答复")
    doc = await act(files, clock, DISPATCHER, "close", "申请人未再申请复核")
    assert doc["status"] == "closed" and owed(doc)[-1] == subjects.CASE_CLOSED

    await assigned(files, clock, case_id="c2")
    await act(files, clock, HANDLER, "sign", case_id="c2")
    replied = await act(files, clock, HANDLER, "reply", case_id="c2", result="explained")
    clock.advance(timedelta(days=2))
    await act(files, clock, CLERK, "followup", case_id="c2", rating="dissatisfied", reopen=True)
    doc = await act(files, clock, CLERK, "review", "改为申请复查", case_id="c2")
    assert doc["status"] == "review"
    # the reply on file is what is reviewed: the handling limit stays met, no alarm runs on it
    assert deadline(doc, "handling")["met_at"] == replied["replied_at"]


async def test_units_asked_to_assist_join_the_case_see_it_and_work_on_it(files, clock):
    await assigned(files, clock)
    await act(files, clock, HANDLER, "sign")
    with pytest.raises(commands.CaseNotFound):
        await act(files, clock, STRANGER, "progress", "想看看")
    asked = {"code": "T9-GOV", "name": "邻镇政府", "type": "town_government"}
    doc = await act(files, clock, HANDLER, "assistance", "请协助核实边界", units=[asked])
    assert {"code": "T9-GOV", "name": "邻镇政府", "type": "town_government", "role": "assistance"} in doc[
        "assisting_units"
    ]
    assert doc["actions"][-1]["units"] == ["T9-GOV"]
    doc = await act(files, clock, STRANGER, "progress", "已到现场核实边界")  # now on the case
    assert doc["actions"][-1]["by"]["unit"] == "T9-GOV"
    assert [line["role"] async for line in files.worklist.find({"unit": "T9-GOV"})] == ["assist"]
    # asking again for a unit on the case already adds nothing
    doc = await act(files, clock, HANDLER, "assistance", "再请", units=[asked])
    assert [u["code"] for u in doc["assisting_units"]].count("T9-GOV") == 1


async def test_a_progress_note_is_internal_unless_marked_public_and_its_event_says_which(files, clock):
    from dispatch_common.contracts import validate_event

    await assigned(files, clock)
    await act(files, clock, HANDLER, "sign")
    doc = await act(files, clock, HANDLER, "progress", "内部：等待财政批复")
    event = doc["outbox"][-1]["event"]
    assert event["data"]["public"] is False and doc["actions"][-1]["visibility"] == "internal"
    doc = await act(files, clock, HANDLER, "progress", "已安排施工队", visibility="public")
    event = doc["outbox"][-1]["event"]
    assert (event["type"], event["data"]["public"]) == (subjects.CASE_PROGRESSED, True)
    validate_event(event)  # the schema knows the field


async def test_review_and_re_review_within_their_windows(files, clock):
    await assigned(files, clock)
    await act(files, clock, HANDLER, "sign")
    await act(files, clock, HANDLER, "reply", result="not_supported")
    clock.advance(timedelta(days=31))
    with pytest.raises(NotAllowed, match="申请复查期限"):
        await act(files, clock, CLERK, "review", "不服答复")
    clock.advance(timedelta(days=-2))
    doc = await act(files, clock, CLERK, "review", "不服答复")
    assert doc["status"] == "review" and deadline(doc, "review")["due_at"] == clock.now() + timedelta(days=30)
    with pytest.raises(NotEntitled):
        await act(files, clock, HANDLER, "review_answer")
    doc = await act(files, clock, SUPERVISOR, "review_answer", "维持原答复")
    assert doc["status"] == "review_answered" and deadline(doc, "review")["met_at"] is not None
    doc = await act(files, clock, CLERK, "re_review", "仍不服")
    doc = await act(files, clock, SUPERVISOR, "re_review_answer", "复核维持")
    assert doc["status"] == "closed"
