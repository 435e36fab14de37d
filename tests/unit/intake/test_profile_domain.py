"""The profile's pure parts: import rows checked field by field and keyed as intake keys a petitioner,
a case line built from its later facts in time order, and the patterns."""

from datetime import UTC, datetime, timedelta

from dispatch_common.crypto import PiiKeys, keyed_hash
from dispatch_common.identity_keys import phone_key
from services.intake.domain import pool, profile
from services.intake.domain.identity import with_check_digit

ID = with_check_digit("11010519800101123")
KEYS = PiiKeys(ring=None, hash_key=b"k" * 32)  # type: ignore[arg-type]
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_every_bad_row_is_named_with_its_field_and_good_rows_are_keyed_like_a_petitioner():
    raw = pool.csv_rows(
        "\ufeffid_number,phone,ref,date,until\n"
        f"{ID},13912345678,A1,2025-01-02,\n"
        f"{ID[:-1]}Y,,A2,2025-01-02,\n"
        ",,A3,2025-01-02,\n"
        f"{ID},,A4,2025-01-02,2024-01-01\n"
    )
    parsed = pool.parse_rows(raw, where="csv")
    locs = [tuple(e["loc"]) for e in parsed.errors]
    assert ("body", "csv", 2, "id_number") in locs
    assert ("body", "csv", 3, "row") in locs
    assert any(loc[:3] == ("body", "csv", 4) for loc in locs)
    assert not any(loc[:3] == ("body", "csv", 1) for loc in locs)
    [good] = pool.parse_rows(raw[:1], where="csv").rows
    docs = pool.fact_documents(KEYS, [good], kind="court_judgment")
    assert {d["key"] for d in docs} == {keyed_hash(KEYS, ID), keyed_hash(KEYS, phone_key("13912345678"))}
    assert all(d["fact"] == "1" for d in docs) and ID not in str(docs)


def test_a_case_line_applies_its_later_facts_in_time_order():
    case = {
        "_id": "c1",
        "case_no": "N1",
        "received_at": T0,
        "channel": "petition_visit",
        "people_count": 7,
        "assignment": {"lead_unit": {"code": "U1", "name": "人社局"}, "place": {"town": "T"}},
        "links": {"repeat_of": {"case_no": "N0"}},
    }
    at = [T0 + timedelta(days=d) for d in range(5)]
    later = [
        {"kind": "closed", "at": at[3]},
        {"kind": "rated", "at": at[2], "rating": "satisfied"},
        {"kind": "routed", "at": at[0], "category": "1401"},
        {"kind": "reopened", "at": at[4], "rating": "dissatisfied"},
        {
            "kind": "mediation_opened",
            "at": at[1],
            "mediation_id": "m1",
            "organization": {"code": "O", "name": "调委会"},
        },
        {"kind": "mediation_concluded", "at": at[2], "mediation_id": "m1", "result": "failed"},
        {
            "kind": "referred",
            "at": at[2],
            "referral_kind": "arbitration",
            "unit": {"code": "A", "name": "仲裁委"},
        },
    ]
    line = profile.case_line(case, later, group_size=5)
    assert line["category"] == "1401" and line["rating"] == "dissatisfied" and line["closed_at"] is None
    assert line["mediations"] == [
        {"mediation_id": "m1", "organization": {"code": "O", "name": "调委会"}, "result": "failed"}
    ]
    assert line["group"] and line["repeat_of"] == "N0" and line["lead_unit"]["name"] == "人社局"
    counted = profile.patterns([line, {**line, "group": False, "repeat_of": None}])
    assert counted["by_unit"] == [{"key": "人社局", "count": 2}] and counted["group_petitions"] == 1
    assert counted["repeats"] == 1 and counted["dissatisfied"] == 2
