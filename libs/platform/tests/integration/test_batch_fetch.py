"""A pull consumer's waiting messages fetched in one go: all of them, in order, once each, and never a wait for
more than the server has."""

from __future__ import annotations

import time
import uuid

import pytest
from nats.aio.msg import Msg
from nats.js import api
from nats.js.errors import APIError, ServiceUnavailableError

from studio_platform.batchfetch import fetch_waiting


@pytest.fixture
async def consumer(nc, jetstream):
    """A subject of its own in the SCHEDULING stream, a durable pull consumer of it, and a way to publish to it."""
    subject, durable = f"scheduling.fetch.{uuid.uuid4().hex}", f"fetch-{uuid.uuid4().hex[:12]}"
    await jetstream.add_consumer("SCHEDULING", api.ConsumerConfig(durable_name=durable, filter_subject=subject,
                                                                  ack_policy=api.AckPolicy.EXPLICIT))
    pulls = await jetstream.pull_subscribe_bind(durable, "SCHEDULING")

    async def publish(*payloads: bytes) -> None:
        for payload in payloads:
            await jetstream.publish(subject, payload)

    yield pulls, publish
    await pulls.unsubscribe()
    await jetstream.delete_consumer("SCHEDULING", durable)


def _numbers(msgs: list[Msg]) -> list[int]:
    return [int(m.data) for m in msgs]


async def test_what_is_waiting_comes_in_order_once_and_the_subscription_is_left_clean(consumer) -> None:
    pulls, publish = consumer
    await publish(*(str(n).encode() for n in range(25)))
    first = await pulls.fetch(batch=1, timeout=2)
    waiting = first[0].metadata.num_pending
    assert waiting == 24
    rest = await fetch_waiting(pulls, waiting, timeout=2)
    assert _numbers(first + rest) == list(range(25))
    assert pulls.pending_msgs == 0 and pulls.pending_bytes == 0
    for msg in first + rest:
        await msg.ack()
    started = time.monotonic()
    assert await fetch_waiting(pulls, 10, timeout=2) == []  # nothing waiting: answered at once, not at the timeout
    assert time.monotonic() - started < 1


async def test_fewer_than_asked_for_are_returned_at_once(consumer) -> None:
    pulls, publish = consumer
    await publish(b"1", b"2", b"3")
    started = time.monotonic()
    assert _numbers(await fetch_waiting(pulls, 10, timeout=2)) == [1, 2, 3]  # another replica took the rest, say
    assert time.monotonic() - started < 1


async def test_no_more_than_asked_for_and_the_rest_stay_for_the_next_pull(consumer) -> None:
    pulls, publish = consumer
    await publish(*(str(n).encode() for n in range(8)))
    assert _numbers(await fetch_waiting(pulls, 5, timeout=2)) == [0, 1, 2, 3, 4]
    assert _numbers(await fetch_waiting(pulls, 5, timeout=2)) == [5, 6, 7]


async def test_messages_left_from_an_earlier_pull_come_first_and_its_end_is_not_this_ones(consumer) -> None:
    pulls, publish = consumer
    await publish(b"1", b"2")
    # A pull answered after its caller stopped waiting (nats-py's fetch timing out, say): what the server had,
    # then the status that ends it.
    await pulls._nc.publish(pulls._nms, b'{"batch": 3, "no_wait": true}', pulls._deliver)
    for _ in range(50):
        if pulls.pending_msgs == 3:
            break
        await pulls._nc.flush()
    assert pulls.pending_msgs == 3
    await publish(b"3", b"4")
    assert _numbers(await fetch_waiting(pulls, 3, timeout=2)) == [1, 2, 3]
    assert _numbers(await fetch_waiting(pulls, 3, timeout=2)) == [4]


async def test_a_server_that_does_not_answer_leaves_what_came_at_the_timeout(consumer) -> None:
    pulls, publish = consumer
    await publish(b"1")
    pulls._nms = f"silent.{uuid.uuid4().hex}"  # the pull request is heard, never answered (a connection lost, say)
    silent = await pulls._nc.subscribe(pulls._nms)
    started = time.monotonic()
    assert await fetch_waiting(pulls, 3, timeout=0.3) == []
    assert 0.3 <= time.monotonic() - started < 1.5
    await silent.unsubscribe()
    pulls._nms = "nobody.listens"
    with pytest.raises(ServiceUnavailableError):  # no responders: an error, as nats-py's fetch raises it
        await fetch_waiting(pulls, 3, timeout=2)


async def test_an_error_status_is_raised_as_nats_py_raises_it(consumer) -> None:
    pulls, _ = consumer
    refusal = Msg(pulls._nc, subject=pulls._deliver, data=b"", headers={"Status": "400", "Description": "Bad Request"})
    pulls._sub._pending_queue.put_nowait(refusal)
    with pytest.raises(APIError) as raised:
        await fetch_waiting(pulls, 3, timeout=1)
    assert raised.value.code == 400
