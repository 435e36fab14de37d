"""A letter to the petitioner as it is printed: the name and postal address intake sealed for notify,
opened for the one PDF a clerk prints (domain/addressee.py), each opening audited in `clear_prints`
(who, which case, through what, which fields, when). Views, JSON and the archive keep the masked name."""

import functools
from pathlib import Path
from typing import Any

from dispatch_common.auth import Principal
from dispatch_common.crypto import PiiKeys, load_pii_keys
from services.notify.container import Notify
from services.notify.domain import addressee
from services.notify.domain.languages import petitioner_preferences

CLEAR_PRINTS = "clear_prints"


def print_keys(notify: Notify) -> PiiKeys:
    """The PII keys a print opens tokens with (the name, the address, the lookup code): read once per
    process, at the first print, not at every one."""
    return _keys(notify.settings.environment, notify.settings.keys_dir)


@functools.cache
def _keys(environment: str, keys_dir: Path) -> PiiKeys:
    return load_pii_keys(environment=environment, keys_dir=keys_dir)


def _tokens_held(petitioner: dict[str, Any]) -> bool:
    return bool(petitioner.get("name_token") or petitioner.get("address_token"))


async def addressed(notify: Notify, user: Principal, html: str, *, case_id: str | None, what: str) -> str:
    """The letter with the petitioner named in full and the address block, when notify holds their
    tokens; else with a note that says what it could not name. A confidential report's letter and an
    anonymous petitioner's are printed as they are (intake sends notify nothing of them)."""
    case = await notify.messages.case(case_id) if case_id else {}
    if not case_id or case.get("confidential"):
        return html
    petitioner = petitioner_preferences(case)
    if petitioner.get("anonymous", True):
        return html
    if _tokens_held(petitioner):
        who = addressee.opened(print_keys(notify), petitioner, case_id)
    else:  # an event from before the tokens: the masked name, and the note
        who = addressee.Addressee(None, None, (), (addressee.NO_NAME, addressee.NO_ADDRESS))
    if who.opened and notify.clear_prints is not None:
        await notify.clear_prints.record(user, [case_id], f"{what}: {', '.join(who.opened)}")
    return addressee.printed(html, who, masked_name=petitioner.get("name_masked"))
