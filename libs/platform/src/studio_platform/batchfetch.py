"""The messages a pull consumer has waiting, fetched in one go.

Once a pull has brought a batch's first message, a consumer asks for the rest the server says are waiting
(`bus.Consumers._pull`). nats-py's `fetch` takes each of them with `next_msg`: a task, a timeout and two or three
turns of the event loop per message. In a busy service each turn waits behind the requests it is serving:
booking's batches of billing's answers (20 at a time at 400 bookings a second) took 20 ms to arrive when they had
all come in one read, and the saga waited on them. Here the request is nats-py's own (no wait, as many as are
waiting); the first message is awaited, and what came with it is taken from the subscription's queue at once.

It uses a pull subscription's private parts as nats-py 2.16 has them (`_sub`, `_nc`, `_nms`, `_deliver`) and keeps
the subscription's bookkeeping as `next_msg` does; test_batch_fetch.py runs it against a real server.
"""

from __future__ import annotations

import asyncio
import json

from nats.aio.msg import Msg
from nats.js import api
from nats.js.client import JetStreamContext
from nats.js.errors import APIError

# The statuses that end a pull: nothing (more) waiting, the pull expired, or the server gave it up (a conflict:
# the consumer changed, too many pulls waiting, ...).
_ENDS = frozenset({api.StatusCode.NO_MESSAGES, api.StatusCode.REQUEST_TIMEOUT, api.StatusCode.CONFLICT})


async def fetch_waiting(pulls: JetStreamContext.PullSubscription, count: int, timeout: float) -> list[Msg]:
    """Up to `count` of the consumer's messages, as many as the server has (it answers a no-wait pull at once);
    fewer if another replica took some first. At `timeout` (a connection lost meanwhile), what has come."""
    sub = pulls._sub
    queue: asyncio.Queue[Msg] = sub._pending_queue
    msgs: list[Msg] = []

    def settle(msg: Msg) -> bool:
        """Keep a message, or read a status; True when the status says the pull is over."""
        sub._pending_size -= len(msg.data)
        queue.task_done()
        status = JetStreamContext.is_status_msg(msg)
        if not status:
            msgs.append(msg)
            return False
        if status in _ENDS:
            return True
        if status == api.StatusCode.CONTROL_MESSAGE:  # a heartbeat, skipped as nats-py does
            return False
        raise APIError.from_msg(msg)

    def settle_queued() -> bool:
        over = False
        while not queue.empty():
            over = settle(queue.get_nowait()) or over
        return over

    settle_queued()  # left from an earlier pull: its messages are ours, the status of its end is not
    if len(msgs) >= count:
        return msgs
    request = json.dumps({"batch": count - len(msgs), "no_wait": True}).encode()
    await pulls._nc.publish(pulls._nms, request, pulls._deliver)
    try:
        async with asyncio.timeout(timeout):
            while len(msgs) < count:
                over = settle(await queue.get())
                if settle_queued() or over:  # what came in the same read, taken without waiting again
                    break
    except TimeoutError:
        pass
    return msgs
