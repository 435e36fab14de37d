"""The lookup code (查询码) in the acceptance notice: rendered as marks, filled in at sending. Pure.

Intake seals the code for notify (`petitioner.lookup_token` of dispatch.case.screened). Notify never
stores it in clear: the template renders `lookup_code` and `progress_link` as marks, the message keeps
the sealed token, and the SMS channel opens it for the one request that sends the text, as it opens
the phone number. The link carries the case number and code in its fragment (`#n=...&c=...`), which a
browser never sends to a server.
"""

from html import escape

from dispatch_common.crypto import PiiKeys, decrypt
from dispatch_common.lookup_code import grouped, lookup_aad

MARK_CODE = "⟦查询码⟧"
MARK_LINK = "⟦查询链接⟧"
KINDS = frozenset({"acceptance"})
"""The notices that carry the code."""
CHANNELS = frozenset({"sms", "email", "post"})
"""Where the code is filled in: the SMS and the e-mail when they are sent, the letter by post when it
is printed."""


def template_values(token: str | None) -> dict[str, str]:
    """What the templates render for the code: marks when the case has a code, else nothing."""
    return (
        {"lookup_code": MARK_CODE, "progress_link": MARK_LINK}
        if token
        else {"lookup_code": "", "progress_link": ""}
    )


def fill(text: str, *, code: str, case_no: str | None, page_url: str | None) -> str:
    """A text with its marks replaced by the code and the link to the progress page."""
    link = f"{page_url}#n={case_no or ''}&c={code}" if page_url else ""
    return text.replace(MARK_CODE, code).replace(MARK_LINK, link)


def filled(
    keys: PiiKeys,
    text: str,
    *,
    token: str | None,
    case_id: str | None,
    case_no: str | None,
    page_url: str | None,
) -> str:
    """The text to send: the marks filled with the code opened from its token (none: left as it is)."""
    if not token or case_id is None or MARK_CODE not in text:
        return text
    code = grouped(decrypt(keys, token, aad=lookup_aad(case_id)))
    return fill(text, code=code, case_no=case_no, page_url=page_url)


def letter_block(code: str, *, case_no: str | None, page_url: str | None) -> str:
    """The paragraph a printed acceptance letter ends with: the case number, the code and the page."""
    where = f"，或访问 {escape(page_url)} 输入编号和查询码" if page_url else ""
    return (
        f'<p class="lookup">查询进度：案件编号 {escape(case_no or "")}，查询码 <b>{escape(code)}</b>'
        f"{where}。请妥善保管查询码，勿告知他人。</p>"
    )


def printed(
    keys: PiiKeys,
    html: str,
    *,
    token: str | None,
    case_id: str | None,
    case_no: str | None,
    page_url: str | None,
) -> str:
    """A letter's HTML as it is printed: its marks filled, and the code's paragraph added before the end
    (nothing when the notice carries no code)."""
    if not token or case_id is None:
        return html
    code = grouped(decrypt(keys, token, aad=lookup_aad(case_id)))
    html = fill(html, code=code, case_no=case_no, page_url=page_url)
    block = letter_block(code, case_no=case_no, page_url=page_url)
    return html.replace("</body>", block + "</body>") if "</body>" in html else html + block
