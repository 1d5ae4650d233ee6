"""The client's header block, each way, is nats-py's own: the same bytes sent, the same dict read back."""

from __future__ import annotations

import random
from typing import Any

import pytest
from nats.aio import client as nats_client
from nats.errors import BadHeaderError

from studio_platform import natsclient

CLOUD_EVENT = {
    "ce-specversion": "1.0",
    "ce-id": "2b0d7f0a-4a7e-4f7e-9a55-1c8f0e6f2d11",
    "ce-source": "booking",
    "ce-type": "booking.booking.confirmed",
    "ce-time": "2026-11-28T12:00:00.123456Z",
    "ce-organizationid": "6b0d7f0a-4a7e-4f7e-9a55-1c8f0e6f2d11",
    "content-type": "application/json",
    "Nats-Msg-Id": "2b0d7f0a-4a7e-4f7e-9a55-1c8f0e6f2d11",
    "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
}
# Characters nats-py treats specially somewhere: line breaks, whitespace of every kind, ':' and non-ASCII.
TRICKY = "ab-Z9:. \t\r\n\x0b\x0c\x1c\x1f\x7fé€\u00a0\u2028"


def _random_text(rng: random.Random, most: int) -> str:
    return "".join(rng.choice(TRICKY) for _ in range(rng.randint(0, most)))


async def _sent(client: nats_client.Client, headers: dict[str, Any] | None) -> tuple[list[bytes], dict[str, int]]:
    sent: list[bytes] = []

    async def capture(cmd: bytes, priority: bool = False) -> None:
        sent.append(cmd)

    client._send_command = capture  # type: ignore[method-assign]
    await client._send_publish("booking.booking.confirmed", "_INBOX.x", b'{"a":1}', 7, headers)
    return sent, {k: client.stats[k] for k in ("out_msgs", "out_bytes")}


async def test_a_header_block_is_written_as_nats_py_writes_it() -> None:
    rng = random.Random(3)
    cases: list[dict[str, Any] | None] = [CLOUD_EVENT, {}, None, {" padded ": "  both sides  "},
                                          {"": "empty name skipped", "x": "line\r\nbreak\rand\nmore"}]
    cases += [{f"h{i}": _random_text(rng, 12) for i in range(rng.randint(1, 5))} for _ in range(300)]
    ours = natsclient.Client()
    for headers in cases:
        for _ in range(2):  # the second time, its names are known
            assert await _sent(ours, headers) == await _sent(nats_client.Client(), headers), headers
            ours.stats["out_msgs"] = ours.stats["out_bytes"] = 0


@pytest.mark.parametrize("name", ["bad name", "bad:name", "é", "new\nline"])
async def test_a_name_nats_py_refuses_is_refused_every_time(name: str) -> None:
    ours = natsclient.Client()
    for _ in range(2):
        with pytest.raises(BadHeaderError):
            await _sent(nats_client.Client(), {name: "v"})
        with pytest.raises(BadHeaderError):
            await _sent(ours, {"ce-id": "1", name: "v"})


def test_a_header_block_is_read_as_nats_py_reads_it() -> None:
    assert nats_client.parse_email is None, "nats-py reads headers with fast_mail_parser here, not the override"
    rng = random.Random(5)
    blocks = ["".join(f"{k}: {v}\r\n" for k, v in CLOUD_EVENT.items()) + "\r\n",
              "no colon\r\n: empty name\r\nspaced name: v\r\ntab\tname: v\r\nsep\x1c: v\r\nok:  v \t\r\n\r\n"]
    blocks += ["\r\n".join(f"{_random_text(rng, 6)}:{_random_text(rng, 10)}" for _ in range(rng.randint(1, 6)))
               for _ in range(500)]
    raws = [b.encode() for b in blocks] + [b"caf\xe9: v\r\nv: caf\xe9 \xff\r\n", b"\xff\xfe: x\r\n"]
    for raw in raws:
        assert natsclient.Client._parse_header_lines(raw) == nats_client.Client._parse_header_lines(raw), raw


async def test_a_message_with_headers_goes_out_as_hpub_with_its_block() -> None:
    sent, stats = await _sent(natsclient.Client(), {"ce-id": "1"})
    assert sent == [b"HPUB booking.booking.confirmed _INBOX.x 22 29\r\nNATS/1.0\r\nce-id: 1\r\n\r\n{\"a\":1}\r\n"]
    assert stats == {"out_msgs": 1, "out_bytes": 7}
