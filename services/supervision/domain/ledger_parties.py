"""The people a ledger entry involves, protected as petitioners are: never stored in clear.

Each party's name (and phone and ID number when given) is encrypted with the platform's personal-data
keys and bound to the entry and field (`ledger:<id>|parties.name`, dispatch_common/crypto.py), kept
masked for views, and recognised by keyed hashes inside supervision (they never leave it: the
petitioner profile joins entries by their linked cases, docs/decisions/0044). Views and events show
the masked forms only; events carry no party at all. Pure.
"""

from typing import Any

from dispatch_common.crypto import (
    PiiKeys,
    encrypt,
    keyed_hash,
    mask_id_number,
    mask_name,
    mask_phone,
    record_aad,
)
from dispatch_common.rekey import Resealing

PARTY_NAME = "parties.name"
PARTY_PHONE = "parties.phone"
PARTY_ID_NUMBER = "parties.id_number"
ITEMS = (("name", PARTY_NAME), ("phone", PARTY_PHONE), ("id_number", PARTY_ID_NUMBER))


def ledger_aad(entry_id: str, name: str) -> str:
    """The associated data of an entry's field: `ledger:<id>|<field>`."""
    return record_aad("ledger", entry_id, name)


def protected_party(keys: PiiKeys, entry_id: str, party: dict[str, Any]) -> dict[str, Any]:
    """A party as stored: role, and per item given its ciphertext, mask and keyed hash."""
    stored: dict[str, Any] = {"role": party.get("role") or "party"}
    for item, field, mask in (
        ("name", PARTY_NAME, mask_name),
        ("phone", PARTY_PHONE, mask_phone),
        ("id_number", PARTY_ID_NUMBER, mask_id_number),
    ):
        value = party.get(item)
        if not value:
            continue
        stored[f"{item}_enc"] = encrypt(keys, value, aad=ledger_aad(entry_id, field))
        stored[f"{item}_masked"] = mask(value)
        stored[f"{item}_hash"] = keyed_hash(keys, value)
    return stored


def party_shown(party: dict[str, Any]) -> dict[str, Any]:
    """A party as every view shows it: its role and masks."""
    return {
        "role": party["role"],
        "name_masked": party.get("name_masked"),
        "phone_masked": party.get("phone_masked"),
        "id_number_masked": party.get("id_number_masked"),
    }


def reseal_entry(sealing: Resealing, doc: dict[str, Any]) -> dict[str, Any]:
    """An entry's parties with every ciphertext sealed again under the active key (`make rekey`)."""
    if not doc.get("parties"):
        return {}

    def party(p: dict[str, Any]) -> dict[str, Any]:
        out = dict(p)
        for item, field in ITEMS:
            if p.get(f"{item}_enc"):
                out[f"{item}_enc"] = sealing.value(p[f"{item}_enc"], aad=ledger_aad(doc["_id"], field))
        return out

    return {"parties": [party(p) for p in doc["parties"]]}
