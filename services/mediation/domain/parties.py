"""The people of a mediation as stored: each name encrypted with the platform's personal-data key
(AES-GCM, as intake stores a petitioner's) and kept masked for events; a party is also recognised by
its keyed hash. A session's record (调解记录: summary and attendees) and the agreement's document,
which name people, are stored encrypted whole. Only the agreement and the API, for those who may see
the mediation, read them in clear. Pure.

What was recorded before names were encrypted (`name`, `record` in clear) is still read.
"""

import json
from datetime import datetime
from typing import Any

from dispatch_common.crypto import PiiKeys, decrypt, encrypt, keyed_hash, mask_name


def protected_person(keys: PiiKeys, role: str, name: str) -> dict[str, Any]:
    """A session's participant as stored: role, encrypted and masked name."""
    return {"role": role, "name_enc": encrypt(keys, name), "name_masked": mask_name(name)}


def protected_party(keys: PiiKeys, role: str, name: str) -> dict[str, Any]:
    """A new party's stored form, before any answer."""
    return protected_person(keys, role, name) | {
        "name_hash": keyed_hash(keys, name),
        "consent": None,
        "answered_at": None,
    }


def party_name(keys: PiiKeys, party: dict[str, Any]) -> str:
    """A stored party's or participant's name, in clear."""
    return decrypt(keys, party["name_enc"]) if party.get("name_enc") else party["name"]


def is_party(keys: PiiKeys, party: dict[str, Any], role: str, name: str) -> bool:
    """True when a stored party is this role and name."""
    if party["role"] != role:
        return False
    if party.get("name_hash"):
        return bool(party["name_hash"] == keyed_hash(keys, name))
    return bool(party.get("name") == name)


def sealed_record(keys: PiiKeys, record: dict[str, Any], at: datetime) -> dict[str, Any]:
    """A session's record as stored: summary and attendees encrypted together."""
    plain = {"summary": record["summary"], "attendees": list(record.get("attendees") or [])}
    return {"sealed": encrypt(keys, json.dumps(plain, ensure_ascii=False)), "recorded_at": at}


def opened_record(keys: PiiKeys, record: dict[str, Any] | None) -> dict[str, Any] | None:
    """A session's record in clear, for those who may see the mediation."""
    if not record:
        return None
    if "sealed" not in record:
        return record
    return json.loads(decrypt(keys, record["sealed"])) | {"recorded_at": record.get("recorded_at")}


def person_shown(keys: PiiKeys, person: dict[str, Any]) -> dict[str, Any]:
    """A participant as the API shows it to those who may see the mediation."""
    return {"role": person["role"], "name": party_name(keys, person)}


def party_shown(keys: PiiKeys, party: dict[str, Any]) -> dict[str, Any]:
    """A party as the API shows it to those who may see the mediation."""
    return {
        "role": party["role"],
        "name": party_name(keys, party),
        "consent": party.get("consent"),
        "answered_at": party.get("answered_at"),
    }
