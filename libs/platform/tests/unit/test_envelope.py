"""Every contract's event read back from its CloudEvents message as it was sent; a message that breaks its
contract is undecodable, never half-read."""

from __future__ import annotations

import importlib
import pkgutil
import typing
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

import studio_contracts
from studio_contracts import Event, billing
from studio_platform.envelope import OutgoingEvent, UndecodableEvent, decode, encode_data

for _module in pkgutil.iter_modules(studio_contracts.__path__):
    importlib.import_module(f"studio_contracts.{_module.name}")


def _every_event_class(cls: type[Event] = Event) -> list[type[Event]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_every_event_class(sub)]
    return found


EVENT_CLASSES = [cls for cls in _every_event_class() if isinstance(getattr(cls, "type", None), str)]  # not bases


def _value(annotation: Any) -> Any:
    """A value of the field's type that is not its default."""
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)[-1]
    if typing.get_origin(annotation) is list:
        return [_value(typing.get_args(annotation)[0]) for _ in range(2)]
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if args:  # X | None
        return _value(args[0])
    return {bool: True, int: 7, str: "Zumba · été", uuid.UUID: uuid.uuid4(),
            datetime: datetime(2026, 11, 28, 9, 30, 15, 123456, tzinfo=UTC)}[annotation]


def _message(event: Event) -> tuple[dict[str, str], bytes]:
    out = OutgoingEvent(id=uuid.uuid4(), type=event.type, source="/services/tests", nats_subject=event.subject(),
                        subject=None, time=datetime.now(UTC), organization_id=event.organization_id,
                        data=encode_data(event))
    return out.headers(), out.data


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda c: c.__name__)
def test_every_event_reads_back_as_it_was_sent(cls: type[Event]) -> None:
    event = cls(**{name: _value(field.annotation) for name, field in cls.model_fields.items()})
    headers, body = _message(event)
    meta, read = decode(headers, body)
    assert read == event
    assert (meta.id, meta.type, meta.source) == (uuid.UUID(headers["ce-id"]), event.type, "/services/tests")


RESERVED = billing.CreditReserved(organization_id=uuid.uuid4(), booking_id=uuid.uuid4(), client_id=uuid.uuid4(),
                                  package_id=uuid.uuid4(), credits=1, package_name="Ten classes", remaining=9)


@pytest.mark.parametrize("body", [
    b'{"organization_id": "not a uuid"}',  # a field of the wrong type, the rest missing
    RESERVED.model_dump_json(exclude={"booking_id"}).encode(),  # a required field missing
    RESERVED.model_dump_json().encode().replace(b'"credits":1', b'"credits":"many"'),
    b'{"organization_id": ',  # not JSON
    b"[1, 2]",  # JSON, not an object
    b"\xff\xfe",  # not UTF-8
])
def test_a_body_that_breaks_its_contract_is_undecodable(body: bytes) -> None:
    headers, _ = _message(RESERVED)
    with pytest.raises(UndecodableEvent, match=RESERVED.type):
        decode(headers, body)


def test_an_event_of_a_type_nobody_knows_is_read_without_its_data() -> None:
    headers, body = _message(RESERVED)
    meta, event = decode({**headers, "ce-type": "billing.credit.invented.v9"}, body)
    assert (meta.type, event) == ("billing.credit.invented.v9", None)


def test_a_message_without_its_cloudevents_headers_is_undecodable() -> None:
    headers, body = _message(RESERVED)
    del headers["ce-source"]
    with pytest.raises(UndecodableEvent, match="CloudEvents headers"):
        decode(headers, body)
