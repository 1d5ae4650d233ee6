"""A batch published to JetStream with its acks awaited together: stored in order, or refused out loud."""

from __future__ import annotations

import uuid

import pytest
from nats.js.errors import APIError, BadRequestError, NoStreamResponseError

from studio_platform.batchpublish import BatchPublisher
from studio_platform.testing import stored


def _message(n: int, run: str, **headers: str) -> tuple[str, bytes, dict[str, str]]:
    return f"scheduling.test.{run}", str(n).encode(), {"Nats-Msg-Id": f"{run}-{n}", **headers}


async def test_batches_are_stored_in_order_once_each_and_return_when_all_are_acked(nc, jetstream) -> None:
    publisher = BatchPublisher(nc)
    run = uuid.uuid4().hex
    await publisher.publish([_message(n, run) for n in range(40)], timeout=5)
    await publisher.publish([_message(n, run) for n in range(40, 45)], timeout=5)  # the same subscription
    await publisher.publish([_message(n, run) for n in range(5)], timeout=5)  # again: dropped as duplicates
    await publisher.publish([], timeout=5)
    assert [msg.data for msg in await stored(jetstream, f"scheduling.test.{run}")] == [str(n).encode()
                                                                                       for n in range(45)]


async def test_a_refused_message_fails_its_batch_and_the_next_batch_goes_on(nc, jetstream) -> None:
    publisher = BatchPublisher(nc)
    run = uuid.uuid4().hex
    with pytest.raises(BadRequestError):  # JetStream's own refusal, as nats-py raises it
        await publisher.publish([_message(0, run), _message(1, run, **{"Nats-Expected-Stream": "ANOTHER"})],
                                timeout=5)
    await publisher.publish([_message(2, run)], timeout=5)
    assert [msg.data for msg in await stored(jetstream, f"scheduling.test.{run}")] == [b"0", b"2"]


async def test_a_subject_no_stream_holds_is_refused(nc) -> None:
    with pytest.raises(NoStreamResponseError):
        await BatchPublisher(nc).publish([("nostream.anything", b"x", {"Nats-Msg-Id": "1"})], timeout=5)


async def test_an_unreadable_ack_or_none_in_time_fails_the_batch(nc) -> None:
    # A subject someone answers, but not as JetStream: its answer is unreadable, then nobody answers at all.
    subject = f"echo.{uuid.uuid4().hex}"

    async def answer(msg) -> None:
        await msg.respond(b"not an ack")

    sub = await nc.subscribe(subject, cb=answer)
    publisher = BatchPublisher(nc)
    with pytest.raises(APIError, match="unreadable ack"):
        await publisher.publish([(subject, b"x", {})], timeout=5)
    await sub.unsubscribe()
    silent = await nc.subscribe(subject)  # a responder that never answers: no 503, no ack
    with pytest.raises(TimeoutError):
        await publisher.publish([(subject, b"x", {})], timeout=0.3)
    await silent.unsubscribe()
