"""Helpers to drive a case through the running platform."""

import time
from typing import Any

from tests.e2e.conftest import Api

SETTLED = {"assigned", "manual_dispatch"}


def submission(sample: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The intake body for a labelled sample case."""
    body = {k: sample[k] for k in ("channel", "text", "address", "lon", "lat", "people_count") if k in sample}
    return body | extra


def wait_for(probe, *, timeout: float = 30.0, what: str) -> Any:
    """Poll until probe() returns something truthy (a bound on waiting, not a timing figure)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def settled_case_file(api: Api, case_id: str, *, timeout: float = 30.0) -> dict[str, Any]:
    """Wait until supervision has routed the case to a unit or to the manual queue."""

    def probe() -> dict[str, Any] | None:
        r = api.get("supervision", f"/v1/cases/{case_id}")
        return r.json() if r.status_code == 200 and r.json()["status"] in SETTLED else None

    return wait_for(probe, timeout=timeout, what=f"case {case_id} to settle")
