"""The organizations' API edits laid over the data (pure): what an edit may change, what follows the
file, and an edit the data no longer allows is skipped and said."""

from datetime import UTC, datetime

from services.mediation.domain.organization_edits import apply_overrides, edited, last_of_its_type
from tests.mediation_cases import LABOUR_MEDIATION, RULES, TOWN, VILLAGE_COMMITTEE

DIRECTORY = RULES.directory
AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
ADMIN = {"subject": "a", "role": "admin", "unit": None}


def override(code: str, origin: str = "data", **fields) -> dict:
    return edited(None, code, origin=origin, action="change", by=ADMIN, at=AT, fields=fields)


def test_an_edit_of_a_file_organization_replaces_only_the_fields_it_names():
    file_org = DIRECTORY.data_organizations[LABOUR_MEDIATION]
    directory, skipped = apply_overrides(DIRECTORY, [override(LABOUR_MEDIATION, categories=["0503"])])
    org = directory.organizations[LABOUR_MEDIATION]
    assert skipped == [] and org.categories == ("0503",) and org.edited
    assert (org.name, org.type, org.jurisdiction, org.source) == (
        file_org.name,
        file_org.type,
        file_org.jurisdiction,
        "organizations_file",
    )
    assert DIRECTORY.organizations[LABOUR_MEDIATION] == file_org  # the data's directory is not changed


def test_a_committee_of_the_package_keeps_its_units_name_and_area():
    edit = override(VILLAGE_COMMITTEE, name="改名", jurisdiction=TOWN, note="驻村")
    org = apply_overrides(DIRECTORY, [edit])[0].organizations[VILLAGE_COMMITTEE]
    unit = DIRECTORY.units[VILLAGE_COMMITTEE]
    assert (org.name, org.jurisdiction, org.note) == (unit["name"], unit["jurisdiction"], "驻村")


def test_an_edit_the_data_no_longer_allows_is_skipped_and_said():
    gone_area = override(LABOUR_MEDIATION, jurisdiction="000000")
    gone_org = override("NOT-IN-DATA", note="x")
    made = override("T-NEW", origin="api", name="新组织", type="professional", jurisdiction=TOWN)
    directory, skipped = apply_overrides(DIRECTORY, [gone_area, gone_org, made])
    assert directory.organizations[LABOUR_MEDIATION] == DIRECTORY.organizations[LABOUR_MEDIATION]
    assert "NOT-IN-DATA" not in directory.organizations
    assert [line.split(":")[0] for line in skipped] == [LABOUR_MEDIATION, "NOT-IN-DATA"]
    new = directory.organizations["T-NEW"]
    assert (new.source, new.level, new.categories, new.active) == ("api", "town", (), True)


def test_a_deactivated_organization_is_not_chosen_and_the_last_of_its_type_stays():
    deactivated = edited(
        override(VILLAGE_COMMITTEE),
        VILLAGE_COMMITTEE,
        origin="data",
        action="deactivate",
        by=ADMIN,
        at=AT,
        active=False,
    )
    assert [e["action"] for e in deactivated["edits"]] == ["change", "deactivate"] and deactivated[
        "version"
    ] == 2
    directory, _ = apply_overrides(DIRECTORY, [deactivated])
    village = DIRECTORY.units[VILLAGE_COMMITTEE]["jurisdiction"]
    choice = directory.choose(
        village=village,
        town=TOWN,
        category="14",
        subcategory="1401",
        requested=None,
        start_level="village",
    )
    assert choice.organization is not None and choice.organization.code != VILLAGE_COMMITTEE
    assert directory.active(VILLAGE_COMMITTEE) is None and directory.organizations[VILLAGE_COMMITTEE]
    court = [o.code for o in DIRECTORY.organizations.values() if o.type == "court"]
    assert len(court) == 1 and "last active" in (last_of_its_type(DIRECTORY, court[0]) or "")
    assert last_of_its_type(DIRECTORY, VILLAGE_COMMITTEE) is None
