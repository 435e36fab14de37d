"""A petitioner chooses at intake how to be told (channel) and in which language; events carry both,
masked data unchanged; a bad choice is refused by field."""

import pytest
from pydantic import ValidationError

from devtools.keys import ensure_dev_keys
from dispatch_common.crypto import load_pii_keys
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
