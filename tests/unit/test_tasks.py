"""Stopping background tasks for sure, even one that swallows its cancellation."""

import asyncio

from dispatch_common.tasks import cancel_and_wait


async def test_a_task_that_swallows_its_first_cancellation_is_cancelled_again_and_ends() -> None:
    swallowed = []

    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed:  # the second cancellation is taken
                    raise
                swallowed.append(True)  # as asyncio.wait_for on Python 3.11 sometimes does

    task = asyncio.ensure_future(stubborn())
    await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await cancel_and_wait([task], every=0.05)
    assert task.cancelled() and swallowed == [True]


async def test_tasks_already_ended_are_left_alone() -> None:
    done = asyncio.ensure_future(asyncio.sleep(0))
    await done
    await cancel_and_wait([done])
    assert done.done() and not done.cancelled()
