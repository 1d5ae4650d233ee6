"""The committed event catalogue (docs/events) is what the contracts generate today, and it is well formed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from studio_contracts import catalogue
from studio_contracts.base import STREAMS
from studio_contracts.registry import EVENT_TYPES

DOCS = Path(__file__).resolve().parents[3] / "docs"
ASYNCAPI = DOCS / "events" / "asyncapi.json"
MARKDOWN = DOCS / "events" / "catalogue.md"
COMPONENT_KEY = re.compile(r"^[\w.\-]+$")
CE_HEADERS = {"ce-specversion", "ce-id", "ce-source", "ce-type", "ce-time", "ce-subject", "ce-organizationid",
              "content-type", "traceparent", "Nats-Msg-Id"}


def committed(path: Path) -> str:
    if not path.exists():
        pytest.fail(f"{path} is missing; generate it with `{catalogue.REGENERATE}` from the repository root")
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return json.loads(committed(ASYNCAPI))


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"only local references are expected: {ref}"
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


@pytest.mark.parametrize("path", [ASYNCAPI, MARKDOWN], ids=lambda p: p.name)
def test_committed_catalogue_matches_the_contracts(path):
    generated = catalogue.generated_files(DOCS)[path]
    assert committed(path) == generated, (
        f"{path.relative_to(DOCS.parent)} is stale: the event contracts changed. "
        f"Regenerate it with `{catalogue.REGENERATE}` from the repository root and commit the result.")


def test_every_event_type_is_catalogued(document):
    markdown = committed(MARKDOWN)
    for event_type, cls in EVENT_TYPES.items():
        subject = event_type.rsplit(".", 1)[0]
        assert subject == cls.subject()
        assert event_type in document["components"]["messages"]
        assert event_type in document["components"]["schemas"]
        channel = document["channels"][subject]
        assert channel["address"] == subject
        assert event_type in channel["messages"]
        assert f"### {event_type}" in markdown
        for field in cls.model_fields:
            assert f"| `{field}` |" in markdown, f"{event_type}.{field} is missing from the Markdown catalogue"


def test_the_document_is_asyncapi_3(document):
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] and document["info"]["version"]
    assert document["channels"] and document["operations"]
    for section in ("schemas", "messages", "messageTraits"):
        assert all(COMPONENT_KEY.match(key) for key in document["components"][section]), section


def test_channels_are_subjects_captured_by_a_stream(document):
    patterns = set(STREAMS.values())
    for channel_id, channel in document["channels"].items():
        assert channel["address"] == channel_id
        assert f"{channel_id.split('.', 1)[0]}.>" in patterns
        assert channel["x-jetstream-stream"] in STREAMS
        assert channel["messages"], f"channel {channel_id} has no messages"


def test_operations_send_messages_of_their_channel(document):
    sent = set()
    for operation_id, operation in document["operations"].items():
        assert operation["action"] == "send", operation_id
        channel_ref = operation["channel"]["$ref"]
        resolve(document, channel_ref)
        assert operation["messages"], operation_id
        for message in operation["messages"]:
            # AsyncAPI 3: an operation's messages must be messages of its channel.
            assert message["$ref"].startswith(channel_ref + "/messages/"), (operation_id, message)
            resolve(document, message["$ref"])
            sent.add(message["$ref"].rsplit("/", 1)[1])
    assert sent == set(EVENT_TYPES)


def test_messages_reference_their_schema_and_the_cloudevents_headers(document):
    components = document["components"]
    for name, message in components["messages"].items():
        assert message["name"] == name
        assert message["contentType"] == "application/json"
        schema = resolve(document, message["payload"]["$ref"])
        assert schema["type"] == "object" and "organization_id" in schema["required"]
        assert schema == EVENT_TYPES[name].model_json_schema(ref_template="#/components/schemas/{model}")
        (trait_ref,) = (t["$ref"] for t in message["traits"])
        headers = resolve(document, trait_ref)["headers"]
        assert headers["type"] == "object"
        assert set(headers["properties"]) == CE_HEADERS
        assert set(headers["required"]) <= CE_HEADERS
        for example in message.get("examples", []):
            assert example["headers"]["ce-type"] == name


def test_every_reference_resolves(document):
    for ref in refs(document):
        resolve(document, ref)
