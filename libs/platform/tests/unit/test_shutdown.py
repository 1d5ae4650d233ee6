"""A service's shutdown is bounded even when a background task will not stop."""

import asyncio
import logging
import time

from studio_platform.service import _wait_for_background


def test_a_task_that_ignores_its_cancellation_is_named_and_left_behind(caplog):
    async def stubborn() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            pass  # swallowed, as inside a library's wait; it goes on for a while
        await asyncio.sleep(3)  # (asyncio.run cancels it again at the end)

    async def obliging() -> None:
        await asyncio.sleep(10)

    async def scenario() -> float:
        tasks = [asyncio.create_task(stubborn(), name="stubborn-loop"), asyncio.create_task(obliging(), name="fine")]
        await asyncio.sleep(0)
        for task in tasks:
            task.cancel()
        started = time.monotonic()
        await _wait_for_background(tasks, seconds=0.2)
        waited = time.monotonic() - started
        assert tasks[1].cancelled() and not tasks[0].done()
        return waited

    with caplog.at_level(logging.ERROR):
        waited = asyncio.run(scenario())
    assert waited < 1.0
    assert "stubborn-loop did not stop" in caplog.text and "stubborn" in caplog.text.split("shutdown:")[1]
