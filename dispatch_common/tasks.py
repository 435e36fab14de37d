"""Stopping background tasks for sure.

On Python 3.11 a cancellation can be swallowed: `asyncio.wait_for` (used inside nats-py, aiosmtplib
and others) drops a `cancel()` that arrives as the awaited call completes (fixed in 3.12, CPython
gh-86296). A periodic loop that lost its cancellation goes on forever, and a shutdown that awaits it
waits for ever: the rare teardown hang of the notify and mediation tests. So tasks are cancelled
again until they end.
"""

import asyncio
from collections.abc import Iterable


async def cancel_and_wait(tasks: Iterable[asyncio.Task[object]], *, every: float = 0.2) -> None:
    """Cancel the tasks and wait until all have ended, cancelling again any that went on."""
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=every)
