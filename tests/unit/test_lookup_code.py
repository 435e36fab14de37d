"""The lookup code (查询码): its alphabet, normalizing what people type, the verifier, and how intake
derives and seals it and notify fills it into the acceptance SMS."""

import base64
import hashlib
import re

from dispatch_common import lookup_code
from dispatch_common.crypto import PiiKeys, decrypt, load_pii_keys
from dispatch_common.lookup_code import (
    ALPHABET,
    grouped,
    lookup_aad,
    make_verifier,
    normalize,
    verifier_key,
    verify,
)
from services.intake.domain import lookup
from services.intake.domain.events import PetitionerView
from services.notify.domain.lookup import MARK_CODE, MARK_LINK, fill, template_values


def _keys(tmp_path) -> PiiKeys:
    return load_pii_keys(environment="test", keys_dir=tmp_path)


def test_the_alphabet_has_no_look_alikes_and_a_code_is_40_bits():
    assert len(ALPHABET) == 32 and not set("01OI") & set(ALPHABET)
    codes = {lookup_code.from_bytes(n.to_bytes(5, "big")) for n in (0, 1, 2**40 - 1, 123456789)}
    assert all(len(c) == 8 and set(c) <= set(ALPHABET) for c in codes) and len(codes) == 4


def test_what_people_type_is_normalized_and_impossible_codes_refused():
    assert normalize(" abcd-efgh ") == "ABCDEFGH"
    assert normalize("ABCD EFGH") == "ABCDEFGH"
    assert normalize("ABCD-EFG") is None  # too short
    assert normalize("ABCD-EFG0") is None  # 0 is not in the alphabet
    assert grouped("ABCDEFGH") == "ABCD-EFGH"


def test_a_verifier_accepts_its_code_only_under_its_key_and_a_missing_one_nothing(tmp_path):
    key = verifier_key(_keys(tmp_path))
    verifier = make_verifier("ABCDEFGH", key)
    assert re.fullmatch(r"hmac-sha256\$[\w-]{43}", verifier)
    assert "ABCDEFGH" not in verifier
    assert verify("abcd-efgh", verifier, key)
    assert not verify("ABCDEFGJ", verifier, key)
    assert not verify("nonsense", verifier, key)
    assert not verify("ABCDEFGH", verifier, b"another key" * 3)  # the table alone verifies nothing
    # an unknown case is checked against the decoy, and never opens, even with the decoy's own code
    assert not verify("22222222", None, key)


def test_a_verifier_of_the_first_scheme_still_verifies(tmp_path):
    key = verifier_key(_keys(tmp_path))
    salt = b"\x01" * 16
    digest = hashlib.scrypt(b"ABCDEFGH", salt=salt, n=2**11, r=8, p=1, dklen=32)
    b64 = lambda raw: base64.urlsafe_b64encode(raw).decode().rstrip("=")  # noqa: E731
    old = f"scrypt$2048$8$1${b64(salt)}${b64(digest)}"
    assert verify("ABCD-EFGH", old, key) and not verify("ABCD-EFGJ", old, key)


def test_intake_derives_a_new_code_per_version_and_seals_it_for_notify(tmp_path):
    keys = _keys(tmp_path)
    first, again, second = (lookup.derive(keys, "case-1", v) for v in (1, 1, 2))
    assert first == again and first != second and normalize(first) == first
    issued = lookup.issue(keys, "case-1", 2)
    key = verifier_key(keys)
    assert issued.code == second and verify(second, issued.verifier, key)
    assert not verify(first, issued.verifier, key)
    case = {"_id": "case-1", "lookup": lookup.stored(2)}
    view = lookup.with_token(keys, PetitionerView(anonymous=False), case)
    assert view.lookup_token and second not in view.lookup_token
    assert decrypt(keys, view.lookup_token, aad=lookup_aad("case-1")) == second
    revoked = {"_id": "case-1", "lookup": lookup.stored(3, revoked=True)}
    assert lookup.with_token(keys, PetitionerView(anonymous=False), revoked).lookup_token is None


def test_notify_renders_marks_and_fills_them_only_when_sending():
    assert template_values(None) == {"lookup_code": "", "progress_link": ""}
    marks = template_values("sealed")
    text = f"编号990102-2026-000123。查询码{marks['lookup_code']}，查询进度：{marks['progress_link']}"
    assert MARK_CODE in text and MARK_LINK in text
    sent = fill(text, code="ABCD-EFGH", case_no="990102-2026-000123", page_url="https://c.example/progress/")
    assert sent.endswith(
        "查询码ABCD-EFGH，查询进度：https://c.example/progress/#n=990102-2026-000123&c=ABCD-EFGH"
    )
