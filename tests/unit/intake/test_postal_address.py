"""A petitioner's name and postal address reach notify sealed for their case, for a letter by post:
intake stores the address encrypted and masked (never hashed: nobody searches by it), refuses a bad one
by its field, and the event carries only the masked values and the tokens."""

import pytest
from pydantic import ValidationError

from devtools.keys import ensure_dev_keys
from dispatch_common.crypto import UndecryptableError, address_aad, decrypt, load_pii_keys, name_aad
from services.intake.domain.models import SubmitCase
from services.intake.domain.protection import petitioner_view, protect_petitioner, reveal_petitioner

CASE = {"channel": "petition_letter", "text": "反映问题", "address": "解放路48号"}
PETITIONER = {"name": "欧阳明远", "postal_address": "幸福路１２号  3单元501室", "notify_channel": "post"}


def test_the_name_and_postal_address_are_sealed_for_notify_and_only_masked_values_are_shown(tmp_path):
    ensure_dev_keys(tmp_path)
    keys = load_pii_keys(environment="test", keys_dir=tmp_path)
    case = SubmitCase.model_validate(CASE | {"petitioner": PETITIONER})
    assert case.petitioner is not None and case.petitioner.postal_address == "幸福路12号 3单元501室"
    stored, view = protect_petitioner(keys, case.petitioner, case_id="c1", confidential=False)
    assert stored["address_masked"] == "幸福路12号***" and "address_hash" not in stored
    assert view.name_token == stored["name_enc"] and view.address_token == stored["address_enc"]
    assert decrypt(keys, view.name_token, aad=name_aad("c1")) == "欧阳明远"
    assert decrypt(keys, view.address_token, aad=address_aad("c1")) == "幸福路12号 3单元501室"
    dumped = view.model_dump_json()
    assert "欧阳明远" not in dumped and "501" not in dumped and view.name_masked == "欧***"
    with pytest.raises(UndecryptableError):  # bound to its case
        decrypt(keys, view.name_token, aad=name_aad("c2"))
    assert reveal_petitioner(keys, {"_id": "c1", "petitioner": stored})["postal_address"] == (
        "幸福路12号 3单元501室"
    )
    confidential = petitioner_view({"petitioner": stored, "confidential": True})
    assert confidential.name_masked is None  # a report's events are withheld whole (disclosure.py)


@pytest.mark.parametrize("value", ["路1号", "1234567", ""])
def test_a_postal_address_that_names_no_place_is_refused_by_its_field(value):
    with pytest.raises(ValidationError) as err:
        SubmitCase.model_validate(CASE | {"petitioner": {"name": "欧阳明远", "postal_address": value}})
    assert ("petitioner", "postal_address") in [tuple(e["loc"]) for e in err.value.errors()]


def test_an_anonymous_petitioner_gives_no_postal_address():
    with pytest.raises(ValidationError, match="anonymous"):
        anonymous = {"anonymous": True, "postal_address": "幸福路12号"}
        SubmitCase.model_validate(CASE | {"channel": "hotline_12345", "petitioner": anonymous})
