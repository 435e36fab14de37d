"""Outbound channels: the SMS gateway and webhooks over signed HTTP, e-mail over SMTP.

Every request carries the message id as its idempotency key (`Idempotency-Key` for HTTP, the
`Message-ID` of an e-mail), so a message sent again after a crash is recognised by a receiver that
keeps keys. HTTP bodies are signed with HMAC-SHA256 over `<timestamp>.<body>`. A petitioner's phone
number or e-mail address is decrypted here, at the moment of sending, and nowhere else: the contact
and e-mail tokens intake sealed are bound to their case (`crypto.contact_aad`, `crypto.email_aad`), so
they open only for the message's own case; what a failure records shows the address masked.
"""

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Protocol

import aiosmtplib
import httpx

from dispatch_common.crypto import PiiKeys, contact_aad, decrypt, email_aad, mask_email
from services.notify.domain import lookup
from services.notify.domain.delivery import Outcome, sms_segments

SIGNATURE_HEADER = "X-Dispatch-Signature"
TIMESTAMP_HEADER = "X-Dispatch-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Outgoing:
    """One message as a channel sends it."""

    id: str
    kind: str
    channel: str
    case_id: str | None
    case_no: str | None
    subject: str
    text: str
    html: str | None
    recipient_key: str
    address: dict[str, Any] = field(default_factory=dict)  # read from the recipients file at send time
    contact_token: str | None = None  # the petitioner's encrypted phone
    email_token: str | None = None  # the petitioner's encrypted e-mail address
    lookup_token: str | None = None  # the sealed lookup code the text's marks stand for (domain/lookup.py)


class ChannelAdapter(Protocol):
    """A way out of the platform."""

    channel: str
    # True when sending the same id again is recognised by the receiver (the idempotency key),
    # so a message interrupted mid-way may be sent again without being delivered twice.
    confirms: bool

    async def send(self, message: Outgoing) -> Outcome:
        """Try to deliver one message."""
        ...


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for a body: `sha256=<hex HMAC-SHA256 of '<timestamp>.<body>'>`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether a signature header matches the body (for receivers and tests)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


async def post_signed(
    client: httpx.AsyncClient,
    url: str,
    secret: str,
    payload: dict[str, Any],
    message_id: str,
    *,
    content_type: str = "application/json",
) -> Outcome:
    """POST a signed JSON body and read the answer as an outcome."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": content_type,
        IDEMPOTENCY_HEADER: message_id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        return Outcome("retry", "timed out")
    except httpx.HTTPError as exc:
        return Outcome("retry", f"{type(exc).__name__}: {exc}"[:300])
    code = response.status_code
    if 200 <= code < 300:
        ref = None
        try:
            answer = response.json()
            ref = str(answer.get("id")) if isinstance(answer, dict) and answer.get("id") else None
        except ValueError:
            pass
        return Outcome("delivered", f"HTTP {code}", provider_ref=ref)
    if code == 409:  # the receiver has this idempotency key: it took the message before
        return Outcome("delivered", "HTTP 409: already accepted under this key")
    reason = f"HTTP {code}: {response.text[:200]}"
    if code in RETRYABLE_STATUS:
        return Outcome("retry", reason, retry_after=_retry_after(response))
    return Outcome("permanent", reason)


def opened(keys: PiiKeys | None, token: str, aad: Any, case_id: str | None) -> str | None:
    """A petitioner's sealed address opened for its case (None: no keys or no case to open it for)."""
    if keys is None or case_id is None:
        return None
    return decrypt(keys, token, aad=aad(case_id))


def text_to_send(keys: PiiKeys | None, message: Outgoing, page_url: str | None) -> str:
    """The message's text with the lookup code's marks filled in (domain/lookup.py), if it has them."""
    if message.lookup_token is None or keys is None:
        return message.text
    return lookup.filled(
        keys,
        message.text,
        token=message.lookup_token,
        case_id=message.case_id,
        case_no=message.case_no,
        page_url=page_url,
    )


class SmsGateway:
    """SMS through an HTTP gateway: `{message_id, to, text, segments}`, signed."""

    channel = "sms"
    confirms = True

    def __init__(
        self,
        *,
        url: str,
        secret: str,
        keys: PiiKeys | None,
        client: httpx.AsyncClient,
        progress_page_url: str | None = None,
    ) -> None:
        self._url, self._secret, self._keys, self._client = url, secret, keys, client
        self._page = progress_page_url

    def _phone(self, message: Outgoing) -> str | None:
        if message.contact_token:
            return opened(self._keys, message.contact_token, contact_aad, message.case_id)
        return message.address.get("phone")

    async def send(self, message: Outgoing) -> Outcome:
        """Send one SMS; the number (and a lookup code) is decrypted for this request only."""
        try:
            phone = self._phone(message)
            text = text_to_send(self._keys, message, self._page)
        except Exception as exc:  # a token from other keys, or damaged: no retry will help
            return Outcome("permanent", f"the contact cannot be decrypted: {type(exc).__name__}")
        if not phone:
            return Outcome("permanent", "no phone number for this recipient")
        payload = {"message_id": message.id, "to": phone, "text": text, "segments": sms_segments(text)}
        return await post_signed(self._client, self._url, self._secret, payload, message.id)


class Webhooks:
    """Notices to external systems and units' own systems: a signed JSON POST per message."""

    channel = "webhook"
    confirms = True

    def __init__(self, *, secrets: dict[str, str], client: httpx.AsyncClient) -> None:
        self._secrets, self._client = secrets, client

    async def send(self, message: Outgoing) -> Outcome:
        """POST one notice to its receiver."""
        url = message.address.get("url")
        if not url:
            return Outcome("permanent", "the recipient has no webhook URL any more")
        secret = self._secrets.get(str(message.address.get("secret", "")))
        if not secret:
            name = message.address.get("secret")
            return Outcome("permanent", f"no secret named {name!r} in WEBHOOK_SECRETS")
        payload = {
            "id": message.id,
            "type": "dispatch.notification",
            "kind": message.kind,
            "case_id": message.case_id,
            "case_no": message.case_no,
            "subject": message.subject,
            "text": message.text,
        }
        return await post_signed(self._client, url, secret, payload, message.id)


class Mailer:
    """E-mail over SMTP; the Message-ID is the message id, so a repeat is recognisable. A petitioner's
    address (and a lookup code) is opened from its token for the one SMTP transaction that sends it."""

    channel = "email"
    confirms = False  # SMTP cannot tell whether an earlier, interrupted try got through

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        timeout: float,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        keys: PiiKeys | None = None,
        progress_page_url: str | None = None,
    ) -> None:
        self._host, self._port, self._sender, self._timeout = host, port, sender, timeout
        self._keys, self._page = keys, progress_page_url
        self._username, self._password, self._starttls = username, password, starttls
        self._domain = sender.rpartition("@")[2] or "localhost"

    async def send(self, message: Outgoing) -> Outcome:
        """Hand one e-mail to the SMTP server."""
        try:
            to = (
                opened(self._keys, message.email_token, email_aad, message.case_id)
                if message.email_token
                else message.address.get("email")
            )
            text = text_to_send(self._keys, message, self._page)
        except Exception as exc:  # a token from other keys, or damaged: no retry will help
            return Outcome("permanent", f"the address cannot be decrypted: {type(exc).__name__}")
        if not to:
            return Outcome("permanent", "the recipient has no e-mail address any more")
        outcome = await self._send(message, to, text)
        # the server's answer may quote the address: what is stored and reported shows it masked
        return replace(outcome, reason=outcome.reason.replace(to, mask_email(to)))

    async def _send(self, message: Outgoing, to: str, text: str) -> Outcome:
        mail = EmailMessage()
        mail["From"] = self._sender
        mail["To"] = to
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = f"<{message.id}@{self._domain}>"
        mail.set_content(text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        try:
            await aiosmtplib.send(
                mail,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                start_tls=self._starttls,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return Outcome("permanent", f"recipient refused: {exc}"[:300])
        except aiosmtplib.SMTPResponseException as exc:
            status = "permanent" if 500 <= exc.code < 600 else "retry"
            return Outcome(status, f"SMTP {exc.code}: {exc.message}"[:300])
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return Outcome("retry", f"{type(exc).__name__}: {exc}"[:300])
        return Outcome("delivered", "SMTP 250")
