"""Pure domain rules of intake, supervision, mediation and notify."""

import pytest
from pydantic import ValidationError

from dispatch_common.paths import DATA_DIR
from services.intake.domain.models import SubmitCase, normalize_text
from services.mediation.domain.models import RoutedDispute, choose_organization
from services.notify.domain.models import PetitionerContact, Templates, petitioner_channel


def test_submission_validation():
    ok = SubmitCase(
        channel="hotline_12345", text="路灯不亮", lon=111.8, lat=40.9, petitioner={"phone": "13812345678"}
    )
    assert ok.petitioner.phone == "13812345678"
    for bad in (
        {"channel": "fax", "text": "x"},
        {"channel": "video", "text": "   "},
        {"channel": "video", "text": "x", "lat": 40.0},
        {"channel": "video", "text": "x", "petitioner": {"phone": "999"}},
        {"channel": "video", "text": "x", "$where": "1"},
    ):
        with pytest.raises(ValidationError):
            SubmitCase(**bad)


def test_text_is_normalized_full_width_to_half_width_and_whitespace_folded():
    assert normalize_text("  小区１２号楼\u3000停水  ＡＢ ") == "小区12号楼 停水 AB"


def test_mediation_goes_to_the_committee_routing_brought_in():
    unit = {"code": "V1-TJW", "name": "调委会", "type": "mediation_committee", "role": "mediation"}
    lead = {"code": "T1-GOV", "name": "镇政府", "type": "town_government", "role": "lead"}
    case = RoutedDispute(
        case_id="c", case_no="n", flags=["mediation"], lead_unit=lead, assisting_units=[unit]
    )
    assert choose_organization(case).code == "V1-TJW"
    as_lead = RoutedDispute(
        case_id="c", case_no="n", flags=["mediation"], lead_unit=unit | {"role": "lead"}, assisting_units=[]
    )
    assert choose_organization(as_lead).code == "V1-TJW"
    assert (
        choose_organization(
            RoutedDispute(case_id="c", case_no="n", flags=["mediation"], lead_unit=None, assisting_units=[])
        )
        is None
    )


def test_petitioner_channel_and_template():
    assert (
        petitioner_channel(PetitionerContact(anonymous=False, phone_masked="138****5678", contact_token="t"))[
            0
        ]
        == "sms"
    )
    channel, _, reason = petitioner_channel(PetitionerContact(anonymous=True))
    assert (channel, reason) == ("inbox", "anonymous petitioner")
    text = Templates(DATA_DIR / "notify" / "templates.json").render(
        "acceptance", "inbox", case_no="N-1", county_name="X"
    )
    assert "N-1" in text
