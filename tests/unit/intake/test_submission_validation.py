"""What intake accepts on each channel, and the reasons it gives when it refuses."""

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from dispatch_common.identity_keys import phone_key
from services.intake.domain.identity import id_number_problem, with_check_digit
from services.intake.domain.models import SubmitCase, normalize_text

VALID_ID = with_check_digit("11010519491231002")
NAMED = {"name": "李四", "phone": "13912345678"}


def errors_of(body: dict) -> dict[tuple, str]:
    with pytest.raises(ValidationError) as err:
        SubmitCase.model_validate(body)
    return {tuple(e["loc"]): e["msg"] for e in err.value.errors()}


def test_resident_id_numbers_are_checked_by_check_digit_and_birth_date():
    assert id_number_problem(VALID_ID) is None
    wrong_check = VALID_ID[:-1] + ("0" if VALID_ID[-1] != "0" else "1")
    assert "check digit" in id_number_problem(wrong_check)
    assert "birth date" in id_number_problem(with_check_digit("11010519491331002"))
    assert id_number_problem("1101051949123100") is not None


def test_each_channel_asks_for_its_own_fields_by_their_paths():
    assert (
        "police incident number"
        in errors_of({"channel": "police_110", "text": "邻居噪音"})[("police_incident_no",)]
    )
    assert "grid worker" in errors_of({"channel": "grid_report", "text": "路灯坏了"})[("grid_worker",)]
    assert "campaign" in errors_of({"channel": "proactive", "text": "排查发现"})[("campaign",)]
    letter = errors_of({"channel": "petition_letter", "text": "反映问题", "lon": 111.9})
    assert "named petitioner" in letter[("petitioner", "name")] and ("lat",) in letter
    visit = errors_of({"channel": "petition_visit", "text": "反映问题", "petitioner": NAMED})
    assert list(visit) == [("people_count",)]
    SubmitCase(channel="police_110", text="邻居噪音", police_incident_no="110-2026-0001")
    SubmitCase(channel="grid_report", text="路灯坏了", grid_worker={"id": "GW-17"})
    SubmitCase(channel="hotline_12345", text="路灯坏了")  # anonymous hotline calls are allowed


def test_a_collective_visit_names_one_to_five_representatives():
    base = {"channel": "petition_visit", "text": "征地补偿", "petitioner": NAMED, "people_count": 7}
    assert "representatives" in str(errors_of(base))
    reps = [{"name": f"代表{i}"} for i in range(6)]
    assert ("representatives",) in errors_of(base | {"representatives": reps})
    ok = SubmitCase.model_validate(base | {"representatives": reps[:5]})
    assert len(ok.representatives) == 5
    assert "or more people" in str(errors_of(base | {"people_count": 2, "representatives": reps[:1]}))


def test_field_level_reasons_name_the_path():
    errs = errors_of(
        {
            "channel": "hotline_12345",
            "text": "x",
            "lon": 181,
            "lat": 40,
            "petitioner": {"phone": "12", "id_number": "abc"},
        }
    )
    assert ("lon",) in errs
    assert ("petitioner", "phone") in errs and ("petitioner", "id_number") in errs


def test_database_operators_cannot_be_smuggled_in():
    errs = errors_of(
        {"channel": "hotline_12345", "text": "x", "external_ref": {"system": "a", "id": "1", "$where": "1"}}
    )
    assert "operators" in str(errs)
    assert errors_of({"channel": "hotline_12345", "text": {"$ne": None}})


def test_text_is_normalized_and_the_original_kept_by_the_caller():
    assert normalize_text("  ＡＢＣ１２３\u3000小区\t停水 ") == "ABC123 小区 停水"


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "channel",
                "text",
                "address",
                "lon",
                "lat",
                "people_count",
                "petitioner",
                "police_incident_no",
                "$set",
                "a.b",
            ]
        ),
        st.one_of(
            st.none(),
            st.integers(),
            st.floats(allow_nan=True),
            st.text(max_size=30),
            st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
        ),
    )
)
def test_validation_never_crashes_and_either_accepts_or_names_fields(body):
    try:
        SubmitCase.model_validate(body)
    except ValidationError as err:
        assert all(e["msg"] for e in err.errors())


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=string.digits, min_size=17, max_size=17))
def test_a_completed_id_number_is_valid_exactly_when_its_date_is_real(first17):
    problem = id_number_problem(with_check_digit(first17))
    assert problem is None or "birth date" in problem


def test_a_landline_is_the_same_petitioner_with_or_without_its_dash():
    assert phone_key("0471-1234567") == phone_key("04711234567") == "04711234567"
    assert phone_key("13812345678") == "13812345678"
