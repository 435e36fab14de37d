"""Who hears of what, and on which channels: the recipients file (`data/notify/recipients.json`).

The file is county data, reloaded when it changes. It says, per kind of notice, which audiences
are told (`to`, and `by_level` for an escalation letter's rung or a referral's track) and whether it
is urgent; per unit (by code)
its channels and addresses, and those of its leader; the groups (supervisors, county leaders, the
joint conference); and the external systems that take notices by webhook. Addresses are read when a
message is sent, never copied into the message, and shown masked everywhere else.
"""

import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dispatch_common.crypto import mask_email
from services.notify.domain.delivery import mask_url

Channel = Literal["sms", "email", "webhook", "inbox", "post"]
RELOAD_CHECK_SECONDS = 1.0
# Audiences named by the event itself; any other name in `to` is a group of the file.
EVENT_AUDIENCES = frozenset(
    {
        "petitioner",
        "lead_unit",
        "lead_unit_leader",
        "assisting_units",
        "named_units",
        "previous_lead_unit",
        "organization",
        "previous_organization",
        "police_station",
        "receiving_unit",
        "agents",  # the proxy agents of the case the event names (docs/agents.md)
    }
)


@dataclass(frozen=True)
class Recipient:
    """Someone a notice goes to: a stable key, the template audience, and a label safe to show."""

    key: str  # petitioner | unit:<code> | unit_leader:<code> | role:<role> | webhook:<name> | agent:<id>
    audience: str  # the template audience: petitioner, unit, leader, system
    label: str


@dataclass(frozen=True)
class Target:
    """One channel of one recipient, with why the channel was chosen when that needs saying."""

    recipient: Recipient
    channel: Channel
    reason: str | None = None


@dataclass(frozen=True)
class KindRule:
    """Who hears of a kind of notice, and whether it may wake people at night."""

    to: tuple[str, ...]
    urgent: bool = False
    by_level: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def audiences(self, level: str | None = None) -> tuple[str, ...]:
        """The audiences for this kind (an escalation's rung or a referral's track may name its own)."""
        return self.by_level.get(level or "", self.to)


FEED_ID = re.compile(r"^(open311\.)?[a-z0-9]+(-[a-z0-9]+)*$")


class DirectoryProblem(ValueError):
    """A recipients file that cannot be put in force."""


@dataclass
class _Data:
    version: str
    kinds: dict[str, KindRule]
    groups: dict[str, list[dict[str, Any]]]
    units: dict[str, dict[str, Any]]
    unit_defaults: dict[str, Any]
    webhooks: list[dict[str, Any]]
    feed_webhooks: dict[str, dict[str, str]]  # by feed: {url, secret}, where a system hears its outcomes
    mtime: float


def _load(path: Path) -> _Data:
    raw = json.loads(path.read_text(encoding="utf-8"))
    problems: list[str] = []
    kinds: dict[str, KindRule] = {}
    groups = {name: list(members) for name, members in (raw.get("groups") or {}).items()}
    for name, spec in (raw.get("kinds") or {}).items():
        rule = KindRule(
            to=tuple(spec.get("to") or ()),
            urgent=bool(spec.get("urgent", False)),
            by_level={lvl: tuple(aud) for lvl, aud in (spec.get("by_level") or {}).items()},
        )
        for audience in {*rule.to, *(a for auds in rule.by_level.values() for a in auds)}:
            if audience not in EVENT_AUDIENCES and audience not in groups:
                problems.append(f"kind {name}: audience {audience!r} is no event audience and no group")
        kinds[name] = rule
    for name, members in groups.items():
        for member in members:
            if not str(member.get("key", "")).startswith(("role:", "unit:", "unit_leader:")):
                problems.append(f"group {name}: member key must start with role:, unit: or unit_leader:")
    for hook in raw.get("webhooks") or []:
        if not {"name", "url", "secret", "kinds"} <= hook.keys():
            problems.append(f"webhook {hook.get('name')!r}: needs name, url, secret and kinds")
    feeds: dict[str, dict[str, str]] = {}
    for hook in raw.get("feed_webhooks") or []:
        if not {"feed", "url", "secret"} <= hook.keys() or not FEED_ID.match(str(hook["feed"])):
            problems.append(
                f"feed webhook {hook.get('feed')!r}: needs a feed (system, open311.<client>), url, secret"
            )
        elif hook["feed"] in feeds:
            problems.append(f"feed webhook {hook['feed']!r}: given twice")
        else:
            feeds[hook["feed"]] = {"url": str(hook["url"]), "secret": str(hook["secret"])}
    if problems:
        raise DirectoryProblem("; ".join(problems))
    return _Data(
        version=str(raw.get("version", "0")),
        kinds=kinds,
        groups=groups,
        units=dict(raw.get("units") or {}),
        unit_defaults=dict(raw.get("unit_defaults") or {"channels": ["inbox"]}),
        webhooks=list(raw.get("webhooks") or []),
        feed_webhooks=feeds,
        mtime=path.stat().st_mtime,
    )


class Directory:
    """The recipients file in force; a changed file is loaded at the next look, no restart needed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data = _load(path)
        self._checked_at = time.monotonic()
        self._lock = threading.Lock()

    @property
    def data(self) -> _Data:
        now = time.monotonic()
        if now - self._checked_at >= RELOAD_CHECK_SECONDS:
            self._checked_at = now
            try:
                if self.path.stat().st_mtime != self._data.mtime:
                    self.reload()
            except (OSError, ValueError):
                self._data.mtime = _mtime(self.path)  # keep the one in force; try again on the next change
        return self._data

    @property
    def version(self) -> str:
        """The file's version."""
        return self.data.version

    def reload(self) -> str:
        """Load the file again; its version, or DirectoryProblem / ValueError (the old one stays)."""
        with self._lock:
            self._data = _load(self.path)
            return self._data.version

    def rule(self, kind: str) -> KindRule | None:
        """Who hears of a kind, or None when the file names nobody for it."""
        return self.data.kinds.get(kind)

    def group(self, name: str) -> list[Recipient]:
        """The members of a group."""
        return [_member(m) for m in self.data.groups.get(name, [])]

    def unit(self, code: str, name: str | None = None) -> Recipient:
        """A unit as a recipient."""
        return Recipient(key=f"unit:{code}", audience="unit", label=f"{name or code} ({code})")

    def unit_leader(self, code: str, name: str | None = None) -> Recipient:
        """A unit's leader as a recipient."""
        return Recipient(key=f"unit_leader:{code}", audience="leader", label=f"{name or code} 负责人")

    def targets(self, recipient: Recipient, kind: str) -> list[Target]:
        """The channels a unit, leader or group member is told on: the inbox always, then its choices."""
        entry = self._entry(recipient.key)
        wanted = (entry.get("by_kind") or {}).get(kind) or entry.get("channels") or ["inbox"]
        out = [Target(recipient, "inbox")]
        for channel in wanted:
            if channel == "inbox" or channel not in ("sms", "email", "webhook"):
                continue
            if self._address(entry, channel):
                out.append(Target(recipient, channel))
        return out

    def webhook_targets(self, kind: str) -> list[Target]:
        """The external systems subscribed to a kind, each as a webhook target."""
        hooks = [h for h in self.data.webhooks if kind in h["kinds"] or "*" in h["kinds"]]
        return [
            Target(Recipient(f"webhook:{h['name']}", "system", f"webhook {h['name']}"), "webhook")
            for h in hooks
        ]

    def feed_webhook(self, feed: str) -> dict[str, str] | None:
        """Where a feed's outcomes are posted ({url, secret name}), read at send time; None if nowhere."""
        return self.data.feed_webhooks.get(feed)

    def address(self, key: str, channel: str) -> dict[str, Any] | None:
        """Where to send a recipient's message on a channel, read at send time; None if it has none."""
        if key.startswith("webhook:"):
            name = key.split(":", 1)[1]
            hook = next((h for h in self.data.webhooks if h["name"] == name), None)
            return {"url": hook["url"], "secret": hook["secret"]} if hook and channel == "webhook" else None
        return self._address(self._entry(key), channel)

    def masked(self, key: str, channel: str) -> str | None:
        """A recipient's address on a channel, masked for logs and answers."""
        address = self.address(key, channel)
        if not address:
            return None
        if channel == "email":
            return mask_email(address["email"])
        if channel == "webhook":
            return mask_url(address["url"])
        if channel == "sms":
            phone = address["phone"]
            return phone[:3] + "****" + phone[-4:] if len(phone) > 7 else "****"
        return None

    def _entry(self, key: str) -> dict[str, Any]:
        kind, _, ident = key.partition(":")
        data = self.data
        if kind == "unit":
            return data.units.get(ident) or data.unit_defaults
        if kind == "unit_leader":
            return (data.units.get(ident) or {}).get("leader") or {}
        for members in data.groups.values():
            for member in members:
                if member.get("key") == key:
                    return member
        return {}

    @staticmethod
    def _address(entry: dict[str, Any], channel: str) -> dict[str, Any] | None:
        if channel == "email" and entry.get("email"):
            return {"email": entry["email"]}
        if channel == "sms" and entry.get("phone"):
            return {"phone": entry["phone"]}
        if channel == "webhook" and isinstance(entry.get("webhook"), dict) and entry["webhook"].get("url"):
            return {"url": entry["webhook"]["url"], "secret": entry["webhook"].get("secret", "")}
        return None


def _member(member: dict[str, Any]) -> Recipient:
    key = str(member["key"])
    audience = "unit" if key.startswith("unit:") else "leader"
    return Recipient(key=key, audience=audience, label=str(member.get("name") or key))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -1.0
