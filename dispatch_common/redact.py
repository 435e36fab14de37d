"""Secrets stay out of traces and logs: scrubbed where they are recorded, not after.

`scrub` replaces in any text: the credentials of a URL (`mongodb://user:pw@host` ->
`mongodb://REDACTED@host`), the value of a secret-named query or form parameter or field
(`api_key=...`, `"password": "..."`, see SECRET_NAMES), a bearer or basic authorization, a JWT, and
every value registered as a secret (`register_secrets`; `register_settings` registers a service's
secret settings: SecretStr fields, keys, URL passwords). It is applied by the JSON log formatter
(dispatch_common/telemetry.py) to every log line, by the HTTP instrumentation's request hook to the
URL attributes of every server span (dispatch_common/http.py), and by `make run` to the URLs it prints.
"""

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.trace import Span
from pydantic import BaseModel, SecretStr

REDACTED = "REDACTED"
# Names whose values are secrets wherever they appear as a parameter or a field.
SECRET_NAMES = (
    "api_key",
    "apikey",
    "api-key",
    "access_token",
    "refresh_token",
    "id_token",
    "token",
    "client_secret",
    "secret",
    "password",
    "passwd",
    "pwd",
    "signature",
    "sig",
    "authorization",
    "credentials",
    "key",
)
# Header names the HTTP instrumentation must never record in clear (if header capture is turned on).
SENSITIVE_HEADERS = [".*authorization.*", ".*cookie.*", ".*token.*", ".*secret.*", ".*api[-_]?key.*"]
# Span attributes that carry a URL or its query (old and new HTTP semantic conventions).
URL_ATTRIBUTES = ("http.url", "url.full", "http.target", "url.query")
MIN_SECRET_LENGTH = 6  # shorter registered values would blank ordinary words

_NAMES = "|".join(re.escape(n) for n in sorted(SECRET_NAMES, key=len, reverse=True))
_PATTERNS = (
    # scheme://user:password@host, scheme://token@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#\"']+@"), rf"\1{REDACTED}@"),
    # Authorization: Bearer ..., "authorization": "Basic ..."
    (
        re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|basic|token)\s+)?[^\s\"',;]+"),
        rf"\1{REDACTED}",
    ),
    # api_key=..., ?token=..., "password": "...", secret: ...
    (
        re.compile(
            rf"(?i)(?<![A-Za-z0-9])((?:{_NAMES})[\"']?\s*(?:=|:)\s*[\"']?)(?!{REDACTED})[^\s&\"',;#}}]+"
        ),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"(?i)\b(bearer)\s+(?!REDACTED)[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {REDACTED}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),
)
# Field names (log extras, settings) whose values are secrets as a whole.
_SECRET_KEY = re.compile(r"(?i)password|passwd|secret|api[_-]?key|token|authorization|credential|signature")
_known: set[str] = set()
_known_pattern: re.Pattern[str] | None = None
_lock = threading.Lock()


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember values that must never appear in a trace or a log line (from now on, in this process)."""
    global _known_pattern
    fresh = {v for v in values if v and len(v) >= MIN_SECRET_LENGTH} - _known
    if not fresh:
        return
    with _lock:
        _known.update(fresh)
        ordered = sorted(_known, key=len, reverse=True)
        _known_pattern = re.compile("|".join(re.escape(v) for v in ordered))


def register_settings(settings: BaseModel) -> None:
    """Register a service's secret settings: SecretStr values (also inside lists and mappings), string
    values of fields named like a key, secret, password or token, and the passwords of URL settings."""
    found: list[str] = []
    for name, value in settings:
        found += _secret_values(name, value)
    register_secrets(found)


def _secret_values(name: str, value: Any) -> list[str]:
    if isinstance(value, SecretStr):
        return [value.get_secret_value()]
    if isinstance(value, Mapping):
        return [s for k, v in value.items() for s in _secret_values(f"{name}.{k}", v)]
    if isinstance(value, list | tuple | set | frozenset):
        return [s for v in value for s in _secret_values(name, v)]
    if isinstance(value, str):
        if name.endswith("_url"):
            if "://" not in value:
                return []
            parts = urlsplit(value)  # nats://<token>@host has its token where a user would be
            return [p for p in (parts.password or parts.username,) if p]
        if _SECRET_KEY.search(name.rsplit(".", 1)[-1]):
            return [value]
    return []


def scrub(text: str) -> str:
    """The text without the secrets it holds (see the module docstring)."""
    if not text:
        return text
    pattern = _known_pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    for regex, replacement in _PATTERNS:
        text = regex.sub(replacement, text)
    return text


def is_secret_name(name: str) -> bool:
    """Whether a field or parameter of this name holds a secret (its value is not shown at all)."""
    return bool(_SECRET_KEY.search(name))


def scrub_value(value: Any, name: str = "") -> Any:
    """A log record's value without secrets: strings scrubbed, secret-named fields redacted whole."""
    if name and is_secret_name(name) and value not in (None, "", [], {}):
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: scrub_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v) for v in value]
    return value


def server_request_hook(span: Span, scope: Mapping[str, Any]) -> None:
    """The HTTP instrumentation's hook: the URL and query attributes of a server span, scrubbed."""
    if not span.is_recording():
        return
    attributes = getattr(span, "attributes", None) or {}
    for name in URL_ATTRIBUTES:
        value = attributes.get(name)
        if isinstance(value, str):
            cleaned = scrub(value)
            if cleaned != value:
                span.set_attribute(name, cleaned)
