"""A reload asked of one replica reaches every replica of the service over NATS, as the service's own
NATS user with the generated permissions, and the answer says which replica applied what."""

import pytest

from dispatch_common.reload import Reloads
from dispatch_common.runtime import Runtime

pytestmark = pytest.mark.integration


class Data:
    """What one replica holds: a version that a reload moves on, or problems that keep it."""

    def __init__(self, name: str) -> None:
        self.name, self.version, self.broken = name, 1, False

    async def reload(self) -> dict[str, object]:
        if self.broken:
            raise ValueError("rules file: line 3 is no rule")
        self.version += 1
        return {"version": self.version}


async def _replica(make_settings, runtimes, name: str) -> tuple[Runtime, Data, Reloads]:  # type: ignore[no-untyped-def]
    rt = Runtime(make_settings(service_name="intake", replica_name=name))
    data = Data(name)
    reloads = Reloads(rt.bus, replica=name, apply=data.reload, wait=1.0)
    await rt.start()
    runtimes.append(rt)
    return rt, data, reloads


async def test_a_reload_asked_of_one_replica_reaches_the_others_and_says_who_applied_what(
    make_settings, runtimes
):
    _, first, asked = await _replica(make_settings, runtimes, "intake-a")
    _, second, _ = await _replica(make_settings, runtimes, "intake-b")
    _, third, _ = await _replica(make_settings, runtimes, "intake-c")
    third.broken = True

    here = await first.reload()
    answers = await asked.everywhere({"replica": "intake-a", "applied": True, **here}, requested_by="admin-1")

    by_replica = {a["replica"]: a for a in answers}
    assert set(by_replica) == {"intake-a", "intake-b", "intake-c"}
    assert by_replica["intake-a"]["version"] == first.version == 2
    assert by_replica["intake-b"] == {"replica": "intake-b", "applied": True, "version": 2}
    assert second.version == 2
    assert by_replica["intake-c"]["applied"] is False
    assert "line 3 is no rule" in by_replica["intake-c"]["problems"][0]
    assert third.version == 1  # a replica whose reload failed keeps what it had
