"""Staff case search on the real (embedded) MongoDB server: every criterion, the caller's scope,
confidential reports and cursor pages."""

from datetime import timedelta
from types import SimpleNamespace

import pytest

from dispatch_common import store
from dispatch_common.auth import Principal, Role, Scope
from dispatch_common.confidential import Confidentiality
from dispatch_common.paths import DATA_DIR
from services.supervision import handlers
from services.supervision.adapters.repository import CaseFiles
from services.supervision.domain.events import CaseReceivedView
from services.supervision.entrypoints.search import search_cases
from tests.supervision_cases import KEEPER, SUPERVISOR, assigned

pytestmark = pytest.mark.integration

OTHER = {"code": "T2-GOV", "name": "另一镇政府", "type": "town_government", "role": "lead"}


@pytest.fixture
async def db(mongodb_url, db_prefix):
    client = store.connect(mongodb_url, app_name="test-supervision-search")
    yield client[f"{db_prefix}supervision"]
    await client.drop_database(f"{db_prefix}supervision")
    await client.close()


@pytest.fixture
async def sv(db, clock):
    files = CaseFiles(db)
    await files.ensure_indexes()
    confidentiality = Confidentiality.build(DATA_DIR / "county" / "990102", db, clock)
    return SimpleNamespace(files=files, confidentiality=confidentiality)


async def case(sv, clock, case_id: str, text: str, **fields) -> None:
    received = CaseReceivedView(
        case_id=case_id, case_no=f"N-{case_id}", received_at=clock.now(), channel="hotline_12345", text=text
    )
    await handlers.open_case_file(received, files=sv.files, keeper=KEEPER)
    await assigned(sv.files, clock, case_id=case_id, **fields)
    clock.advance(timedelta(hours=1))


async def elsewhere(sv, clock, case_id: str, text: str) -> None:
    """A case of another town, led by its own government, with no assisting unit."""
    place = {"town": "T2", "village": "V9", "grid": None}
    await case(sv, clock, case_id, text, lead=OTHER, jurisdiction=place, assisting_units=[])


async def found(sv, user=SUPERVISOR, **criteria) -> list[str]:
    args = dict.fromkeys(
        ("case_no", "status", "unit", "town", "category", "received_from", "received_to", "q", "cursor")
    )
    page = await search_cases(user=user, sv=sv, **(args | {"limit": 50} | criteria))
    return [i["case_id"] for i in page["items"]]


async def test_staff_find_a_case_by_number_state_unit_place_category_time_and_words(sv, clock):
    start = clock.now()
    await case(sv, clock, "c1", "小区路灯不亮，夜间出行不便")
    await case(sv, clock, "c2", "楼上漏水，物业不管", category={"code": "05", "subcode": "0501"})
    await elsewhere(sv, clock, "c3", "路灯杆倾斜有危险")
    assert await found(sv) == ["c3", "c2", "c1"]  # newest first
    assert await found(sv, case_no="N-c2") == ["c2"]
    assert await found(sv, q="路灯") == ["c3", "c1"]
    assert await found(sv, q="路灯", town="T1") == ["c1"]
    assert await found(sv, unit="T2-GOV") == ["c3"]
    assert await found(sv, unit="T1-PCS") == ["c2", "c1"]  # an assisting unit counts
    assert await found(sv, category="05") == ["c2"]
    assert await found(sv, status="assigned", received_to=start + timedelta(minutes=30)) == ["c1"]
    assert await found(sv, received_from=start + timedelta(minutes=30)) == ["c3", "c2"]
    assert await found(sv, q="a.*") == []  # the words are matched as written, not as a pattern
    page = await search_cases(
        user=SUPERVISOR,
        sv=sv,
        **dict.fromkeys(
            ("case_no", "status", "unit", "town", "category", "received_from", "received_to", "q", "cursor")
        ),
        limit=2,
    )
    assert [i["case_id"] for i in page["items"]] == ["c3", "c2"] and page["next_cursor"]
    assert await found(sv, cursor=page["next_cursor"]) == ["c1"]


async def test_a_unit_finds_the_cases_it_is_on_or_that_lie_in_its_area_and_no_others(sv, clock):
    await case(sv, clock, "c1", "路灯不亮")
    await elsewhere(sv, clock, "c3", "路灯倾斜")
    unit = Principal(subject="u", role=Role.UNIT_HANDLER, unit="T1-PCS", scope=Scope.UNIT)
    assert await found(sv, user=unit) == ["c1"]
    area = Principal(subject="a", role=Role.UNIT_HANDLER, unit="T2-X", area="T2", scope=Scope.AREA)
    assert await found(sv, user=area) == ["c3"]
    nobody = Principal(subject="n", role=Role.MEDIATOR, scope=Scope.UNIT)
    assert await found(sv, user=nobody) == []


async def test_confidential_reports_are_found_only_by_their_readers_and_audited(sv, clock):
    await case(sv, clock, "c1", "举报某站所负责人", confidential=True)
    await case(sv, clock, "c2", "路灯不亮")
    dispatcher = Principal(subject="d", role=Role.DISPATCHER, scope=Scope.COUNTY)
    assert await found(sv, user=dispatcher) == ["c2"]
    reader = next(iter(sv.confidentiality.readers))
    auditor = Principal(subject="r", role=reader, scope=Scope.COUNTY)
    assert await found(sv, user=auditor) == ["c2", "c1"]
    assert await found(sv, user=auditor, q="举报") == []  # a confidential report's text is not kept
    reads = await sv.confidentiality.audit.entries(case_id="c1", limit=10, cursor=None)
    assert [r["what"] for r in reads.items] == ["case search"]
