"""The petitioner named in full on a printed letter, and the address block a clerk posts it by. Pure.

Intake seals the petitioner's name and postal address for notify (`name_token`, `address_token` of
dispatch.case.screened, bound to the case by `crypto.name_aad` and `crypto.address_aad`). Notify keeps
them sealed on its view of the case and opens them only when a letter to the petitioner is rendered for
print (the print queue's PDF, a document's PDF), as it opens the lookup code: the archived document, its
hash, the HTML and every JSON view keep the masked name (张*). The printed letter names the petitioner
in the addressee line (`p.to`) and carries an address block above the title (`p.envelope`) for a
window envelope. A case without a token (an event from before the tokens, or a petitioner who gave no
address) prints what notify holds and says so in the letter's note.
"""

import re
from dataclasses import dataclass
from html import escape

from dispatch_common.crypto import (
    ADDRESS_FIELD,
    NAME_FIELD,
    PiiKeys,
    UndecryptableError,
    address_aad,
    decrypt,
    name_aad,
)

NO_NAME = (
    "本函收件人姓名以脱敏形式打印：本系统未收到可供打印的完整姓名。邮寄前请在受理系统中核对姓名（查阅留痕）。"
)
NO_ADDRESS = "本系统未收到信访人的邮寄地址：邮寄前请在受理系统中查询地址（查阅留痕）。"
UNREADABLE = "收件人信息无法解密（密钥不在当前密钥环中）：本函以脱敏姓名打印，邮寄前请在受理系统中核对。"


@dataclass(frozen=True)
class Addressee:
    """Whom a printed letter names: the clear name and address when opened, the fields opened (for the
    audit), and the notes that say what the letter could not name."""

    name: str | None
    address: str | None
    opened: tuple[str, ...]
    notes: tuple[str, ...]


def opened(keys: PiiKeys, petitioner: dict[str, object], case_id: str) -> Addressee:
    """The name and postal address opened from the tokens notify holds of a case's petitioner."""
    name_token, address_token = petitioner.get("name_token"), petitioner.get("address_token")
    try:
        name = decrypt(keys, name_token, aad=name_aad(case_id)) if isinstance(name_token, str) else None
        address = (
            decrypt(keys, address_token, aad=address_aad(case_id)) if isinstance(address_token, str) else None
        )
    except UndecryptableError:
        return Addressee(None, None, (), (UNREADABLE,))
    fields = tuple(f for f, v in ((NAME_FIELD, name), (ADDRESS_FIELD, address)) if v)
    notes = tuple(n for n, missing in ((NO_NAME, name is None), (NO_ADDRESS, address is None)) if missing)
    return Addressee(name, address, fields, notes)


_TO = re.compile(r'<p class="to">(?P<who>[^<]*?)(?P<end>[：:]</p>)')


def printed(html: str, addressee: Addressee, *, masked_name: str | None) -> str:
    """A letter to the petitioner as it is printed: the addressee line with the clear name in place of
    the masked one, the address block above the title, and the notes before the end."""
    shown = addressee.name or masked_name or ""
    if addressee.name and masked_name:
        html = _TO.sub(
            lambda m: (
                f'<p class="to">{escape(addressee.name or "")}{m["end"]}'
                if m["who"] == escape(masked_name)
                else m[0]
            ),
            html,
            count=1,
        )
    if addressee.address:
        block = f'<p class="envelope">{escape(addressee.address)}<br>{escape(shown)} 收</p>'
        html = html.replace("<h1>", block + "<h1>", 1) if "<h1>" in html else block + html
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in addressee.notes)
    return html.replace("</body>", notes + "</body>", 1) if "</body>" in html else html + notes
