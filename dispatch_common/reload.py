"""A reload asked of one replica reaches every replica of the service, and says which applied what.

The replica that takes `POST /v1/admin/.../reload` reloads first (a bad file is refused there, and
nothing is told to the others); then it asks every other replica on `control.<service>.reload` (core
NATS) and gathers their answers on its own inbox for `RELOAD_WAIT_SECONDS`. Each replica answers with
its name and what its reload gave (versions, or the problems that kept the old data in force). A
replica that is down misses the request and reads the data at its next start anyway.
"""

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.msg import Msg

from dispatch_common import metrics, nats_connect, subjects
from dispatch_common.bus import Bus

log = logging.getLogger("dispatch.reload")

RELOAD_WAIT_SECONDS = 2.0
Apply = Callable[[], Awaitable[dict[str, Any]]]


class Reloads:
    """A service's reload, applied here and told to every other replica."""

    def __init__(self, bus: Bus, *, replica: str, apply: Apply, wait: float = RELOAD_WAIT_SECONDS) -> None:
        self.bus, self.replica, self.apply, self.wait = bus, replica, apply, wait
        self.subject = subjects.reload_subject(bus.service)
        bus.on_control(self.subject, self._on_request)

    async def _applied(self) -> dict[str, Any]:
        """This replica's reload, as an answer: what it applied, or why it kept what it had."""
        try:
            result = {"replica": self.replica, "applied": True, **await self.apply()}
        except Exception as exc:
            problems = getattr(exc, "problems", None) or [f"{type(exc).__name__}: {exc}"]
            result = {"replica": self.replica, "applied": False, "problems": [str(p) for p in problems]}
        metrics.RELOADS.labels(self.bus.service, "applied" if result["applied"] else "refused").inc()
        log.info("reloaded" if result["applied"] else "reload refused", extra={"reload": result})
        return result

    async def _on_request(self, msg: Msg) -> None:
        request = json.loads(msg.data or b"{}")
        if request.get("from") == self.replica:
            return  # the asking replica reloaded before it asked
        answer = await self._applied()
        if msg.reply:
            await self.bus.broker.connection.publish(msg.reply, json.dumps(answer, default=str).encode())

    async def everywhere(self, here: dict[str, Any], *, requested_by: str) -> list[dict[str, Any]]:
        """Tell every other replica to reload (this one did: `here`); every replica's answer."""
        answers = [here]
        if not self.bus.connected:
            log.warning("NATS is away: the reload reached this replica only")
            return answers
        nc = self.bus.broker.connection
        inbox = f"{nats_connect.service_inbox(self.bus.settings)}.reload.{uuid.uuid4().hex}"
        replies: asyncio.Queue[Msg] = asyncio.Queue()
        sub = await nc.subscribe(inbox, cb=replies.put)
        try:
            body = {"from": self.replica, "requested_by": requested_by}
            await nc.publish(self.subject, json.dumps(body).encode(), reply=inbox)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.wait
            while (left := deadline - loop.time()) > 0:
                try:
                    msg = await asyncio.wait_for(replies.get(), timeout=left)
                except TimeoutError:
                    break
                answers.append(json.loads(msg.data))
        finally:
            await sub.unsubscribe()
        return answers
