"""The console as a person uses it, in headless Chromium against the running platform: a dispatcher
sees a new case arrive on the map and in the manual queue without reloading, places it with one action
and sees the case page follow; the unit it went to signs it; another unit sees none of it."""

import pytest

from tests.e2e.browser import SIZES, shot, signed_in
from tests.e2e.flow import settled_case_file, submission, wait_for

pytestmark = pytest.mark.e2e

LIVE_BOUND_MS = 3_000  # the console shows a change within this, once the service has it (issue 14)


@pytest.fixture(scope="module")
def manual_case(samples) -> dict:
    """A case routing gives to people (a text with no category in it) at a known place, so it is on the
    map and in the queue; a letter (never answered at intake). Submitted once the console is open."""
    placed = next(s for s in samples if "lon" in s)
    vague = {"channel": "petition_letter", "text": "有件事情想当面反映，请尽快联系我。"}
    return submission(vague, lon=placed["lon"], lat=placed["lat"])


def test_a_dispatcher_sees_a_new_case_live_and_places_it(
    chromium, stack, clerk, dispatcher, units, manual_case
):
    page = signed_in(chromium, stack, "dispatcher")
    page.wait_for_selector("svg.county-map path.area.town")
    assert page.locator("nav a[href='#/board']").count() == 1
    page.wait_for_selector("#live[data-state='live']")  # the streams are open (else: they start later)
    r = clerk.post("intake", "/v1/cases", json=manual_case)
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    case = settled_case_file(dispatcher, case_id)
    assert case["status"] == "manual_dispatch", case["status"]
    assert case["jurisdiction"]["town"], case["jurisdiction"]

    page.wait_for_selector(f"svg .case-dot[data-case-id='{case_id}']", timeout=LIVE_BOUND_MS)
    page.wait_for_selector(f".queue-item[data-case-id='{case_id}']", timeout=LIVE_BOUND_MS)
    item = page.locator(f".queue-item[data-case-id='{case_id}']")
    assert (
        page.locator(f"svg .case-dot[data-case-id='{case_id}']")
        .get_attribute("class")
        .find("st-manual_dispatch")
        >= 0
    )
    shot(page, "dispatcher-map-and-queue")

    lead = next(u for u in units if u["level"] == "county" and u["type"] != "petition_bureau")
    item.locator("select[name=lead_unit]").select_option(lead["code"])
    item.locator("input[name=reason]").fill("来信反映的是本单位职责")
    item.locator("button[type=submit]").click()
    page.wait_for_selector(f".case-view[data-case-id='{case_id}']")
    page.wait_for_selector(".summary [data-status='assigned']", timeout=30_000)
    assert page.inner_text(".summary .lead-unit") == lead["name"]
    assert "改派" in page.inner_text(".actions")  # a dispatcher may still correct it
    shot(page, "dispatcher-case-page")
    assert not page.errors, page.errors

    handler = signed_in(chromium, stack, "unit_handler", lead["code"], size="laptop")
    handler.wait_for_selector(f".worklist tr[data-case-id='{case_id}']")
    assert handler.locator("nav a[href='#/map']").count() == 0  # a unit sees no county map
    shot(handler, "unit-worklist")
    handler.click(f".worklist tr[data-case-id='{case_id}'] a")  # found again: the list may have re-rendered
    handler.wait_for_selector(".summary [data-status='assigned']")
    handler.click("button[data-action$='/sign']")
    handler.wait_for_selector(".summary [data-status='signed']")
    assert "答复办结" in handler.inner_text(".actions")
    shot(handler, "unit-case-signed")
    assert wait_for(
        lambda: dispatcher.get("supervision", f"/v1/cases/{case_id}").json()["status"] == "signed",
        what="the sign to reach the case file",
    )

    other = next(u for u in units if u["code"] != lead["code"] and u["level"] == "county")
    stranger = signed_in(chromium, stack, "unit_handler", other["code"])
    stranger.wait_for_selector(".worklist .empty, .worklist table")
    assert stranger.locator(f"[data-case-id='{case_id}']").count() == 0
    stranger.goto(f"{stack.console_url}/#/case/{case_id}")
    stranger.wait_for_selector(".case-view .error")
    assert case["case_no"] not in stranger.inner_text("main")
    assert stranger.locator(".summary").count() == 0
    for p in (page, handler, stranger):
        assert not p.errors, p.errors
        p.context.close()


def test_the_board_reads_on_a_laptop_and_the_wall(chromium, stack, dispatcher):
    for size in SIZES:
        page = signed_in(chromium, stack, "county_leader", size=size)
        page.goto(f"{stack.console_url}/#/board")
        page.wait_for_selector(".board-grid .rates [data-rate='response_rate']")
        assert page.locator(".rates .rate").count() == 4
        page.wait_for_selector(".board-grid .agents tbody tr")  # 三级代办: a row per tier
        assert page.locator(".agents tbody tr").count() == 3
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= SIZES[size]["width"], f"the board overflows sideways at {size}: {width}px"
        shot(page, f"board-{size}")
        assert not page.errors, page.errors
        page.context.close()


def test_a_sign_in_for_an_unknown_unit_is_refused(stack) -> None:
    import httpx

    r = httpx.post(f"{stack.console_url}/dev/token", json={"role": "unit_handler", "unit": "NO-SUCH"})
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"
    config = httpx.get(f"{stack.console_url}/config.json").json()
    assert config["services"]["supervision"] == stack.url("supervision")
