"""A petitioner chooses at intake how to be told (channel) and in which language; events carry both,
masked data unchanged; a bad choice is refused by field. An e-mail address is kept as the phone is."""

import pytest
from pydantic import ValidationError

from devtools.keys import ensure_dev_keys
from dispatch_common.crypto import UndecryptableError, decrypt, email_aad, keyed_hash, load_pii_keys
from services.intake.domain.identity import email_problem
from services.intake.domain.models import SubmitCase
from services.intake.domain.protection import protect_petitioner

CASE = {"channel": "petition_letter", "text": "反映问题", "address": "解放路48号"}


def test_the_chosen_channel_and_language_reach_the_event_beside_the_masked_contact(tmp_path):
    ensure_dev_keys(tmp_path)
    keys = load_pii_keys(environment="test", keys_dir=tmp_path)
    body = CASE | {
        "petitioner": {"name": "李四", "phone": "13912345678", "notify_channel": "post", "language": "ug"}
    }
    case = SubmitCase.model_validate(body)
    stored, view = protect_petitioner(keys, case.petitioner, case_id="c1", confidential=False)
    assert (stored["notify_channel"], stored["language"]) == ("post", "ug")
    assert (view.notify_channel, view.language, view.name_masked) == ("post", "ug", "李*")
    plain = SubmitCase.model_validate(CASE | {"petitioner": {"name": "李四"}})
    _, view = protect_petitioner(keys, plain.petitioner, case_id="c2", confidential=False)
    assert view.notify_channel is None and view.language is None


@pytest.mark.parametrize(
    ("field", "value"), [("notify_channel", "fax"), ("language", "Uyghur language"), ("language", "x")]
)
def test_a_channel_or_language_intake_does_not_know_is_refused_by_its_path(field, value):
    with pytest.raises(ValidationError) as err:
        SubmitCase.model_validate(CASE | {"petitioner": {"name": "李四", field: value}})
    assert ("petitioner", field) in [tuple(e["loc"]) for e in err.value.errors()]


def test_an_e_mail_address_is_sealed_for_its_case_hashed_and_masked_and_only_that_reaches_the_event(tmp_path):
    ensure_dev_keys(tmp_path)
    keys = load_pii_keys(environment="test", keys_dir=tmp_path)
    body = CASE | {
        "petitioner": {"name": "李四", "email": " Li.Si@Mail.County.Example ", "notify_channel": "email"}
    }
    case = SubmitCase.model_validate(body)
    stored, view = protect_petitioner(keys, case.petitioner, case_id="c1", confidential=False)
    assert decrypt(keys, stored["email_enc"], aad=email_aad("c1")) == "Li.Si@mail.county.example"
    assert stored["email_masked"] == view.email_masked == "L***@mail.county.example"
    assert stored["email_hash"] == keyed_hash(keys, "li.si@MAIL.county.example")  # case does not matter
    assert view.email_token == stored["email_enc"] and view.notify_channel == "email"
    assert "Li.Si" not in view.model_dump_json()
    with pytest.raises(UndecryptableError):  # bound to its case: copied into another, it does not open
        decrypt(keys, view.email_token, aad=email_aad("c2"))
    only_email = SubmitCase.model_validate(
        CASE | {"channel": "hotline_12345", "petitioner": {"email": "a@b.example"}}
    )
    assert (
        protect_petitioner(keys, only_email.petitioner, case_id="c3", confidential=False)[0]["anonymous"]
        is False
    )
    _, confidential = protect_petitioner(keys, case.petitioner, case_id="c4", confidential=True)
    assert confidential.email_masked is None


@pytest.mark.parametrize(
    "address",
    ["li.si", "@example.org", "li.si@", "li si@example.org", "li..si@example.org", "li@example", "li@-x.org"],
)
def test_an_address_mail_cannot_reach_is_refused_on_the_field(address):
    with pytest.raises(ValidationError) as err:
        SubmitCase.model_validate(CASE | {"petitioner": {"name": "李四", "email": address}})
    assert [tuple(e["loc"]) for e in err.value.errors()] == [("petitioner", "email")]
    assert email_problem(address) is not None


def test_e_mail_chosen_without_an_address_is_refused_on_the_address():
    with pytest.raises(ValidationError) as err:
        SubmitCase.model_validate(CASE | {"petitioner": {"name": "李四", "notify_channel": "email"}})
    assert [tuple(e["loc"]) for e in err.value.errors()] == [("petitioner", "email")]
    with pytest.raises(ValidationError):  # an anonymous petitioner gives none
        SubmitCase.model_validate(
            {
                "channel": "hotline_12345",
                "text": "x",
                "petitioner": {"anonymous": True, "email": "a@b.example"},
            }
        )
