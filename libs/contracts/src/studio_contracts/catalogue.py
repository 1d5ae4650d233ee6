"""The event catalogue: an AsyncAPI 3.0 document and a Markdown list, generated from the contracts.

    python -m studio_contracts.catalogue docs/           # writes docs/events/asyncapi.json and catalogue.md
    python -m studio_contracts.catalogue docs/ --check   # exits 1 when the committed files are stale

Everything comes from `registry.EVENT_TYPES` and `base.STREAMS`: one channel per
NATS subject (the event type without its `.vN`), one message per event type with
its pydantic JSON Schema, and the CloudEvents binary-mode headers as one message
trait. The output is deterministic, so a test can compare it with the committed
files.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from studio_contracts.base import STREAMS, Event, stream_for_subject
from studio_contracts.registry import EVENT_TYPES

ASYNCAPI_VERSION = "3.0.0"
CATALOGUE_VERSION = "1.0.0"
HEADERS_TRAIT = "cloudEvents"
REGENERATE = "python -m studio_contracts.catalogue docs/"
NO_INBOX = ("Consumers do not deduplicate this type by ce-id: its handlers must be idempotent (a repeating "
            "schedule's messages share one ce-id; a snapshot is applied only when newer by its version).")

# The CloudEvents 1.0 binary-mode headers every event carries (see studio_platform.envelope).
HEADERS: dict[str, dict[str, Any]] = {
    "ce-specversion": {"type": "string", "const": "1.0", "description": "CloudEvents spec version."},
    "ce-id": {"type": "string", "format": "uuid",
              "description": "Id of this event; consumers drop an id they have handled before."},
    "ce-source": {"type": "string", "examples": ["/services/scheduling"],
                  "description": "The publishing service, as /services/<name>."},
    "ce-type": {"type": "string", "examples": ["scheduling.class.scheduled.v1"],
                "description": "The versioned event type: this message's name."},
    "ce-time": {"type": "string", "format": "date-time",
                "description": "When the event happened (UTC, RFC 3339, ending in Z)."},
    "ce-subject": {"type": "string",
                   "description": "Id of the thing the event is about (the class, studio, member...)."},
    "ce-organizationid": {"type": "string", "format": "uuid",
                          "description": "The tenant (CloudEvents extension attribute); equals "
                                         "organization_id in the data."},
    "content-type": {"type": "string", "const": "application/json", "description": "Media type of the data."},
    "traceparent": {"type": "string",
                    "description": "W3C trace context of the change that caused the event, when traced."},
    "Nats-Msg-Id": {"type": "string", "format": "uuid",
                    "description": "Equals ce-id on every event the outbox relay publishes, so JetStream drops "
                                   "a re-published duplicate within the stream's duplicate window."},
}
REQUIRED_HEADERS = ["ce-specversion", "ce-id", "ce-source", "ce-type", "ce-time", "ce-organizationid",
                    "content-type"]


# --- model -------------------------------------------------------------------------------------------

def subject_of(event_type: str) -> str:
    return event_type.rsplit(".", 1)[0]


def _doc(obj: Any) -> str | None:
    return inspect.cleandoc(obj.__doc__) if obj.__doc__ else None


def when_published(cls: type[Event]) -> str:
    """The class's own docstring, else the nearest contract ancestor's, else one made from the type."""
    for klass in cls.__mro__:
        if klass is Event or not (isinstance(klass, type) and issubclass(klass, Event)):
            break
        if doc := _doc(klass):
            return doc
    *thing, action = cls.type.rsplit(".", 1)[0].split(".")[1:]
    return f"{' '.join(thing).replace('_', ' ').capitalize()} {action.replace('_', ' ')}."


def _uses_inbox(cls: type[Event]) -> bool:
    return bool(getattr(cls, "inbox", True))


def _events_by_subject() -> dict[str, list[tuple[str, type[Event]]]]:
    by_subject: dict[str, list[tuple[str, type[Event]]]] = {}
    for event_type, cls in sorted(EVENT_TYPES.items()):
        if cls.subject() != subject_of(event_type):
            raise ValueError(f"{cls.__name__}.subject() disagrees with its type {event_type!r}")
        by_subject.setdefault(subject_of(event_type), []).append((event_type, cls))
    return by_subject


# --- AsyncAPI ----------------------------------------------------------------------------------------

def _schemas() -> dict[str, Any]:
    """One schema per event type (keyed by type), plus any nested models pydantic factors out."""
    schemas: dict[str, Any] = {}
    for event_type, cls in sorted(EVENT_TYPES.items()):
        schema = cls.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, nested in schema.pop("$defs", {}).items():
            if schemas.setdefault(name, nested) != nested:
                raise ValueError(f"two different nested schemas are both called {name!r}")
        schemas[event_type] = schema
    return schemas


def asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for subject, events in _events_by_subject().items():
        stream = stream_for_subject(subject)
        channels[subject] = {
            "address": subject,
            "title": subject,
            "description": f"Captured by the JetStream stream {stream} ({STREAMS[stream]}). Every version of "
                           "the event shares this subject; tell them apart by the ce-type header.",
            "messages": {t: {"$ref": f"#/components/messages/{t}"} for t, _ in events},
            "tags": [{"name": stream.lower()}],
            "x-jetstream-stream": stream,
        }
        operations[f"{subject}.publish"] = {
            "action": "send",
            "title": f"Publish {subject}",
            "summary": f"Messages on {subject} are published from a service's transactional outbox.",
            "channel": {"$ref": f"#/channels/{subject}"},
            "messages": [{"$ref": f"#/channels/{subject}/messages/{t}"} for t, _ in events],
            "tags": [{"name": stream.lower()}],
        }
        for event_type, cls in events:
            messages[event_type] = {
                "name": event_type,
                "title": cls.__name__,
                "summary": when_published(cls).split("\n\n")[0].replace("\n", " "),
                **({"description": NO_INBOX} if not _uses_inbox(cls) else {}),
                "contentType": "application/json",
                "payload": {"$ref": f"#/components/schemas/{event_type}"},
                "traits": [{"$ref": f"#/components/messageTraits/{HEADERS_TRAIT}"}],
                "examples": [{"name": "headers", "summary": "The headers that name this event.",
                              "headers": {"ce-specversion": "1.0", "ce-type": event_type,
                                          "content-type": "application/json"}}],
            }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Studio platform events",
            "version": CATALOGUE_VERSION,
            "description": (
                "Events the studio platform's services publish on NATS JetStream, generated from the "
                "studio_contracts package. Each event is a CloudEvents 1.0 message in binary mode: the "
                "attributes are NATS headers (see the cloudEvents message trait), the data is the JSON "
                "body. The NATS subject is the event type without its version suffix. Each service "
                "publishes to one stream (x-jetstream-streams). Contracts evolve by adding optional "
                "fields; a breaking change is a new version (.v2) on the same subject, and consumers "
                f"ignore types they do not know. Regenerate with `{REGENERATE}`."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "nats": {
                "host": "nats:4222",
                "protocol": "nats",
                "description": "Your deployment's NATS server with JetStream (NATS_URL; nats:4222 in "
                               "deploy/compose.yaml).",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": _schemas(),
            "messages": messages,
            "messageTraits": {
                HEADERS_TRAIT: {
                    "name": HEADERS_TRAIT,
                    "title": "CloudEvents 1.0, binary mode over NATS",
                    "headers": {
                        "type": "object",
                        "properties": HEADERS,
                        "required": REQUIRED_HEADERS,
                    },
                },
            },
        },
        "x-jetstream-streams": dict(STREAMS),
    }


def asyncapi_json() -> str:
    return json.dumps(asyncapi(), indent=2, ensure_ascii=False) + "\n"


# --- Markdown ----------------------------------------------------------------------------------------

def _type_name(schema: dict[str, Any], schemas: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        options = [_type_name(s, schemas) for s in schema["anyOf"]]
        return " or ".join(options)
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type_name(schema.get('items', {}), schemas)}"
    if kind == "string" and "format" in schema:
        return {"date-time": "datetime (RFC 3339)"}.get(schema["format"], schema["format"])
    return str(kind)


def _field_rows(event_type: str, schemas: dict[str, Any]) -> Iterable[str]:
    schema = schemas[event_type]
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        notes = []
        if name not in required:
            notes.append(f"optional, default `{json.dumps(prop.get('default'))}`")
        if prop.get("description"):
            notes.append(prop["description"])
        yield f"| `{name}` | {_type_name(prop, schemas)} | {'; '.join(notes)} |"


def _modules_doc(classes: Iterable[type[Event]]) -> list[str]:
    docs: list[str] = []
    for module in sorted({cls.__module__ for cls in classes}):
        doc = _doc(sys.modules[module])
        if doc and doc not in docs:
            docs.append(doc)
    return docs


def catalogue_markdown() -> str:
    schemas = _schemas()
    by_stream: dict[str, list[tuple[str, type[Event]]]] = {}
    for subject, events in _events_by_subject().items():
        by_stream.setdefault(stream_for_subject(subject), []).extend(events)

    lines = [
        "# Event catalogue",
        "",
        f"<!-- Generated from libs/contracts by `{REGENERATE}`; do not edit by hand. -->",
        "",
        "Every event the platform publishes on NATS JetStream, by the stream (and so the service) that",
        "publishes it. The machine-readable version is [asyncapi.json](asyncapi.json) (AsyncAPI "
        f"{ASYNCAPI_VERSION}).",
        "",
        "- **Subject**: the event type without its version (`scheduling.class.scheduled.v1` is published on",
        "  `scheduling.class.scheduled`). A new version of an event shares the subject; consumers tell",
        "  versions apart by the `ce-type` header and ignore types they do not know.",
        "- **Envelope**: CloudEvents 1.0 in binary mode. The attributes are NATS headers, the data is the",
        "  JSON body described under each event.",
        "- **Evolution**: fields are only ever added, as optional ones; a breaking change is a new version.",
        "- **Schedules**: subjects `<prefix>.schedules.*` hold JetStream message schedules (delayed or",
        "  repeating events); when due, a copy is stored on the event's own subject. Consume the event",
        "  subjects below, not the schedules.",
        "",
        "## Headers",
        "",
        "| header | required | meaning |",
        "|---|---|---|",
    ]
    for name, spec in HEADERS.items():
        lines.append(f"| `{name}` | {'yes' if name in REQUIRED_HEADERS else 'no'} | {spec['description']} |")
    lines += ["", "## Streams", "", "| stream | subjects | events |", "|---|---|---|"]
    for stream, pattern in STREAMS.items():
        count = len(by_stream.get(stream, []))
        lines.append(f"| `{stream}` | `{pattern}` | {count or 'none yet'} |")

    for stream in (s for s in STREAMS if s in by_stream):
        events = by_stream[stream]
        lines += ["", f"## {stream} (`{STREAMS[stream]}`)", ""]
        for doc in _modules_doc(cls for _, cls in events):
            lines += [doc, ""]
        lines += ["| event type | subject | published when |", "|---|---|---|"]
        for event_type, cls in events:
            summary = when_published(cls).split("\n\n")[0].replace("\n", " ")
            lines.append(f"| [`{event_type}`](#{_anchor(event_type)}) | `{cls.subject()}` | {summary} |")
        for event_type, cls in events:
            lines += [
                "",
                f"### {event_type}",
                "",
                f"`{cls.__name__}` on subject `{cls.subject()}`. {when_published(cls)}",
                *(["", NO_INBOX] if not _uses_inbox(cls) else []),
                "",
                "| field | type | notes |",
                "|---|---|---|",
                *_field_rows(event_type, schemas),
            ]
    return "\n".join(lines) + "\n"


def _anchor(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation other than - and _ dropped."""
    return "".join(c for c in heading.lower() if c.isalnum() or c in "-_ ").replace(" ", "-")


# --- files -------------------------------------------------------------------------------------------

def generated_files(docs_dir: Path) -> dict[Path, str]:
    events = docs_dir / "events"
    return {events / "asyncapi.json": asyncapi_json(), events / "catalogue.md": catalogue_markdown()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studio_contracts.catalogue", description=__doc__.split("\n")[0])
    parser.add_argument("docs_dir", type=Path, help="the repository's docs/ folder")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when a file is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, text in generated_files(args.docs_dir).items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if args.check and stale:
        print("stale: " + ", ".join(map(str, stale)) + f"; regenerate with `{REGENERATE}`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
