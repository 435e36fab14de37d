"""The answer (答复) carries the parts of a whole 答复意见书 on the real (embedded) MongoDB server: the
matter restated, the facts found and the basis as the unit gave them, or sentences saying they were
not given; the replied event tells notify, which issues the numbered document."""

from datetime import timedelta

import pytest

from dispatch_common import subjects
from services.supervision.domain.reply import NO_BASIS, NO_FACTS, NO_MATTER
from tests.supervision_cases import HANDLER, act, assigned

pytestmark = pytest.mark.integration


def replied_data(doc: dict) -> dict:
    return next(e["event"]["data"] for e in doc["outbox"] if e["event"]["type"] == subjects.CASE_REPLIED)


async def test_an_answer_with_facts_and_basis_carries_them_to_the_record_and_the_event(files, clock):
    await assigned(files, clock)
    await act(files, clock, HANDLER, "sign")
    clock.advance(timedelta(days=1))
    doc = await act(
        files,
        clock,
        HANDLER,
        "reply",
        "路灯已修复。",
        result="resolved",
        matter="反映路灯损坏。",
        facts="经核实属实。",
        basis="《城市道路照明设施管理规定》",
    )
    parts = {k: doc["reply"][k] for k in ("matter", "facts", "basis")}
    assert parts == {
        "matter": "反映路灯损坏。",
        "facts": "经核实属实。",
        "basis": "《城市道路照明设施管理规定》",
    }
    data = replied_data(doc)
    assert {k: data[k] for k in parts} == parts and data["result"] == "resolved"
    assert "经核实属实。" in doc["reply"]["document_html"]
    assert doc["actions"][-1]["facts"] == "经核实属实。"  # the record keeps what the unit said


async def test_an_answer_without_them_says_they_were_not_given(files, clock):
    await assigned(files, clock, case_id="c2")
    await act(files, clock, HANDLER, "sign", case_id="c2")
    doc = await act(files, clock, HANDLER, "reply", "已解释。", case_id="c2", result="explained")
    data = replied_data(doc)
    assert data["facts"] == NO_FACTS and data["basis"] == NO_BASIS
    assert data["matter"] == (doc.get("search_text") or NO_MATTER)  # the case's own text where kept
