"""The mediation policy, the organizations and mediators files and the document templates are data,
checked at load with every problem listed."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from dispatch_common.paths import DATA_DIR, DEFAULT_COUNTY_DIR
from services.mediation.domain.documents import DocumentError, Documents
from services.mediation.domain.mediators import load_mediators
from services.mediation.domain.organizations import Directory, OrganizationsError
from services.mediation.domain.policy import MediationPolicy, PolicyError, TimeLimit
from tests.mediation_cases import RULES

MEDIATION = DATA_DIR / "mediation"


def test_the_time_limit_is_30_natural_days_by_default_and_a_policy_value_per_type():
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    policy = RULES.policy
    assert policy.time_limit("people").due(start, RULES.calendar, RULES.timezone) == start + timedelta(
        days=30
    )
    assert policy.time_limit("police").days == 15
    working = TimeLimit(days=5, calendar="working", label="x", basis="y")
    # from Friday 2026-04-03, Qingming (04-04 to 04-06) is off: the fifth working day is Monday 04-13
    due = working.due(datetime(2026, 4, 3, 2, 0, tzinfo=UTC), RULES.calendar, RULES.timezone)
    assert due.isoformat() == "2026-04-14T00:00:00+08:00"  # the end of that day


def test_an_agreement_is_checked_at_the_end_of_its_fulfilment_day():
    check = RULES.policy.fulfilment_check_at(date(2026, 4, 1), RULES.timezone)
    assert check.isoformat() == "2026-04-02T00:00:00+08:00"


def test_legal_aid_eligibility_follows_the_matter_and_economic_hardship():
    policy = RULES.policy
    assert policy.legal_aid_eligibility("labour", True) == (True, [])
    eligible, why = policy.legal_aid_eligibility("labour", False)
    assert not eligible and "经济困难" in why[0]
    assert policy.legal_aid_eligibility("domestic_violence", False) == (True, [])  # no hardship condition
    assert not policy.legal_aid_eligibility("divorce_property", True)[0]


def test_a_broken_policy_lists_every_problem(tmp_path):
    raw = json.loads((MEDIATION / "policy.json").read_text(encoding="utf-8"))
    del raw["time_limits"]["default"]
    raw["time_limits"]["mediation_room"] = raw["time_limits"]["court"]
    raw["counselling"]["crisis_level"] = "panic"
    del raw["referrals"]["court"]
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        MediationPolicy.load(path)
    problems = "\n".join(err.value.problems)
    for expected in ("'default' limit", "mediation_room", "panic", "court"):
        assert expected in problems


def test_broken_organizations_and_mediators_list_every_problem(tmp_path):
    raw = json.loads((MEDIATION / "organizations.json").read_text(encoding="utf-8"))
    raw["organizations"] += [
        {"code": "X1", "name": "甲", "type": "people", "jurisdiction": "999", "categories": ["77"]},
        {"code": "X2", "name": "乙", "type": "arbitration", "jurisdiction": "990102"},
        {"code": raw["organizations"][0]["code"], "name": "丙", "type": "court", "jurisdiction": "990102"},
        {"code": "X3", "name": "丁", "type": "court", "jurisdiction": "990102", "host_unit": "NOPE"},
    ]
    path = tmp_path / "organizations.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(OrganizationsError) as err:
        Directory.load(DEFAULT_COUNTY_DIR, path)
    problems = "\n".join(err.value.problems)
    for expected in (
        "unknown jurisdiction 999",
        "unknown category codes ['77']",
        "organizations[13].type",
        "used twice",
        "NOPE",
    ):
        assert expected in problems, problems
    mediators = json.loads((MEDIATION / "mediators.json").read_text(encoding="utf-8"))
    mediators["mediators"] += [
        {"id": "Z1", "name": "甲", "organization": "NOWHERE", "specialties": ["9999"]},
        {"id": "Z1", "name": "乙", "organization": raw["organizations"][0]["code"], "max_load": -1},
    ]
    path = tmp_path / "mediators.json"
    path.write_text(json.dumps(mediators, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(OrganizationsError) as err:
        load_mediators(path, RULES.directory)
    problems = "\n".join(err.value.problems)
    for expected in ("unknown organization NOWHERE", "unknown specialty codes ['9999']", "max_load"):
        assert expected in problems, problems


def agreement_values(**extra):
    values = {
        "type": "people",
        "agreement_no": "N-1",
        "case_no": "990102-2026-000001",
        "parties": [{"role": "applicant", "role_label": "申请人", "name": "<b>张三</b>"}],
        "facts": "两家因排水沟发生纠纷",
        "terms": ["乙方于4月1日前疏通排水沟", "双方互不追究"],
        "fulfilment_method": "乙方自行疏通",
        "fulfilment_due": "2026年4月1日",
        "copies": 2,
        "organization": {"code": "O", "name": "前进村人民调解委员会", "type": "people"},
        "mediator": {"id": "M", "name": "王调解"},
        "signed_date": "2026年3月2日",
        "county_name": "示范县",
    }
    return values | extra


def test_the_agreement_is_rendered_escaped_with_its_title_by_type():
    html = RULES.documents.render("agreement", agreement_values())
    assert "<h1>人民调解协议书</h1>" in html and "<li>乙方于4月1日前疏通排水沟</li>" in html
    assert "&lt;b&gt;张三&lt;/b&gt;" in html and "<b>张三</b>" not in html
    assert "2026年4月1日前履行完毕" in html
    court = RULES.documents.render("agreement", agreement_values(type="court"))
    assert "调解协议书（诉前调解）" in court


def test_a_template_naming_an_unknown_value_or_reaching_into_python_is_refused_at_load(tmp_path):
    for name in ("agreement.html.j2", "referral_letter.html.j2"):
        (tmp_path / name).write_text(
            (MEDIATION / "templates" / name).read_text(encoding="utf-8"), encoding="utf-8"
        )
    (tmp_path / "agreement.html.j2").write_text("{{ petitioner_phone }}", encoding="utf-8")
    (tmp_path / "referral_letter.html.j2").write_text("{{ ''.__class__.__mro__ }}", encoding="utf-8")
    with pytest.raises(DocumentError) as err:
        Documents(tmp_path)
    assert len(err.value.problems) == 2
    assert "petitioner_phone" in err.value.problems[0] and "SecurityError" in err.value.problems[1]
