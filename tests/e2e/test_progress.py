"""The petitioner's progress on the running platform (issue 17.3): from the acceptance SMS to rating
the answer and asking for 复查; unknown, wrong and revoked codes answered alike; a re-issued code
replacing the old; a brute force refused by limits shared by two supervision replicas; the phone page
in headless Chromium."""

import json
from collections.abc import Iterator

import pytest

from devtools.stack import Stack
from tests.e2e.browser import shot
from tests.e2e.flow import wait_for
from tests.e2e.progress_support import (
    PAGE_URL,
    SmsSink,
    accepted_case,
    answered,
    api,
    progress_platform,
    public,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, SmsSink]]:
    with progress_platform(tmp_path_factory.mktemp("progress")) as both:
        yield both


def _refusal(r) -> tuple[int, dict]:
    return r.status_code, r.json()


def test_the_petitioner_follows_the_case_from_the_acceptance_sms_to_rating_and_review(platform, samples):
    stack, sink = platform
    case = accepted_case(stack, sink, samples, phone="13800001701")
    assert f"查询码{case['code']}" in case["sms"] and PAGE_URL in case["sms"]
    # notify keeps the text with a mark, never the code: only the sent SMS has it
    stored = api(stack, "reception_clerk").get(
        "notify", "/v1/notifications", params={"case_no": case["case_no"]}
    )
    assert stored.status_code == 200 and case["code"] not in stored.text

    opening = {"case_no": case["case_no"], "code": case["code"].lower().replace("-", "")}  # as typed
    seen = public(stack, "", opening)
    assert seen.status_code == 200, seen.text
    progress = seen.json()
    assert progress["status"] == "assigned" and progress["unit_name"] == case["lead_unit"]["name"]
    assert progress["time_limit"]["due_at"] and not progress["can_rate"] and not progress["answers"]
    assert "受理告知书" in [n["title"] for n in progress["notices"]]
    assert "测试人" not in seen.text and "13800001701" not in seen.text

    answered(stack, case, "经核查，问题已解决。")
    progress = wait_for(lambda: (p := public(stack, "", opening).json())["can_rate"] and p, what="the answer")
    assert progress["answers"][0]["text"] == "经核查，问题已解决。" and progress["can_request_review"]
    rated = public(stack, "/rating", opening | {"rating": "basically_satisfied", "note": "还行"})
    assert rated.status_code == 200, rated.text
    assert rated.json()["rating"]["label"] == "基本满意" and not rated.json()["can_rate"]
    assert public(stack, "/rating", opening | {"rating": "satisfied"}).status_code == 409  # once only
    case_file = api(stack, "supervisor").get("supervision", f"/v1/cases/{case['case_id']}").json()
    assert case_file["status"] == "followed_up" and case_file["rating"]["by"]["role"] == "petitioner"

    asked = public(stack, "/review", opening | {"reason": "对答复中的赔偿金额有异议。"})
    assert asked.status_code == 200, asked.text
    assert asked.json()["status"] == "review" and not asked.json()["can_request_review"]


def test_unknown_case_wrong_code_and_revoked_code_answer_alike_and_a_reissued_code_replaces_the_old(
    platform, samples
):
    stack, sink = platform
    case = accepted_case(stack, sink, samples, phone="13800001702")
    unknown = _refusal(public(stack, "", {"case_no": "990102-2026-999999", "code": case["code"]}))
    wrong = _refusal(public(stack, "", {"case_no": case["case_no"], "code": "ABCD-EFGH"}))
    assert unknown == wrong and unknown[0] == 404 and unknown[1]["code"] == "lookup_failed"

    clerk = api(stack, "reception_clerk")
    path = f"/v1/cases/{case['case_id']}/lookup-code"
    reissued = clerk.post("intake", path, headers={"If-Match": '"1"'})
    assert reissued.status_code == 200, reissued.text
    assert reissued.headers["ETag"] == '"2"' and reissued.json()["code"] != case["code"]
    new = {"case_no": case["case_no"], "code": reissued.json()["code"]}
    old = {"case_no": case["case_no"], "code": case["code"]}
    wait_for(lambda: public(stack, "", new).status_code == 200, what="the new code to open the case")
    assert _refusal(public(stack, "", old)) == unknown
    assert clerk.post("intake", path, headers={"If-Match": '"1"'}).status_code == 412  # a stale version

    revoked = clerk.client.delete(clerk.url("intake", path))
    assert revoked.status_code == 200 and revoked.json() == {
        "case_id": case["case_id"],
        "case_no": case["case_no"],
        "version": 3,
        "revoked": True,
        "code": None,
    }
    wait_for(lambda: public(stack, "", new).status_code == 404, what="the revoked code to be refused")
    assert _refusal(public(stack, "", new)) == unknown
    timeline = api(stack, "supervisor").get("supervision", f"/v1/cases/{case['case_id']}").json()["timeline"]
    changes = [e for e in timeline if e["type"] == "dispatch.case.lookup_code_changed"]
    assert len(changes) == 2 and "verifier" not in json.dumps(changes)


LIMITS = {
    "client": {"requests": 6, "window_seconds": 86_400},
    "case": {"requests": 4, "window_seconds": 86_400},
}


def test_a_brute_force_is_refused_by_limits_both_replicas_share(platform, samples):
    stack, sink = platform
    env = {"PROGRESS_RATE_LIMIT_ENABLED": "true", "PROGRESS_RATE_LIMITS": json.dumps(LIMITS)}
    for number in (41, 42):
        stack.start_replica("supervision", number, env=env)
    replicas = stack.replica_urls["supervision"][-2:]
    case = accepted_case(stack, sink, samples, phone="13800001703")

    # one case guessed from ten addresses, on both replicas in turn: four guesses, then refused
    guesses = [
        public(
            stack,
            "",
            {"case_no": case["case_no"], "code": f"ABCD-EF{n:02d}"},
            replicas[n % 2],
            **{"X-Forwarded-For": f"10.9.0.{n}"},
        )
        for n in range(10)
    ]
    codes = [g.status_code for g in guesses]
    assert codes == [404] * 4 + [429] * 6, codes
    assert all(int(g.headers["Retry-After"]) >= 1 for g in guesses[4:])
    right = {"case_no": case["case_no"], "code": case["code"]}
    assert public(stack, "", right, replicas[0], **{"X-Forwarded-For": "10.9.1.1"}).status_code == 429
    assert public(stack, "", right).status_code == 200  # the stack's own replica counts nothing (limits off)

    # one address trying many case numbers: six lookups, then refused on either replica
    tries = [
        public(
            stack,
            "",
            {"case_no": f"990102-2026-9{n:05d}", "code": "ABCD-EFGH"},
            replicas[n % 2],
            **{"X-Forwarded-For": "10.8.0.1"},
        ).status_code
        for n in range(9)
    ]
    assert tries == [404] * 6 + [429] * 3, tries


def test_the_phone_page_shows_the_progress_and_takes_the_rating(platform, samples, chromium):
    stack, sink = platform
    case = accepted_case(stack, sink, samples, phone="13800001704")
    answered(stack, case, "已安排维修，问题已解决。")
    opening = {"case_no": case["case_no"], "code": case["code"]}
    wait_for(lambda: public(stack, "", opening).json()["can_rate"], what="the answer")
    fragment = case["sms"][case["sms"].index("#") :]  # the link of the SMS, on this platform's host
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{stack.url('supervision')}/progress/{fragment}")
    page.wait_for_selector("#result:not([hidden])")
    assert page.inner_text("#r_status") == "已答复"
    assert page.inner_text("#r_unit") == case["lead_unit"]["name"]
    assert "已安排维修，问题已解决。" in page.inner_text("#r_answers")
    assert "受理告知书" in page.inner_text("#r_notices")
    page.check("input[name=rating][value=satisfied]")
    page.click("#send_rating")
    page.wait_for_selector("#r_rating_given:not([hidden])")
    assert "满意" in page.inner_text("#r_rating_given") and page.is_hidden("#rate")
    shot(page, "progress-rated")
    assert not errors, errors
    assert all(u.startswith(stack.url("supervision")) for u in requests), requests  # no external asset
    assert not any(case["code"] in u for u in requests)  # the code never in a URL a server sees
    context.close()
    rated = api(stack, "supervisor").get("supervision", f"/v1/cases/{case['case_id']}").json()
    assert rated["rating"]["rating"] == "satisfied"
